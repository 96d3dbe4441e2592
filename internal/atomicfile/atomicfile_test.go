package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWrite: the file is replaced whole, private, its folder made; no
// temporary file stays; a write that cannot land leaves the old file.
func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	p := filepath.Join(dir, "show.json")
	require.NoError(t, Write(p, []byte("one")))
	require.NoError(t, Write(p, []byte("two")))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o750), di.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")

	// a folder where the file should be: the rename fails, nothing is left
	blocked := filepath.Join(dir, "blocked")
	require.NoError(t, os.MkdirAll(filepath.Join(blocked, "x"), 0o750))
	err = Write(blocked, []byte("three"))
	require.ErrorContains(t, err, "save "+blocked)
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "show.json and the folder, no temporary file")
}

// TestFile: the streaming form. What is written is readable at Name before
// Commit while path keeps its old content; Commit replaces it whole, private,
// with no temporary file left; Abort, or a Commit that cannot land, leaves
// the old file and no temporary one; Abort after Commit does nothing.
func TestFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "clips")
	p := filepath.Join(dir, "a.mp4")
	require.NoError(t, Write(p, []byte("old")))

	f, err := Create(p)
	require.NoError(t, err)
	require.Equal(t, ".mp4", filepath.Ext(f.Name()), "the temporary file has path's extension")
	for _, chunk := range []string{"n", "e", "w"} {
		_, err := f.Write([]byte(chunk))
		require.NoError(t, err)
	}
	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	require.Equal(t, "new", string(b), "readable before Commit")
	b, _ = os.ReadFile(p)
	require.Equal(t, "old", string(b), "path untouched before Commit")
	require.NoError(t, f.Commit())
	f.Abort()
	b, _ = os.ReadFile(p)
	require.Equal(t, "new", string(b))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	require.Error(t, f.Commit(), "once only")

	f, err = Create(p)
	require.NoError(t, err)
	_, err = f.Write([]byte("dropped"))
	require.NoError(t, err)
	f.Abort()
	b, _ = os.ReadFile(p)
	require.Equal(t, "new", string(b), "Abort leaves the old file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")

	blocked := filepath.Join(dir, "blocked.mp4")
	require.NoError(t, os.MkdirAll(filepath.Join(blocked, "x"), 0o750))
	f, err = Create(blocked)
	require.NoError(t, err)
	require.ErrorContains(t, f.Commit(), "save "+blocked)
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "a.mp4 and the folder, no temporary file")
}
