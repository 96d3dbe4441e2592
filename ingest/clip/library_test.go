package clip

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUploadsLandWhole: an upload is written beside its place, probed and
// renamed in (internal/atomicfile): the clips folder is made 0750 and the
// clip is 0640, like the show's other files; a refused upload (not a
// clip, over the cap) leaves the clip of that name as it was and no
// temporary file. The folder was made 0755 and the rename not synced.
func TestUploadsLandWhole(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.mp4")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", src).CombinedOutput()
	require.NoError(t, err, string(out))
	clip, err := os.ReadFile(src)
	require.NoError(t, err)

	l := &Library{Dir: filepath.Join(t.TempDir(), "clips"), MaxBytes: int64(len(clip)) + 10}
	in, err := l.Put("a.mp4", bytes.NewReader(clip))
	require.NoError(t, err)
	require.Empty(t, in.Error)
	require.Equal(t, "h264", in.Video)
	di, err := os.Stat(l.Dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o750), di.Mode().Perm(), "the clips folder")
	fi, err := os.Stat(filepath.Join(l.Dir, "a.mp4"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "the clip")

	_, err = l.Put("a.mp4", strings.NewReader("not a clip"))
	require.Error(t, err)
	_, err = l.Put("a.mp4", bytes.NewReader(append(clip, make([]byte, 20)...)))
	require.ErrorIs(t, err, ErrTooLarge)
	b, err := os.ReadFile(filepath.Join(l.Dir, "a.mp4"))
	require.NoError(t, err)
	require.Equal(t, clip, b, "the refused uploads left the clip as it was")
	entries, err := os.ReadDir(l.Dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")
}
