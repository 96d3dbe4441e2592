package control

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestControlIsCgoFree: control, and its tests, link no cgo package outside
// the standard library (no FFmpeg through switchyard/media/av) and neither
// the mixer nor the generators: it drives them through the interfaces it
// declares (owners.go). `go list` names every package each depends on.
func TestControlIsCgoFree(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	for _, args := range [][]string{{"list", "-deps"}, {"list", "-deps", "-test"}} {
		out, err := exec.Command("go", append(args, "-f", "{{if not .Standard}}{{.ImportPath}}|{{len .CgoFiles}}{{end}}", "switchyard/control")...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		var pkgs int
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			path, cgo, ok := strings.Cut(line, "|")
			if !ok {
				continue
			}
			pkgs++
			require.Equal(t, "0", cgo, "go %s switchyard/control: %s has cgo files", strings.Join(args, " "), path)
			path, _, _ = strings.Cut(path, " ") // a test variant: "switchyard/control [switchyard/control.test]"
			require.NotContains(t, []string{"switchyard/mixer", "switchyard/ingest/gen", "switchyard/media/av", "switchyard/media/draw"}, path,
				"go %s switchyard/control", strings.Join(args, " "))
		}
		require.Greater(t, pkgs, 10, "go %s listed the dependencies", strings.Join(args, " "))
	}
}
