// Package atomicfile replaces files whole: show.json, session.json, edit
// lists, uploaded keyer images and clips.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data: temp file, fsync, rename, fsync dir. A
// crash leaves the old file or the new one, never half of one. The file is
// 0640 (the show's user and group read it; others not: keys, tokens of
// outputs), its folder made 0750 if missing.
func Write(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort() // after Commit: nothing
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// File is the streaming form of Write, for what is too large to hold in
// memory (an uploaded clip): a temporary file beside path that is written
// to, can be checked by its Name, and then either replaces path whole
// (Commit) or is removed (Abort). Its folder, file mode and durability are
// Write's.
type File struct {
	f    *os.File
	path string
	done bool
}

// Create makes the folder of path (0750) if missing and a private (0640)
// temporary file in it, hidden (its name begins with a dot) and with
// path's extension (tools that guess a format by it read it as path).
func Create(path string) (*File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*"+filepath.Ext(path))
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	if err := f.Chmod(0o640); err != nil { // the show's user and group read it; others not (keys, tokens of outputs)
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	return &File{f: f, path: path}, nil
}

// Write appends p to the temporary file.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	if err != nil {
		err = fmt.Errorf("save %s: %w", f.path, err)
	}
	return n, err
}

// Name is the temporary file's path: what was written can be read there
// (checked, probed) before Commit.
func (f *File) Name() string { return f.f.Name() }

// Commit syncs the temporary file, renames it over path and syncs the
// folder: a crash leaves the old file or the new one. On an error the
// temporary file is removed. Once only.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: Commit after Commit or Abort")
	}
	f.done = true
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.f.Name())
		return fmt.Errorf("save %s: %w", f.path, err)
	}
	if d, err := os.Open(filepath.Dir(f.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Abort closes and removes the temporary file, leaving path as it was. It
// does nothing after Commit, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}
