package mixer

import (
	"os/exec"
	"path/filepath"
	"testing"

	"switchyard/mixer/bus"
)

// A stinger on air — its pictures blended, the cut under it, its sound
// mixed — allocates nothing per frame either: everything was decoded when
// it was taken.
func TestStingerTickAllocatesNothing(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	path := filepath.Join(t.TempDir(), "sting.mov")
	out, err := exec.Command("nice", "-n", "19", "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		"color=c=black:s=320x180:r=30:d=6,format=rgba,geq=r='0':g='255':b='0':a='if(lt(X,160),255,0)'",
		"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=6", "-c:v", "qtrle", "-pix_fmt", "argb",
		"-c:a", "pcm_s16le", "-shortest", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	cut := 1500 // inside the frames counted
	tickAllocs(t, Config{Stingers: func(string) (string, error) { return path, nil }},
		bus.Transition{Type: bus.TransStinger, Clip: "sting.mov", CutAtMS: &cut})
}
