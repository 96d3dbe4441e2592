package clip

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResolveStaysInside: a clip resolves inside the clips folder or an
// allowed one; "..", a link that leads out and a name outside them are
// refused; a folder is a clip only for a stinger (a PNG sequence), and a
// folder linked from outside is refused like a file.
func TestResolveStaysInside(t *testing.T) {
	root := t.TempDir()
	clips, outside := filepath.Join(root, "clips"), filepath.Join(root, "outside")
	for _, d := range []string{clips, outside, filepath.Join(clips, "sting"), filepath.Join(outside, "seq")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(clips, "intro.mp4"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.mp4"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.mp4"), filepath.Join(clips, "link.mp4")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "seq"), filepath.Join(clips, "seqlink")))
	d := Dirs{Clips: clips}
	real := func(p string) string { r, err := filepath.EvalSymlinks(p); require.NoError(t, err); return r }

	got, err := d.Resolve("intro.mp4")
	require.NoError(t, err)
	require.Equal(t, real(filepath.Join(clips, "intro.mp4")), got)
	for name, want := range map[string]string{
		"../outside/secret.mp4":              "must stay inside the clips folder",
		"link.mp4":                           "leads out of",
		filepath.Join(outside, "secret.mp4"): "outside the clips folder",
		"sting":                              "not a regular file",
		"nope.mp4":                           "does not exist",
	} {
		_, err := d.Resolve(name)
		require.ErrorContains(t, err, want, name)
	}
	got, err = d.ResolveStinger("sting")
	require.NoError(t, err, "a stinger may be a folder of PNGs")
	require.Equal(t, real(filepath.Join(clips, "sting")), got)
	_, err = d.ResolveStinger("seqlink")
	require.ErrorContains(t, err, "leads out of", "a folder linked from outside")
	_, err = d.ResolveStinger("../outside/seq")
	require.ErrorContains(t, err, "must stay inside the clips folder")
}
