// Package clip plays media files as sources: the clip player behind
// `url: "file:intro.mp4"`. It demuxes the file with libavformat (media/av) and
// publishes its compressed units into the source registry, paced on the wall
// clock, so a clip reaches the mixer, the recorder and the re-server through
// the same path as a camera.
package clip

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"switchyard/internal/fault"
)

// Scheme is the URL scheme of clip sources.
const Scheme = "file:"

// Dirs are the folders clips may be read from: the show's clips folder
// (data_dir/clips, where relative names point) first, then the allowed
// folders of clips.dirs.
type Dirs struct {
	Clips   string
	Allowed []string
}

// Files returns the file names a clip URL names: "file:intro.mp4", or
// several as a playlist "file:intro.mp4,spot.mov".
func Files(raw string) ([]string, error) {
	if !strings.HasPrefix(raw, Scheme) {
		return nil, errors.New("a clip URL starts with file:")
	}
	rest := strings.TrimPrefix(raw, Scheme)
	rest = strings.TrimPrefix(rest, "//")
	if u, err := url.PathUnescape(rest); err == nil {
		rest = u
	}
	var out []string
	for _, f := range strings.Split(rest, ",") {
		if f = strings.TrimSpace(f); f == "" {
			return nil, errors.New("a clip URL names a file: file:intro.mp4 (in data_dir/clips) or file:/abs/path/in/clips.dirs/intro.mp4")
		}
		out = append(out, f)
	}
	return out, nil
}

// CheckName validates a clip name without touching the disk: a relative name
// must stay inside the clips folder (no "..", no hidden files, no control
// characters).
func CheckName(name string) error {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "\x00\\") || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip name %q is not a plain file name", name)}
	}
	if filepath.IsAbs(name) {
		return nil // checked against the allowed folders by Resolve
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip name %q must stay inside the clips folder (no .., no hidden names)", name)}
		}
	}
	return nil
}

// Resolve returns the real path of a clip: a relative name inside Clips, an
// absolute one inside Clips or one of Allowed. Symbolic links are followed
// and the real file must still be inside the folder: a link that leads out
// is refused like "..".
func (d Dirs) Resolve(name string) (string, error) { return d.resolve(name, false) }

// ResolveStinger is Resolve for a stinger transition's clip, which may also
// be a folder of numbered PNG pictures (a PNG sequence, as motion designers
// deliver them): the folder's real path, inside the same folders.
func (d Dirs) ResolveStinger(name string) (string, error) { return d.resolve(name, true) }

func (d Dirs) resolve(name string, folderOK bool) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	dirs := append([]string{d.Clips}, d.Allowed...)
	p := name
	if !filepath.IsAbs(name) {
		p = filepath.Join(d.Clips, name)
	}
	p = filepath.Clean(p)
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		dir = filepath.Clean(dir)
		if !inside(p, dir) {
			continue
		}
		realDir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip folder %s: %v", dir, err)}
		}
		real, err := filepath.EvalSymlinks(p)
		if errors.Is(err, fs.ErrNotExist) {
			return "", &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip %s does not exist (upload it with PUT /api/v1/clips/%s or copy it into %s)", name, filepath.Base(name), dir)}
		}
		if err != nil {
			return "", &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip %s: %v", name, err)}
		}
		if !inside(real, realDir) {
			return "", &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip %s leads out of %s (a symbolic link); copy the file into the folder", name, dir)}
		}
		st, err := os.Stat(real)
		if err == nil && folderOK && st.IsDir() {
			return real, nil
		}
		if err != nil || !st.Mode().IsRegular() {
			return "", &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip %s is not a regular file", name)}
		}
		return real, nil
	}
	return "", &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip %s is outside the clips folder and clips.dirs; name it relative to data_dir/clips or add its folder to clips.dirs", name)}
}

func inside(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}
