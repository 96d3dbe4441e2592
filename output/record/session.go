package record

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/internal/atomicfile"
	"switchyard/media"
)

// Info describes a session for the API.
type Info struct {
	ID        string     `json:"id"`
	State     string     `json:"state"` // recording, stopped, or why it stopped on its own
	StartedAt time.Time  `json:"started_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	DurationS float64    `json:"duration_s"`
	// Timecode is the session's start timecode.
	Timecode string     `json:"timecode,omitempty"`
	Files    []FileInfo `json:"files"`
	// Sources says how each recorded source is doing: recording, waiting
	// (nothing to record yet: the camera is not there), or failed with
	// the reason; Errors repeats the failures as sentences.
	Sources []SourceInfo `json:"sources"`
	Errors  []string     `json:"errors,omitempty"`
	Markers []Marker     `json:"markers,omitempty"`
}

// SourceInfo is how the recording of one source is doing.
type SourceInfo struct {
	Name  string `json:"name"`
	State string `json:"state"` // waiting, recording, failed, stopped
	Error string `json:"error,omitempty"`
}

// FileInfo describes one file of a session.
type FileInfo struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	// Source is "program" or the camera's name (media files only).
	Source string `json:"source,omitempty"`
	// StartS and DurationS are on the session's timebase (media files
	// only): a camera's file starts before the session (its pre-roll).
	StartS    float64 `json:"start_s,omitempty"`
	DurationS float64 `json:"duration_s,omitempty"`
	// Timecode is the file's start timecode.
	Timecode string `json:"timecode,omitempty"`
}

// sessionJSON is session.json.
type sessionJSON struct {
	ID        string      `json:"id"`
	State     string      `json:"state"`
	StartedAt time.Time   `json:"started_at"`
	StoppedAt *time.Time  `json:"stopped_at,omitempty"`
	FPS       string      `json:"fps"`
	Timecode  string      `json:"timecode"`
	Program   bool        `json:"program"`
	Tracks    []trackJSON `json:"tracks"`
	Events    []eventJSON `json:"events"`
	Markers   []Marker    `json:"markers"`
}

type trackJSON struct {
	Source string     `json:"source"`
	State  string     `json:"state"`
	Error  string     `json:"error,omitempty"`
	Files  []partJSON `json:"files"`
}

// partJSON is one file of a track.
type partJSON struct {
	File string `json:"file"`
	// StartS and EndS: session times of its first frame (or sound) and of
	// the end of its last.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// StartFrame is the session frame its first frame is timed at (its
	// timecode less the session's); Timecode that timecode.
	StartFrame int64  `json:"start_frame"`
	Timecode   string `json:"timecode"`
	Video      string `json:"video,omitempty"`
	Audio      string `json:"audio,omitempty"`
	Channels   int    `json:"channels,omitempty"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	// Anchors map the camera's timestamps to session time (session time
	// = PTS + offset), each from a session time on (a camera that starts
	// a new timeline is mapped anew).
	Anchors []anchorJSON `json:"anchors,omitempty"`
}

type anchorJSON struct {
	SinceS   float64 `json:"since_s"`
	OffsetNS int64   `json:"offset_ns"`
}

type eventJSON struct {
	TimeS     float64      `json:"time_s"`
	Frame     int64        `json:"frame"`
	Kind      string       `json:"kind"`
	From      string       `json:"from,omitempty"`
	To        string       `json:"to"`
	DurationS float64      `json:"duration_s,omitempty"`
	Sources   []sourceJSON `json:"sources,omitempty"`
}

type sourceJSON struct {
	Name  string `json:"name"`
	PTSNS int64  `json:"pts_ns"`
	Shown bool   `json:"shown,omitempty"`
	Audio string `json:"audio,omitempty"`
}

type session struct {
	rec     *Recorder
	id      string
	dir     string
	start   time.Time // session time 0: the wall clock of the program frame it starts on
	onFrame bool      // start is a program frame's (Options.KeyFrame)
	clock   clock
	req     StartRequest

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the tracks and housekeeping
	writers sync.WaitGroup // the tracks alone
	kick    chan struct{}  // wakes housekeeping to write the edit lists

	// endAt is the session time every file ends at, set by an operator's
	// stop (0 while recording): the tracks write what comes before it,
	// also what is still on its way, and end there (track.run).
	endAt atomic.Int64
	// chapterGen counts changes of the chapter list (program.mp4)
	chapterGen atomic.Int64

	mu       sync.Mutex
	tracks   []*track
	switches []Switch
	markers  []Marker
	state    string
	stopped  time.Time
	once     sync.Once
	closed   chan struct{} // closed when stop has closed every file
}

// initialPTS marks the switch that says what was on program before the
// session (the API's view at REC; the mixer's key event says it exactly).
const initialPTS = time.Duration(math.MinInt64)

func newSession(r *Recorder, id, dir string, req StartRequest) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{rec: r, id: id, dir: dir, req: req, ctx: ctx, cancel: cancel, state: "recording",
		closed: make(chan struct{}), kick: make(chan struct{}, 1)}
	if req.Initial != "" {
		s.switches = append(s.switches, Switch{PTS: initialPTS, Kind: "cut", To: req.Initial})
	}
	return s
}

// begin fixes the session's time 0.
func (s *session) begin(start time.Time) {
	s.start = start.UTC()
	s.clock = newClock(s.rec.opts.Timecode, s.rec.opts.FPSNum, s.rec.opts.FPSDen, s.start.Local())
}

// startPTS is the program PTS of session time 0.
func (s *session) startPTS() time.Duration { return s.start.Sub(s.rec.opts.ProgramEpoch()) }

func (s *session) addISO(name string, st *media.Stream) {
	r, n := st.NewReaderFromPreroll(2048)
	s.tracks = append(s.tracks, &track{s: s, name: name, stream: st, reader: r, state: "waiting", prerollLeft: n})
}

func (s *session) addProgram(st *media.Stream) {
	s.tracks = append(s.tracks, &track{s: s, name: "program", program: true, stream: st, reader: st.NewReader(2048), state: "waiting"})
}

func (s *session) run() {
	for _, t := range s.tracks {
		t.check()
	}
	s.writeJSON()
	for _, t := range s.tracks {
		s.startTrack(t)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.housekeep()
	}()
}

// startTrack starts t's goroutine, which the session owns: its cancel
// ends it, stop waits for it, and so does a removal of its source
// (Recorder.RemoveSource, on t.done). Not after stop began (Recorder.mu:
// the session is still the recorder's).
func (s *session) startTrack(t *track) {
	t.done = make(chan struct{})
	s.wg.Add(1)
	s.writers.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.writers.Done()
		defer close(t.done)
		defer t.recoverPanic()
		t.run()
	}()
}

func (s *session) setState(state string) {
	s.mu.Lock()
	s.state = state
	s.mu.Unlock()
}

// endGrace bounds how long an operator's stop waits for what was sent
// before it (a camera's frames in flight, the program's last ticks) before
// the files close; a camera that has gone silent is not waited for longer.
const endGrace = 500 * time.Millisecond

// markEnd makes now the instant every file ends at (an operator's stop;
// Recorder.Stop marks it before anyone can see the session stopped).
func (s *session) markEnd() {
	s.endAt.CompareAndSwap(0, int64(max(time.Since(s.start), 1)))
}

// stop ends every file and writes the edit lists. Safe twice. After
// markEnd (an operator's stop) every file ends at the same instant on the
// session's timebase: each gets what was sent before it, even if that
// arrives after it (within endGrace), and nothing from after it (but the
// frames a B-frame camera's last frames need), so the program and the
// cameras end together in an editor. A stop on its own (disk full, a write
// error) closes the files at once.
func (s *session) stop(reason string) {
	s.once.Do(func() {
		stopped := time.Now()
		if end := s.endAt.Load(); end > 0 {
			stopped = s.start.Add(time.Duration(end))
			ended := make(chan struct{})
			go func() { // ends when the tracks do: at the latest at the cancel below
				s.writers.Wait()
				close(ended)
			}()
			grace := time.NewTimer(endGrace)
			select {
			case <-ended:
			case <-grace.C:
			}
			grace.Stop()
		}
		s.cancel()
		s.wg.Wait()
		s.mu.Lock()
		s.state = reason
		s.stopped = stopped.UTC()
		for _, t := range s.tracks {
			t.mu.Lock()
			if t.state == "recording" || t.state == "waiting" {
				t.state = "stopped"
			}
			t.mu.Unlock()
		}
		s.mu.Unlock()
		s.writeJSON()
		s.writeEditLists()
		close(s.closed)
	})
}

// stopping reports a session whose files are still being closed.
func (s *session) stopping() bool {
	select {
	case <-s.closed:
		return false
	default:
		return true
	}
}

// housekeep checks the free space twice a second, stopping the session
// cleanly below the threshold, and rewrites session.json and the edit lists
// every few seconds and after each switch and marker, so that after a crash
// they describe the files on disk.
func (s *session) housekeep() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
			s.writeJSON()
			s.writeEditLists()
			continue
		case <-t.C:
		}
		if free, err := FreeBytes(s.dir); err == nil && free < s.rec.opts.MinFreeBytes {
			s.rec.stopFor(s, "stopped: disk full")
			return
		}
		if n%4 == 0 {
			s.writeJSON()
			s.writeEditLists()
		}
	}
}

// wake asks housekeeping to write the edit lists; it never waits.
func (s *session) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// addSwitch keeps a switch event (from the program's tick: it never waits
// on the disk).
func (s *session) addSwitch(sw Switch) {
	s.mu.Lock()
	if sw.Kind == "cut" {
		for i := len(s.switches) - 1; i >= 0; i-- {
			if k := s.switches[i].Kind; k == SwitchKey || k == SwitchAudio || k == SwitchJump {
				continue
			}
			if s.switches[i].To == sw.To && s.switches[i].Kind == "cut" {
				s.mu.Unlock()
				return // already on program: nothing changed
			}
			break
		}
	}
	s.switches = append(s.switches, sw)
	if sw.Kind != SwitchAudio && sw.Kind != SwitchJump {
		s.chapterGen.Add(1)
	}
	s.mu.Unlock()
	s.wake()
}

// addMarker sets a marker at the current program frame.
func (s *session) addMarker(name, color string) Marker {
	at := time.Since(s.start)
	frame := int64(float64(at) * s.clock.fps() / float64(time.Second)) // the frame on air now
	m := Marker{Name: name, Color: color, Frame: frame, TimeS: s.frameTime(frame).Seconds(),
		Timecode: s.clock.format(s.clock.start + frame)}
	s.mu.Lock()
	s.markers = append(s.markers, m)
	s.mu.Unlock()
	s.chapterGen.Add(1)
	s.wake()
	return m
}

// frameTime is the session time of session frame n.
func (s *session) frameTime(n int64) time.Duration {
	return time.Duration(n * int64(s.clock.den) * int64(time.Second) / int64(s.clock.num))
}

// programTime maps a program PTS to session time.
func (s *session) programTime(pts time.Duration) time.Duration {
	return s.rec.opts.ProgramEpoch().Add(pts).Sub(s.start)
}

// chapters lists program.mp4's chapters: the source on program from the
// start, every cut and transition, every marker.
func (s *session) chapters() []chapter {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []chapter
	prog := ""
	for _, sw := range s.switches {
		at := s.programTime(sw.PTS)
		if sw.PTS == initialPTS || at <= 0 {
			switch sw.Kind {
			case SwitchAudio, SwitchJump:
			default:
				prog = sw.To
			}
			continue
		}
		switch sw.Kind {
		case SwitchKey, SwitchAudio, SwitchJump:
			continue
		case "cut":
			out = append(out, chapter{at: at, title: sw.To})
		default:
			out = append(out, chapter{at: at, title: sw.To + " (" + sw.Kind + ")"})
		}
	}
	if prog != "" {
		out = append([]chapter{{at: 0, title: prog}}, out...)
	}
	for _, m := range s.markers {
		out = append(out, chapter{at: s.frameTime(m.Frame), title: m.Name})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

func (s *session) snapshot() sessionJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := sessionJSON{ID: s.id, State: s.state, StartedAt: s.start, Program: s.req.Program, Timecode: s.clock.format(s.clock.start),
		FPS: fmt.Sprintf("%d/%d", s.rec.opts.FPSNum, s.rec.opts.FPSDen), Events: []eventJSON{}, Tracks: []trackJSON{},
		Markers: append([]Marker{}, s.markers...)}
	if !s.stopped.IsZero() {
		st := s.stopped
		j.StoppedAt = &st
	}
	for _, t := range s.tracks {
		t.mu.Lock()
		tj := trackJSON{Source: t.name, State: t.state, Error: t.err, Files: []partJSON{}}
		for _, p := range t.parts {
			p.Anchors = append([]anchorJSON(nil), p.Anchors...)
			tj.Files = append(tj.Files, p)
		}
		t.mu.Unlock()
		j.Tracks = append(j.Tracks, tj)
	}
	for _, sw := range s.switches {
		ev := eventJSON{Kind: sw.Kind, From: sw.From, To: sw.To, DurationS: sw.Duration.Seconds()}
		if sw.PTS != initialPTS {
			at := s.programTime(sw.PTS)
			ev.TimeS, ev.Frame = at.Seconds(), s.clock.frameOf(at)
		}
		for _, st := range sw.Sources {
			ev.Sources = append(ev.Sources, sourceJSON{Name: st.Name, PTSNS: int64(st.PTS), Shown: st.Shown, Audio: st.Audio})
		}
		j.Events = append(j.Events, ev)
	}
	return j
}

// writeJSON writes session.json atomically.
func (s *session) writeJSON() {
	b, err := json.MarshalIndent(s.snapshot(), "", "  ")
	if err == nil {
		err = atomicfile.Write(filepath.Join(s.dir, "session.json"), b)
	}
	if err != nil {
		s.rec.log.Error("writing session.json", "session", s.id, "err", err)
	}
}

func (s *session) info() Info {
	return infoOf(s.snapshot(), s.dir)
}

func infoOf(j sessionJSON, dir string) Info {
	in := Info{ID: j.ID, State: j.State, StartedAt: j.StartedAt, StoppedAt: j.StoppedAt, Timecode: j.Timecode,
		Files: []FileInfo{}, Sources: []SourceInfo{}, Markers: j.Markers}
	end := time.Now()
	if j.StoppedAt != nil {
		end = *j.StoppedAt
	}
	in.DurationS = end.Sub(j.StartedAt).Seconds()
	media := map[string]FileInfo{}
	for _, t := range j.Tracks {
		for _, p := range t.Files {
			media[p.File] = FileInfo{Source: t.Source, StartS: p.StartS, DurationS: max(p.EndS-p.StartS, 0), Timecode: p.Timecode}
		}
		in.Sources = append(in.Sources, SourceInfo{Name: t.Source, State: t.State, Error: t.Error})
		if t.Error != "" {
			in.Errors = append(in.Errors, t.Source+": "+t.Error)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() || !filePattern.MatchString(e.Name()) {
			continue
		}
		fi := media[e.Name()]
		fi.Name = e.Name()
		if st, err := e.Info(); err == nil {
			fi.Bytes = st.Size()
		}
		in.Files = append(in.Files, fi)
	}
	return in
}

// readInfo reads a stopped session from its folder.
func readInfo(dir, id string) Info {
	var j sessionJSON
	b, err := os.ReadFile(filepath.Join(dir, "session.json"))
	if err != nil || json.Unmarshal(b, &j) != nil {
		j = sessionJSON{ID: id, State: "unknown"}
	}
	if j.State == "recording" { // the process died while recording
		j.State = "interrupted"
	}
	return infoOf(j, dir)
}
