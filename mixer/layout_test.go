package mixer

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The mixer's parts that the API and the show file use are pure Go: specs
// validate and states print without FFmpeg, so whatever imports them (control,
// its tests) links no cgo. `go list` names every package each one depends on
// that has cgo files.
func TestPartsAreCgoFree(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	parts := []string{"switchyard/media/color", "switchyard/mixer/keyer", "switchyard/mixer/clock", "switchyard/mixer/audio", "switchyard/mixer/bus"}
	out, err := exec.Command("go", append([]string{"list", "-deps", "-f", "{{if .CgoFiles}}{{.ImportPath}}{{end}}"}, parts...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "cgo packages under %v", parts)
}
