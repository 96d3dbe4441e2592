// Package record records the program and every camera (ISO) for
// post-production: fragmented MP4 files that survive a crash, on one
// timebase and one timecode, with the switcher's cuts as a CMX3600 EDL, an
// OpenTimelineIO timeline and a Final Cut Pro 7 XML project.
package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"switchyard/internal/fault"
	"switchyard/internal/notify"
	"switchyard/media"
)

// Errors callers branch on.
var (
	ErrRecording    error = fault.New(fault.Conflict, "a recording is already running")
	ErrNotRecording error = fault.New(fault.Conflict, "no recording is running")
	ErrNotFound     error = fault.New(fault.NotFound, "no such recording or file")
	ErrBadName      error = &fault.Invalid{Msg: "not a valid recording or file name"}
	ErrDiskFull     error = fault.New(fault.NoSpace, "not enough free disk space")
	ErrActive       error = fault.New(fault.Conflict, "the recording is still running; stop it first")
	// ErrBadMarker is the cause of a marker's refusal (a *fault.Invalid
	// naming the field).
	ErrBadMarker = errors.New("not a valid marker")
)

// Options configure the recorder.
type Options struct {
	// Dir holds one folder per session.
	Dir string
	// Fragment is the longest fragment; defaults to 1s.
	Fragment time.Duration
	// MinFreeBytes: a recording does not start, and stops cleanly, below this
	// much free space; defaults to 256 MiB.
	MinFreeBytes uint64
	// FPSNum/FPSDen is the program frame rate (for timecodes).
	FPSNum, FPSDen int
	// ProgramEpoch is the wall clock of program time 0.
	ProgramEpoch func() time.Time
	// Sources lists the sources that can be recorded, by name.
	Sources func() map[string]*media.Stream
	// Program is the program stream.
	Program *media.Stream
	// KeyFrame, when set, makes the next program frame a key frame and
	// returns its program PTS: the session starts on that frame, the first
	// of program.mp4. Without it a session starts when Start is called.
	KeyFrame func() time.Duration
	// SourceOffset, when set, maps a source's timestamps to the program
	// clock (program time = PTS + offset): each camera file is then timed
	// as the program airs it, so its timecode is the program's for the
	// same picture. Without it a camera is timed by the arrival of its
	// units.
	SourceOffset func(name string) (time.Duration, bool)
	// Timecode is the session's start timecode: TimecodeTimeOfDay (the
	// default), TimecodeZero or "HH:MM:SS:FF" (ParseTimecode).
	Timecode string
}

// StartRequest chooses what to record.
type StartRequest struct {
	Program bool
	// ISO lists the sources to record; nil records every source.
	ISO []string
	// Initial is the program source when the recording starts (for the edit list).
	Initial string
}

// Switch is one switcher event on the program.
type Switch struct {
	// PTS is the program time of the event's first frame.
	PTS time.Duration
	// Kind: cut, mix, dip or wipe; SwitchKey marks the frame KeyFrame made
	// a key frame (a session's first), SwitchAudio a change of how a
	// source is heard, SwitchJump a jump in what the program source aired.
	Kind string
	From string
	To   string
	// Duration of a transition.
	Duration time.Duration
	// Sources says where sources stood at the event's first frame: the
	// timestamps of the pictures aired (so the edit lists point at those
	// very frames) and how each is heard.
	Sources []SourceTime
}

// Kinds of Switch besides cut and the transitions.
const (
	SwitchKey   = "key"
	SwitchAudio = "audio"
	// SwitchJump: the program source aired another picture than the one
	// after the last (its mapping to the program clock moved, a picture
	// came late and the last was shown again), or its slate (no picture
	// of it lately; Sources says Shown false): the edit lists take it anew.
	SwitchJump = "jump"
)

// SourceTime is where a source stood at a switch event's frame.
type SourceTime struct {
	Name string
	// PTS is the source timestamp of the picture aired (Shown), else of
	// the sound read then.
	PTS   time.Duration
	Shown bool
	// Audio: how the program hears the source from then on: "afv" (with
	// its picture), "on" (always) or "" (not at all). In key and audio
	// events.
	Audio string
}

// Marker is a mark an operator set on the program.
type Marker struct {
	Name  string `json:"name"`
	Color string `json:"color"`
	// TimeS is its session time; Frame its program frame since the
	// session's start; Timecode that frame's.
	TimeS    float64 `json:"time_s"`
	Frame    int64   `json:"frame"`
	Timecode string  `json:"timecode"`
}

// MarkerColors are the colours a marker may have (the Avid locator
// colours, which Premiere and Resolve read from an EDL).
var MarkerColors = []string{"red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"}

// Recorder runs at most one session at a time.
type Recorder struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	session *session
	last    *session // the session stopped last, while and after its files close
	closed  bool
	// current is the running session for Switch, which the program's tick
	// calls: an atomic load, never a lock Start holds over disk work.
	current atomic.Pointer[session]

	stopping sync.WaitGroup // sessions stopping on their own (disk full)

	changes notify.Notifier
}

// OnChange sets the listener of the recording's changes, once: a session
// started, stopped by Stop (once its files are complete) or on its own
// (disk full, at once, while its files close). It reads Active and List
// for the state. It is called on a goroutine of the recorder's, outside
// the recorder's locks, one call at a time; Close stops it.
func (r *Recorder) OnChange(f func()) { r.changes.Listen(func(string) { f() }) }

// New returns a recorder.
func New(opts Options, log *slog.Logger) *Recorder {
	if opts.Fragment == 0 {
		opts.Fragment = time.Second
	}
	if opts.MinFreeBytes == 0 {
		opts.MinFreeBytes = 256 << 20
	}
	return &Recorder{opts: opts, log: log.With("component", "output.record")}
}

var (
	sessionPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}(\.[0-9]{3})?Z$`)
	filePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,80}$`)
)

// FreeBytes returns the free space where recordings are written.
func FreeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// Start begins a session.
func (r *Recorder) Start(req StartRequest) (Info, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Info{}, errors.New("recorder closed")
	}
	if r.session != nil {
		return Info{}, ErrRecording
	}
	if err := os.MkdirAll(r.opts.Dir, 0o750); err != nil {
		return Info{}, fmt.Errorf("recordings folder: %w", err)
	}
	if free, err := FreeBytes(r.opts.Dir); err != nil {
		return Info{}, err
	} else if free < r.opts.MinFreeBytes {
		return Info{}, fmt.Errorf("%w: %d MiB free, %d MiB needed", ErrDiskFull, free>>20, r.opts.MinFreeBytes>>20)
	}
	avail := r.opts.Sources()
	var iso []string
	if req.ISO == nil {
		for name := range avail {
			iso = append(iso, name)
		}
	} else {
		for _, name := range req.ISO {
			if _, ok := avail[name]; !ok {
				return Info{}, fmt.Errorf("%w: source %q", ErrNotFound, name)
			}
			iso = append(iso, name)
		}
	}
	sort.Strings(iso)
	id := time.Now().UTC().Format("20060102T150405.000Z")
	dir := filepath.Join(r.opts.Dir, id)
	if err := os.Mkdir(dir, 0o750); err != nil {
		return Info{}, err
	}
	s := newSession(r, id, dir, req)
	// the readers first: the cameras' from their pre-roll, the program's
	// before the key frame asked for below
	for _, name := range iso {
		s.addISO(name, avail[name])
	}
	if req.Program {
		s.addProgram(r.opts.Program)
	}
	r.current.Store(s) // switch events from here on are the session's
	if r.opts.KeyFrame != nil {
		s.begin(r.opts.ProgramEpoch().Add(r.opts.KeyFrame()))
	} else {
		s.begin(time.Now())
	}
	s.run()
	r.session = s
	r.changes.Changed("")
	r.log.Info("recording started", "session", id, "program", req.Program, "iso", iso, "timecode", s.clock.format(s.clock.start))
	return s.info(), nil
}

// Stop ends the running session: every file ends at the moment of the call
// (what was sent before it still goes in, for up to endGrace), then the
// files are completed and closed.
func (r *Recorder) Stop() (Info, error) {
	r.mu.Lock()
	s := r.session
	r.session = nil
	r.current.CompareAndSwap(s, nil)
	if s != nil {
		s.markEnd()
		r.last = s
	}
	r.mu.Unlock()
	if s == nil {
		return Info{}, ErrNotRecording
	}
	s.stop("stopped")
	r.changes.Changed("")
	r.log.Info("recording stopped", "session", s.id)
	return s.info(), nil
}

// stopFor ends a session on its own (disk full); the API sees it as stopped.
func (r *Recorder) stopFor(s *session, reason string) {
	r.mu.Lock()
	if r.session != s {
		r.mu.Unlock()
		return // already stopping
	}
	r.session, r.last = nil, s
	r.current.CompareAndSwap(s, nil)
	s.setState(reason) // the API and events say why at once, while the files close
	r.changes.Changed("")
	r.stopping.Add(1)
	r.mu.Unlock()
	go func() { // not from the goroutine that found the problem: stop waits for it
		defer r.stopping.Done()
		s.stop(reason)
	}()
	r.log.Warn("recording stopped", "session", s.id, "reason", reason)
}

// Switch records a switcher event of the running session. It returns at
// once (the program's tick calls it): the edit lists are written by the
// session's own goroutine.
func (r *Recorder) Switch(sw Switch) {
	if s := r.current.Load(); s != nil {
		s.addSwitch(sw)
	}
}

// AddMarker sets a marker at the current program frame of the running
// session: in the edit lists, session.json and program.mp4's chapters.
// color is one of MarkerColors ("" is red).
func (r *Recorder) AddMarker(name, color string) (Marker, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return Marker{}, &fault.Invalid{Field: "name", Msg: "name must be 1 to 64 characters on one line", Err: ErrBadMarker}
	}
	if color == "" {
		color = "red"
	}
	if !slices.Contains(MarkerColors, color) {
		return Marker{}, &fault.Invalid{Field: "color", Msg: fmt.Sprintf("color %q: use one of %s", color, strings.Join(MarkerColors, ", ")), Err: ErrBadMarker}
	}
	s := r.current.Load()
	if s == nil {
		return Marker{}, ErrNotRecording
	}
	return s.addMarker(name, color), nil
}

// Active returns the running session's info.
func (r *Recorder) Active() (Info, bool) {
	r.mu.Lock()
	s := r.session
	r.mu.Unlock()
	if s == nil {
		return Info{}, false
	}
	return s.info(), true
}

// List returns every session on disk, newest first.
func (r *Recorder) List() ([]Info, error) {
	ents, err := os.ReadDir(r.opts.Dir)
	if os.IsNotExist(err) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	active, last := r.session, r.last
	r.mu.Unlock()
	out := []Info{}
	for _, e := range ents {
		if !e.IsDir() || !sessionPattern.MatchString(e.Name()) {
			continue
		}
		if s := active; s != nil && e.Name() == s.id {
			out = append(out, s.info())
			continue
		}
		if s := last; s != nil && e.Name() == s.id {
			out = append(out, s.info())
			continue
		}
		out = append(out, readInfo(filepath.Join(r.opts.Dir, e.Name()), e.Name()))
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(b.ID, a.ID) })
	return out, nil
}

// File returns the path of a file of a session, refusing anything that is
// not plainly a file name inside that session's folder.
func (r *Recorder) File(id, name string) (string, error) {
	if !sessionPattern.MatchString(id) || !filePattern.MatchString(name) || strings.Contains(name, "..") {
		return "", ErrBadName
	}
	p := filepath.Join(r.opts.Dir, id, name)
	if filepath.Dir(p) != filepath.Join(r.opts.Dir, id) {
		return "", ErrBadName
	}
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() {
		return "", ErrNotFound
	}
	return p, nil
}

// Delete removes a stopped session.
func (r *Recorder) Delete(id string) error {
	if !sessionPattern.MatchString(id) {
		return ErrBadName
	}
	r.mu.Lock()
	busy := (r.session != nil && r.session.id == id) || (r.last != nil && r.last.id == id && r.last.stopping())
	r.mu.Unlock()
	if busy {
		return ErrActive
	}
	p := filepath.Join(r.opts.Dir, id)
	if st, err := os.Lstat(p); err != nil || !st.IsDir() {
		return ErrNotFound
	}
	return os.RemoveAll(p)
}

// Close stops a running session.
func (r *Recorder) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	_, _ = r.Stop()
	r.stopping.Wait()
	r.changes.Close()
}

// ctxDone is a helper for goroutines owned by a session.
func ctxDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// Dir is where sessions are kept.
func (r *Recorder) Dir() string { return r.opts.Dir }
