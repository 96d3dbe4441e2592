package clip

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"switchyard/ingest"
	"switchyard/internal/atomicfile"
	"switchyard/internal/fault"
	"switchyard/media/av"
)

// Info describes a clip of the library (ingest.ClipInfo, which the API
// shows without linking the codecs).
type Info = ingest.ClipInfo

// Library is the clips folder (data_dir/clips): uploads, the list, removal.
type Library struct {
	// Dir is the folder; it is made at the first upload.
	Dir string
	// MaxBytes caps an upload; defaults to 2 GiB.
	MaxBytes int64
}

// DefaultMaxUpload is an upload's cap when none is set.
const DefaultMaxUpload = 2 << 30

// uploadName checks a name given to PUT or DELETE: one plain file name.
func uploadName(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if strings.Contains(name, "/") || filepath.IsAbs(name) {
		return &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip name %q must be a plain file name, without folders", name)}
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".mp4", ".mov", ".mkv", ".webm", ".m4v":
	default:
		return &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip name %q must end in .mp4, .mov, .mkv, .webm or .m4v", name)}
	}
	return nil
}

// ErrTooLarge refuses an upload over the cap.
var ErrTooLarge = errors.New("the clip is larger than the upload cap")

// Put stores r as name: written to a temporary file, probed (FFmpeg must
// read it and the show play its codecs, or its pictures carry alpha: a
// stinger), then renamed into place. A clip
// being played under the same name goes on with the file it opened.
func (l *Library) Put(name string, r io.Reader) (Info, error) {
	if err := uploadName(name); err != nil {
		return Info{}, err
	}
	max := l.MaxBytes
	if max <= 0 {
		max = DefaultMaxUpload
	}
	// written beside its place (private, the folder 0750), probed there,
	// then renamed into place, synced: a crash leaves no half clip
	f, err := atomicfile.Create(filepath.Join(l.Dir, name))
	if err != nil {
		return Info{}, err
	}
	defer f.Abort() // after the Commit: nothing
	n, err := io.Copy(f, io.LimitReader(r, max+1))
	if err != nil {
		return Info{}, fmt.Errorf("upload %s: %w", name, err)
	}
	if n > max {
		return Info{}, &fault.Invalid{Field: "file", Msg: fmt.Sprintf("clip %s is larger than the upload cap of %d MB (clips.max_upload_mb)", name, max>>20), Err: ErrTooLarge}
	}
	m, err := Probe(f.Name())
	if err != nil && hasAlpha(f.Name()) {
		err = nil // a stinger: the mixer decodes it whole when a transition names it
	} else if err == nil {
		m.Close()
	}
	if err != nil {
		var inv *fault.Invalid
		if errors.As(err, &inv) {
			inv.Msg = strings.ReplaceAll(inv.Msg, filepath.Base(f.Name()), name)
		}
		return Info{}, err
	}
	if err := f.Commit(); err != nil {
		return Info{}, err
	}
	return l.info(name), nil
}

func (l *Library) info(name string) Info {
	in := Info{Name: name}
	st, err := os.Stat(filepath.Join(l.Dir, name))
	if err != nil {
		in.Error = err.Error()
		return in
	}
	in.SizeBytes, in.Modified = st.Size(), st.ModTime().UTC()
	m, err := Probe(filepath.Join(l.Dir, name))
	if err != nil {
		in.Error = err.Error()
		if d, derr := av.OpenClipDecoder(filepath.Join(l.Dir, name)); derr == nil {
			in.Video, in.Width, in.Height = d.Codec, d.Width, d.Height
			d.Close()
			if hasAlpha(filepath.Join(l.Dir, name)) {
				in.Alpha = true
				in.Error = fmt.Sprintf("%s plays as a stinger transition (its pictures carry alpha), not as a source", in.Video)
			}
		}
		return in
	}
	defer m.Close()
	in.DurationS = m.Duration.Seconds()
	in.Video, in.Width, in.Height = m.Video.Codec, m.Video.Width, m.Video.Height
	if m.Audio != nil {
		in.Audio = m.Audio.Codec
	}
	// a codec that may carry alpha (ProRes 4444, QuickTime Animation, VP9…)
	// plays as a source (opaque) and as a stinger: said
	in.Alpha = !av.NALCodec(in.Video) && hasAlpha(filepath.Join(l.Dir, name))
	return in
}

// List returns the clips of the folder, by name.
func (l *Library) List() ([]Info, error) {
	ents, err := os.ReadDir(l.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []Info{}
	for _, e := range ents {
		if e.IsDir() && CheckName(e.Name()) == nil {
			if in, ok := l.sequenceInfo(e.Name()); ok {
				out = append(out, in)
			}
			continue
		}
		if !e.Type().IsRegular() || uploadName(e.Name()) != nil {
			continue
		}
		out = append(out, l.info(e.Name()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// sequenceInfo describes a folder of PNG pictures (a stinger's PNG
// sequence, docs/clips.md) by its first picture; false for a folder
// without one.
func (l *Library) sequenceInfo(name string) (Info, bool) {
	dir := filepath.Join(l.Dir, name)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Info{}, false
	}
	in := Info{Name: name}
	first := ""
	var mod time.Time
	for _, e := range ents {
		if !strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			continue
		}
		if first == "" {
			first = e.Name()
		}
		in.Pictures++
		if st, err := e.Info(); err == nil {
			in.SizeBytes += st.Size()
			if st.ModTime().After(mod) {
				mod = st.ModTime()
			}
		}
	}
	if first == "" {
		return Info{}, false
	}
	in.Modified = mod.UTC()
	if d, err := av.OpenClipDecoder(filepath.Join(dir, first)); err == nil {
		in.Video, in.Width, in.Height = d.Codec, d.Width, d.Height
		d.Close()
		in.Alpha = hasAlpha(filepath.Join(dir, first))
	}
	if in.Alpha {
		in.Error = "a PNG sequence plays as a stinger transition (one picture a program frame), not as a source"
	} else {
		in.Error = "its PNG pictures carry no alpha: a PNG sequence plays as a stinger transition, which needs alpha"
	}
	return in, true
}

// ErrNoClip is returned for a clip the folder does not hold.
var ErrNoClip error = fault.New(fault.NotFound, "no such clip")

// Delete removes a clip. A player playing it goes on with the file it has
// open and holds its last picture at the end (its next open fails, and
// says so in its status).
func (l *Library) Delete(name string) error {
	if err := uploadName(name); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(l.Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clip %s: %w", name, ErrNoClip)
	}
	return err
}

// hasAlpha is true when FFmpeg decodes the file's first picture with alpha:
// a stinger (docs/clips.md), whatever its codec.
func hasAlpha(path string) bool {
	d, err := av.OpenClipDecoder(path)
	if err != nil {
		return false
	}
	defer d.Close()
	for {
		kind, err := d.Next()
		if err != nil {
			return false
		}
		if kind == av.ClipPicture {
			return d.Alpha()
		}
	}
}
