// Package assets opens the files a client may name — keyer images and fonts,
// gen://image stills — inside one folder (data_dir/assets or assets_dir), and
// nothing outside it.
//
// A name is relative to the folder, or an absolute path inside it. Whatever
// is refused — "..", an absolute path elsewhere, a symbolic link out of the
// folder, something that is not a regular file (a FIFO, a device), a name
// that does not exist — gets the same message, so a client cannot learn what
// exists outside the folder. Opening never blocks (O_NONBLOCK: a FIFO does
// not wait for a writer) and reads are capped in bytes; images are also
// capped in pixels, read from their header before anything is decoded.
package assets

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the decoders images are read with
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Limits on images.
const (
	MaxImageBytes  = 32 << 20
	MaxImagePixels = 4096 * 4096
)

// Dir is the assets folder.
type Dir struct {
	path string // as configured, for messages
	abs  string
	root *os.Root
}

// Open creates the folder if needed (0750) and opens it.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("assets folder: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("assets folder: %w", err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("assets folder: %w", err)
	}
	return &Dir{path: path, abs: abs, root: root}, nil
}

// Path returns the folder as configured.
func (d *Dir) Path() string { return d.path }

// Close releases the folder.
func (d *Dir) Close() error {
	if d == nil {
		return nil
	}
	return d.root.Close()
}

// Error is a name the folder does not serve.
type Error struct {
	Name string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// ErrRefused is what every refused name wraps (errors.Is).
var ErrRefused = errors.New("not a file in the assets folder")

func (e *Error) Unwrap() error { return ErrRefused }

func (d *Dir) refuse(name string) error {
	return &Error{Name: name, Msg: fmt.Sprintf("%q is not a file in the assets folder (%s): put the file there and give its name relative to it",
		name, d.path)}
}

// Name returns name as it is kept: cleaned and relative to the folder. It
// refuses names that leave the folder, without looking at the disk.
func (d *Dir) Name(name string) (string, error) {
	if d == nil {
		return "", &Error{Name: name, Msg: fmt.Sprintf("%q: there is no assets folder to read files from", name)}
	}
	if name == "" || strings.ContainsRune(name, 0) {
		return "", d.refuse(name)
	}
	rel := filepath.Clean(name)
	if filepath.IsAbs(rel) {
		r, err := filepath.Rel(d.abs, rel)
		if err != nil {
			return "", d.refuse(name)
		}
		rel = r
	}
	if rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", d.refuse(name)
	}
	return filepath.ToSlash(rel), nil
}

// ReadFile reads a regular file of at most max bytes from the folder.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	rel, err := d.Name(name)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK: opening a FIFO returns at once instead of waiting for a
	// writer (it is then refused as not a regular file); it changes
	// nothing for regular files. The root refuses symbolic links out.
	f, err := d.root.OpenFile(filepath.FromSlash(rel), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, d.refuse(name)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, d.refuse(name)
	}
	if st.Size() > max {
		return nil, &Error{Name: name, Msg: fmt.Sprintf("%q is larger than %d MiB", name, max>>20)}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &Error{Name: name, Msg: fmt.Sprintf("%q cannot be read: %v", name, errors.Unwrap(err))}
	}
	if int64(len(b)) > max { // it grew while being read
		return nil, &Error{Name: name, Msg: fmt.Sprintf("%q is larger than %d MiB", name, max>>20)}
	}
	return b, nil
}

// Image reads and decodes a PNG or JPEG from the folder.
func (d *Dir) Image(name string) (image.Image, error) {
	b, err := d.ReadFile(name, MaxImageBytes)
	if err != nil {
		return nil, err
	}
	img, err := DecodeImage(b)
	if err != nil {
		return nil, &Error{Name: name, Msg: fmt.Sprintf("%q: %v", name, err)}
	}
	return img, nil
}

// CheckImage reads an image's header: it must be a PNG or JPEG of at most
// MaxImagePixels. It returns the format ("png" or "jpeg") and the size.
func CheckImage(data []byte) (format string, w, h int, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", 0, 0, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if format != "png" && format != "jpeg" {
		return "", 0, 0, fmt.Errorf("the image is %s; use PNG or JPEG", format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return "", 0, 0, fmt.Errorf("the image is %dx%d; images up to 4096x4096 pixels are accepted", cfg.Width, cfg.Height)
	}
	return format, cfg.Width, cfg.Height, nil
}

// DecodeImage decodes a PNG or JPEG after CheckImage has accepted its header.
func DecodeImage(data []byte) (image.Image, error) {
	if _, _, _, err := CheckImage(data); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG or JPEG image: %w", err)
	}
	return img, nil
}
