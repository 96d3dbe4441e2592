package assets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))))
	return b.Bytes()
}

// pngHeader is the start of a PNG that claims w×h pixels: enough for
// image.DecodeConfig, nothing to decode.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit grey
	chunk := append([]byte("IHDR"), ihdr...)
	out := append([]byte("\x89PNG\r\n\x1a\n"), binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))...)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

// TestNamesStayInside: only regular files inside the folder are read, and
// every refusal reads the same, whether or not something exists there.
func TestNamesStayInside(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "assets")
	d, err := Open(dir)
	require.NoError(t, err)
	defer d.Close()
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o750), st.Mode().Perm(), "created private to the show's user and group")

	logo := pngOf(t, 8, 4)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logo.png"), logo, 0o640))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lower"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lower", "bar.png"), logo, 0o640))
	require.NoError(t, os.WriteFile(filepath.Join(base, "secret.txt"), []byte("TOP-SECRET-CONTENT"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(dir, "out.png")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.ttf")))
	require.NoError(t, os.Symlink("logo.png", filepath.Join(dir, "alias.png")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe.ttf"), 0o640))

	for _, ok := range []string{"logo.png", "lower/bar.png", "./lower/../logo.png", "alias.png", filepath.Join(dir, "logo.png")} {
		b, err := d.ReadFile(ok, 1<<20)
		require.NoError(t, err, ok)
		require.Equal(t, logo, b, ok)
	}
	name, err := d.Name(filepath.Join(dir, "lower", "bar.png"))
	require.NoError(t, err)
	require.Equal(t, "lower/bar.png", name, "an absolute path inside is kept relative")

	for _, bad := range []string{"../secret.txt", filepath.Join(base, "secret.txt"), "/etc/passwd", "lower/../../secret.txt",
		"out.png", "zero.ttf", "pipe.ttf", "lower", ".", "", "nosuch.png", "/nonexistent/x.png", "a\x00b"} {
		done := make(chan error, 1)
		go func() {
			_, err := d.ReadFile(bad, 1<<20)
			done <- err
		}()
		select {
		case err := <-done:
			require.ErrorIs(t, err, ErrRefused, "%q", bad)
			var ae *Error
			require.ErrorAs(t, err, &ae)
			require.Equal(t, d.refuse(bad).Error(), err.Error(), "%q: the same words whatever is there", bad)
			for _, leak := range []string{"TOP-SECRET", "no such file", "permission", "symbolic", "fifo", "directory"} {
				require.NotContains(t, err.Error(), leak, "%q", bad)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q: reading hangs", bad)
		}
	}

	_, err = d.ReadFile("logo.png", 10)
	require.ErrorContains(t, err, "larger than")

	img, err := d.Image("logo.png")
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 8, 4), img.Bounds())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "huge.png"), pngHeader(5000, 5000), 0o640))
	_, err = d.Image("huge.png")
	require.ErrorContains(t, err, "5000x5000", "refused from its header, before decoding")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wide.png"), pngHeader(1<<31-1, 1<<31-1), 0o640))
	_, err = d.Image("wide.png")
	require.Error(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "text.png"), []byte("hello"), 0o640))
	_, err = d.Image("text.png")
	require.ErrorContains(t, err, "not a PNG or JPEG")

	var nilDir *Dir
	_, err = nilDir.ReadFile("logo.png", 10)
	require.True(t, errors.Is(err, ErrRefused))
}
