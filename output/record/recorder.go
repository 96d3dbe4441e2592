// Package record records the program and every camera (ISO) for
// post-production: fragmented MP4 files that survive a crash, on one
// timebase, with the switcher's cuts as a CMX3600 EDL and an OpenTimelineIO
// timeline (DESIGN §7).
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
	"syscall"
	"time"

	"switchyard/media"
)

// Errors callers branch on.
var (
	ErrRecording    = errors.New("a recording is already running")
	ErrNotRecording = errors.New("no recording is running")
	ErrNotFound     = errors.New("no such recording or file")
	ErrBadName      = errors.New("not a valid recording or file name")
	ErrDiskFull     = errors.New("not enough free disk space")
	ErrActive       = errors.New("the recording is still running; stop it first")
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
	// Kind: cut, mix, dip or wipe.
	Kind string
	From string
	To   string
	// Duration of a transition.
	Duration time.Duration
}

// Recorder runs at most one session at a time.
type Recorder struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	session *session
	last    *session // the session stopped last, while and after its files close
	closed  bool

	stopping sync.WaitGroup // sessions stopping on their own (disk full)
}

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
	start := time.Now().UTC()
	id := start.Format("20060102T150405.000Z")
	dir := filepath.Join(r.opts.Dir, id)
	if err := os.Mkdir(dir, 0o750); err != nil {
		return Info{}, err
	}
	s := newSession(r, id, dir, start, req)
	for _, name := range iso {
		s.addISO(name, avail[name])
	}
	if req.Program {
		s.addProgram(r.opts.Program)
	}
	s.run()
	r.session = s
	r.log.Info("recording started", "session", id, "program", req.Program, "iso", iso)
	return s.info(), nil
}

// Stop ends the running session: every file ends at the moment of the call
// (what was sent before it still goes in, for up to endGrace), then the
// files are completed and closed.
func (r *Recorder) Stop() (Info, error) {
	r.mu.Lock()
	s := r.session
	r.session = nil
	if s != nil {
		s.markEnd()
		r.last = s
	}
	r.mu.Unlock()
	if s == nil {
		return Info{}, ErrNotRecording
	}
	s.stop("stopped")
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
	s.setState(reason) // the API and events say why at once, while the files close
	r.stopping.Add(1)
	r.mu.Unlock()
	go func() { // not from the goroutine that found the problem: stop waits for it
		defer r.stopping.Done()
		s.stop(reason)
	}()
	r.log.Warn("recording stopped", "session", s.id, "reason", reason)
}

// Switch records a switcher event of the running session.
func (r *Recorder) Switch(sw Switch) {
	r.mu.Lock()
	s := r.session
	r.mu.Unlock()
	if s != nil {
		s.addSwitch(sw)
	}
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
