package record

import (
	"context"
	"math"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/media"
)

// Info describes a session for the API.
type Info struct {
	ID        string     `json:"id"`
	State     string     `json:"state"` // recording, stopped, or why it stopped on its own
	StartedAt time.Time  `json:"started_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	DurationS float64    `json:"duration_s"`
	Files     []FileInfo `json:"files"`
}

// FileInfo describes one file of a session.
type FileInfo struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	// Source is "program" or the camera's name (media files only).
	Source string `json:"source,omitempty"`
	// StartS and DurationS are on the session's timebase (media files only).
	StartS    float64 `json:"start_s,omitempty"`
	DurationS float64 `json:"duration_s,omitempty"`
}

// sessionJSON is session.json.
type sessionJSON struct {
	ID        string      `json:"id"`
	State     string      `json:"state"`
	StartedAt time.Time   `json:"started_at"`
	StoppedAt *time.Time  `json:"stopped_at,omitempty"`
	FPS       string      `json:"fps"`
	Program   bool        `json:"program"`
	Tracks    []trackJSON `json:"tracks"`
	Events    []eventJSON `json:"events"`
}

type trackJSON struct {
	Source string     `json:"source"`
	Files  []partJSON `json:"files"`
}

type partJSON struct {
	File   string  `json:"file"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	Video  string  `json:"video"`
	Audio  string  `json:"audio,omitempty"`
}

type eventJSON struct {
	TimeS     float64 `json:"time_s"`
	Kind      string  `json:"kind"`
	From      string  `json:"from,omitempty"`
	To        string  `json:"to"`
	DurationS float64 `json:"duration_s,omitempty"`
}

type session struct {
	rec   *Recorder
	id    string
	dir   string
	start time.Time // session time 0
	req   StartRequest

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the tracks and housekeeping
	writers sync.WaitGroup // the tracks alone

	// endAt is the session time every file ends at, set by an operator's
	// stop (0 while recording): the tracks write what comes before it,
	// also what is still on its way, and end there (track.run).
	endAt atomic.Int64

	mu       sync.Mutex
	tracks   []*track
	switches []Switch
	state    string
	stopped  time.Time
	once     sync.Once
	closed   chan struct{} // closed when stop has closed every file
}

// track is one recorded stream: the program or a camera.
type track struct {
	s       *session
	name    string
	program bool
	stream  *media.Stream
	reader  *media.Reader

	mu       sync.Mutex
	parts    []partJSON
	cur      *fileWriter
	anchor   time.Duration // for cameras: session time = DTS + anchor
	anchored bool
}

func newSession(r *Recorder, id, dir string, start time.Time, req StartRequest) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{rec: r, id: id, dir: dir, start: start, req: req, ctx: ctx, cancel: cancel, state: "recording",
		closed: make(chan struct{})}
	if req.Initial != "" {
		s.switches = append(s.switches, Switch{PTS: -1, Kind: "cut", To: req.Initial})
	}
	return s
}

func (s *session) addISO(name string, st *media.Stream) {
	s.tracks = append(s.tracks, &track{s: s, name: name, stream: st, reader: st.NewReader(2048)})
}

func (s *session) addProgram(st *media.Stream) {
	s.tracks = append(s.tracks, &track{s: s, name: "program", program: true, stream: st, reader: st.NewReader(2048)})
}

func (s *session) run() {
	s.writeJSON()
	for _, t := range s.tracks {
		s.wg.Add(1)
		s.writers.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.writers.Done()
			t.run()
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.housekeep()
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
// arrives after it (within endGrace), and nothing from after it, so the
// program and the cameras end together in an editor. A stop on its own
// (disk full, a write error) closes the files at once.
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
// every few seconds so that after a crash they describe the files on disk.
func (s *session) housekeep() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-s.ctx.Done():
			return
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

func (s *session) addSwitch(sw Switch) {
	s.mu.Lock()
	if n := len(s.switches); sw.Kind == "cut" && n > 0 && s.switches[n-1].To == sw.To {
		s.mu.Unlock()
		return // already on program: nothing changed
	}
	s.switches = append(s.switches, sw)
	s.mu.Unlock()
	s.writeJSON()
	s.writeEditLists()
}

// programTime maps a program PTS to session time.
func (s *session) programTime(pts time.Duration) time.Duration {
	return s.rec.opts.ProgramEpoch().Add(pts).Sub(s.start)
}

// anchorWindow is how long a camera's units are held at the start of its
// recording to find its clock: the least-delayed video frame in it sets the
// anchor, so a publisher's bursts do not shift the file.
const anchorWindow = time.Second

type arrived struct {
	u  *media.Unit
	at time.Duration // session time of arrival
}

func (t *track) run() {
	defer t.reader.Close()
	defer t.closeFile()
	var (
		held    []arrived
		minLat  time.Duration
		haveLat bool
		past    [2]bool // a video, an audio unit from after the end came (an operator's stop)
	)
	for {
		u, err := t.reader.Next(t.s.ctx)
		if err != nil {
			return
		}
		at := time.Since(t.s.start)
		end := time.Duration(t.s.endAt.Load())
		var batch []arrived
		switch {
		case t.program || t.anchored:
			batch = []arrived{{u, at}}
		default:
			held = append(held, arrived{u, at})
			if u.Track.Kind == media.KindVideo && (!haveLat || at-u.DTS < minLat) {
				minLat, haveLat = at-u.DTS, true
			}
			// a stop before the anchor window is over anchors on what came
			if !haveLat || (at-held[0].at < anchorWindow && end == 0) {
				continue
			}
			t.anchor, t.anchored = minLat, true
			batch, held = held, nil
		}
		for _, a := range batch {
			dts, pts := t.sessionTimes(a.u, a.at)
			if end > 0 && dts > end {
				past[kindIndex(a.u.Track)] = true
				continue
			}
			if err := t.write(a.u, dts, pts); err != nil {
				t.s.rec.log.Error("recording write failed; stopping the recording", "file", t.fileName(), "err", err)
				reason := "stopped: write error"
				if errors.Is(err, syscallENOSPC) {
					reason = "stopped: disk full"
				}
				t.s.rec.stopFor(t.s, reason)
				return
			}
		}
		if end > 0 && t.pastEnd(past) {
			return
		}
	}
}

func kindIndex(tr *media.Track) int {
	if tr.Kind == media.KindAudio {
		return 1
	}
	return 0
}

// pastEnd reports whether every track of the stream has sent a unit from
// after the session's end: nothing before it can come any more.
func (t *track) pastEnd(past [2]bool) bool {
	for _, tr := range t.stream.Tracks() {
		if k := tr.Kind; (k == media.KindVideo || k == media.KindAudio) && !past[kindIndex(tr)] {
			return false
		}
	}
	return true
}

// sessionTimes maps a unit's timestamps onto the session's timebase. The
// program runs on the mixer's clock. A camera runs on its own timestamps
// plus its anchor; when its video timeline jumps away from the arrival times
// (a new publisher, timestamps starting over) it is re-anchored, which leaves
// a gap in its file.
func (t *track) sessionTimes(u *media.Unit, at time.Duration) (dts, pts time.Duration) {
	if t.program {
		return t.s.programTime(u.DTS), t.s.programTime(u.PTS)
	}
	if u.Track.Kind == media.KindVideo && absDur(u.DTS+t.anchor-at) > time.Second {
		t.anchor = at - u.DTS
	}
	return u.DTS + t.anchor, u.PTS + t.anchor
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func (t *track) fileName() string {
	n := len(t.parts)
	if t.cur == nil {
		n++
	}
	if n <= 1 {
		return t.name + ".mp4"
	}
	return fmt.Sprintf("%s.part%d.mp4", t.name, n) // "." is not in source names: no clash
}

func (t *track) write(u *media.Unit, dts, pts time.Duration) error {
	if dts < 0 {
		return nil // before the session started
	}
	if t.cur == nil {
		if u.Track.Kind != media.KindVideo || !u.Key || (u.Track.Codec != media.CodecH264 && u.Track.Codec != media.CodecH265) {
			return nil
		}
		if err := t.openFile(u.Track); err != nil {
			return err
		}
	}
	err := t.cur.writeUnit(u, dts, pts)
	if errors.Is(err, errTrackChanged) {
		// new parameters (a camera restarted at another resolution): a new part file
		t.closeFile()
		if err := t.openFile(u.Track); err != nil {
			return err
		}
		err = t.cur.writeUnit(u, dts, pts)
	}
	if err == nil && t.cur.started {
		t.mu.Lock()
		p := &t.parts[len(t.parts)-1]
		p.StartS = t.cur.first.Seconds()
		p.EndS = max(p.EndS, dts.Seconds())
		t.mu.Unlock()
	}
	return err
}

func (t *track) openFile(video *media.Track) error {
	var audio *media.Track
	for _, tr := range t.stream.Tracks() {
		if recordsAudio(tr) {
			audio = tr
		}
	}
	name := t.fileName()
	w, err := newFileWriter(filepath.Join(t.s.dir, name), fileConfig{Video: video, Audio: audio, Fragment: t.s.rec.opts.Fragment, Wall0: t.s.start, Start: math.MinInt64})
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.cur = w
	p := partJSON{File: name, Video: fmt.Sprintf("%s %dx%d", video.Codec, video.Width, video.Height)}
	if audio != nil {
		p.Audio = fmt.Sprintf("%s %d Hz %d ch", audio.Codec, audio.SampleRate, audio.Channels)
		if audio.Codec == media.CodecPCMU || audio.Codec == media.CodecPCMA {
			p.Audio += " (as 16-bit PCM)"
		}
	}
	t.parts = append(t.parts, p)
	t.mu.Unlock()
	t.s.writeJSON()
	return nil
}

func (t *track) closeFile() {
	if t.cur == nil {
		return
	}
	if err := t.cur.close(); err != nil {
		t.s.rec.log.Error("closing recording file", "file", t.cur.path, "err", err)
	}
	t.mu.Lock()
	if n := len(t.parts); n > 0 && t.cur.started {
		t.parts[n-1].EndS = max(t.parts[n-1].EndS, t.cur.last.Seconds())
	}
	t.cur = nil
	t.mu.Unlock()
}

func (s *session) snapshot() sessionJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := sessionJSON{ID: s.id, State: s.state, StartedAt: s.start, Program: s.req.Program,
		FPS: fmt.Sprintf("%d/%d", s.rec.opts.FPSNum, s.rec.opts.FPSDen), Events: []eventJSON{}, Tracks: []trackJSON{}}
	if !s.stopped.IsZero() {
		st := s.stopped
		j.StoppedAt = &st
	}
	for _, t := range s.tracks {
		t.mu.Lock()
		j.Tracks = append(j.Tracks, trackJSON{Source: t.name, Files: append([]partJSON{}, t.parts...)})
		t.mu.Unlock()
	}
	for _, sw := range s.switches {
		ev := eventJSON{Kind: sw.Kind, From: sw.From, To: sw.To, DurationS: sw.Duration.Seconds()}
		if sw.PTS >= 0 {
			ev.TimeS = s.programTime(sw.PTS).Seconds()
		}
		j.Events = append(j.Events, ev)
	}
	return j
}

// writeJSON writes session.json atomically.
func (s *session) writeJSON() {
	b, err := json.MarshalIndent(s.snapshot(), "", "  ")
	if err == nil {
		err = writeAtomic(filepath.Join(s.dir, "session.json"), b)
	}
	if err != nil {
		s.rec.log.Error("writing session.json", "session", s.id, "err", err)
	}
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func (s *session) info() Info {
	return infoOf(s.snapshot(), s.dir)
}

func infoOf(j sessionJSON, dir string) Info {
	in := Info{ID: j.ID, State: j.State, StartedAt: j.StartedAt, StoppedAt: j.StoppedAt, Files: []FileInfo{}}
	end := time.Now()
	if j.StoppedAt != nil {
		end = *j.StoppedAt
	}
	in.DurationS = end.Sub(j.StartedAt).Seconds()
	media := map[string]FileInfo{}
	for _, t := range j.Tracks {
		for _, p := range t.Files {
			media[p.File] = FileInfo{Source: t.Source, StartS: p.StartS, DurationS: max(p.EndS-p.StartS, 0)}
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
