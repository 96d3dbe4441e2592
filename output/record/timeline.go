package record

import (
	"math"
	"sort"
	"time"

	"switchyard/media"
)

// The edit lists are made from one timeline: the program's stretches of
// each source, in session frames (frame 0 is the session's first, the first
// of program.mp4), each pointing at the file frames of the source that
// aired. Where the mixer said which picture it showed (the switch events'
// source timestamps) the file frames are found from that timestamp, so they
// are the frames that aired whatever the jitter buffer and B-frames; else
// the camera file is taken at the same session time (it is timed as the
// program airs it when the mixer's mapping was to be had).

// clipRef points at the frames of a file: frame src of part at the
// event's first record frame, on in the file frame for frame.
type clipRef struct {
	source string
	part   *partJSON // nil: nothing recorded (black in the edit list)
	src    int64     // the file's frame at the event's first record frame
}

// event is a stretch of the program, session frames [rec0, rec1).
type event struct {
	rec0, rec1 int64
	clip       clipRef
	kind       string  // how it came in: cut or a transition type
	from       clipRef // a transition's outgoing source at rec0
	dur        int64   // a transition's frames
}

// audioEvent is a stretch of a source's sound in the program.
type audioEvent struct {
	event
	always bool // heard whatever is on program (mode on)
}

// soundTracks splits the sound events as the edit lists lay them out: the
// program's (sources heard with their picture, afv) on one track, and each
// source heard always on its own, in the order they first sound.
func (tl timeline) soundTracks() (afv []event, always map[string][]event, order []string) {
	always = map[string][]event{}
	for _, a := range tl.audio {
		if !a.always {
			afv = append(afv, a.event)
			continue
		}
		if always[a.clip.source] == nil {
			order = append(order, a.clip.source)
		}
		always[a.clip.source] = append(always[a.clip.source], a.event)
	}
	return afv, always, order
}

// timeline is what every edit list is made from.
type timeline struct {
	title    string
	clock    clock
	recStart int64 // the program file's first frame (0 when it starts with the session)
	end      int64 // the frame after the last
	events   []event
	audio    []audioEvent
	markers  []Marker
	files    map[string][]partJSON
	program  *partJSON
	width    int
	height   int
}

func (tl timeline) fps() float64 { return tl.clock.fps() }

// segment is a source's stretch of the program before it is cut up by its
// files' coverage.
type segment struct {
	source string
	n0, n1 int64
	kind   string
	from   string
	dur    int64
	// where the source and the outgoing source stood: a timestamp aired at
	// a frame
	at, fromAt *shownAt
	slate      bool // the source's slate aired (no picture of it)
}

type shownAt struct {
	pts   time.Duration
	frame int64
}

func (s *session) timeline() timeline {
	j := s.snapshot()
	s.mu.Lock()
	switches := append([]Switch(nil), s.switches...)
	s.mu.Unlock()
	tl := timeline{title: "Switchyard " + j.ID, clock: s.clock, files: map[string][]partJSON{}, markers: j.Markers}
	if st := s.rec.opts.Program; st != nil {
		for _, tr := range st.Tracks() {
			if tr.Kind == media.KindVideo {
				tl.width, tl.height = tr.Width, tr.Height
			}
		}
	}
	var endS float64
	for _, t := range j.Tracks {
		tl.files[t.Source] = t.Files
		for _, p := range t.Files {
			endS = math.Max(endS, p.EndS)
		}
	}
	if prog := tl.files["program"]; len(prog) > 0 && s.req.Program {
		tl.program = &prog[0]
		tl.recStart = max(prog[0].StartFrame, 0)
		endS = prog[len(prog)-1].EndS
	} else if j.StoppedAt != nil {
		endS = j.StoppedAt.Sub(j.StartedAt).Seconds()
	} else {
		endS = math.Max(endS, time.Since(s.start).Seconds())
	}
	tl.end = int64(math.Round(endS * tl.fps())) // the program's frames end on a frame
	if tl.end <= tl.recStart {
		return tl
	}
	segs := s.segments(switches, tl.recStart)
	for i := range segs {
		if i+1 < len(segs) {
			segs[i].n1 = segs[i+1].n0
		} else {
			segs[i].n1 = tl.end
		}
	}
	var prev *segment
	for i := range segs {
		g := &segs[i]
		if g.n1 <= g.n0 {
			continue
		}
		tl.events = append(tl.events, tl.place(s, g, prev)...)
		prev = g
	}
	if j.StoppedAt == nil {
		// while recording, a camera's file is a jitter buffer behind the
		// program's: the program's last frames are not yet in it, not black
		for n := len(tl.events); n > 0; n-- {
			ev := tl.events[n-1]
			if ev.clip.part != nil || len(tl.files[ev.clip.source]) == 0 || ev.rec1-ev.rec0 > int64(tl.fps()) {
				break
			}
			tl.events, tl.end = tl.events[:n-1], ev.rec0
		}
	}
	tl.audio = tl.sound(s, switches)
	return tl
}

// segments turns the switch log into the program's stretches from frame
// recStart on.
func (s *session) segments(switches []Switch, recStart int64) []segment {
	sort.SliceStable(switches, func(i, j int) bool { return switches[i].PTS < switches[j].PTS })
	var segs []segment
	for _, sw := range switches {
		if sw.Kind == SwitchAudio {
			continue
		}
		n := recStart
		if sw.PTS != initialPTS {
			n = max(s.clock.frameOf(s.programTime(sw.PTS)), recStart)
		}
		g := segment{source: sw.To, n0: n, kind: sw.Kind, from: sw.From, dur: s.clock.frameOf(sw.Duration)}
		for _, st := range sw.Sources {
			if !st.Shown {
				continue
			}
			at := &shownAt{pts: st.PTS, frame: n}
			if sw.PTS != initialPTS {
				at.frame = s.clock.frameOf(s.programTime(sw.PTS))
			}
			switch st.Name {
			case sw.To:
				g.at = at
			case sw.From:
				g.fromAt = at
			}
		}
		if sw.Kind == SwitchJump {
			// the same source anew (or its slate) from this frame
			last := len(segs) - 1
			if last < 0 || segs[last].source != sw.To {
				continue
			}
			g.kind, g.from, g.fromAt, g.dur = "cut", "", nil, 0
			g.slate = g.at == nil
		}
		if sw.Kind == SwitchKey {
			// the frame a recording starts on: what was on program then,
			// with the picture aired
			g.kind, g.from, g.fromAt = "cut", "", nil
			if last := len(segs) - 1; last >= 0 && segs[last].source == g.source {
				if g.at != nil {
					segs[last].at = g.at
				}
				continue
			}
		}
		if sw.Kind != "cut" && sw.Kind != SwitchKey && g.dur <= 0 {
			g.kind = "cut"
		}
		// a later switch at the same frame replaces the stretch before it
		for len(segs) > 0 && segs[len(segs)-1].n0 >= n {
			segs = segs[:len(segs)-1]
		}
		segs = append(segs, g)
	}
	return segs
}

// sessionAt is the session time of the source frame the program showed at
// frame n of segment g: from the picture aired, or the same session time.
func (tl timeline) sessionAt(source string, at *shownAt, n int64) (time.Duration, *partJSON) {
	if at != nil {
		for i := range tl.files[source] {
			p := &tl.files[source][i]
			off, ok := p.anchorAt(tl.frameTime(at.frame))
			if !ok {
				continue
			}
			s := at.pts + off + tl.frameTime(n) - tl.frameTime(at.frame)
			if s >= secsDur(p.StartS)-tl.frameTime(1)/2 && s < secsDur(p.EndS)+tl.frameTime(1) {
				return s, p
			}
		}
		// not in a file: its time all the same, for the files after
		if ps := tl.files[source]; len(ps) > 0 {
			if off, ok := ps[len(ps)-1].anchorAt(tl.frameTime(at.frame)); ok {
				return at.pts + off + tl.frameTime(n) - tl.frameTime(at.frame), nil
			}
		}
	}
	return tl.frameTime(n), nil
}

// anchorAt is the camera-to-session mapping of a file in force at session
// time t.
func (p *partJSON) anchorAt(t time.Duration) (time.Duration, bool) {
	if len(p.Anchors) == 0 {
		return 0, false
	}
	a := p.Anchors[0].OffsetNS
	for _, x := range p.Anchors[1:] {
		if secsDur(x.SinceS) <= t+time.Second {
			a = x.OffsetNS
		}
	}
	return time.Duration(a), true
}

func secsDur(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

func (tl timeline) frameTime(n int64) time.Duration {
	return time.Duration(n * int64(tl.clock.den) * int64(time.Second) / int64(tl.clock.num))
}

// fileFrames is how many frames a file holds: of pictures, whole frames;
// of sound only, every frame it sounds in (an editor pads the rest).
func (tl timeline) fileFrames(p *partJSON) int64 {
	x := (p.EndS - p.StartS) * tl.fps()
	if p.Video == "" {
		return int64(math.Ceil(x - 1e-6))
	}
	return int64(math.Round(x))
}

// fileFrame is the frame of file p at session time s.
func (tl timeline) fileFrame(p *partJSON, s time.Duration) int64 {
	return int64(math.Round((s - secsDur(p.StartS)).Seconds() * tl.fps()))
}

// place cuts segment g into events by its source's files: where no file
// holds the frames it aired, black.
func (tl timeline) place(s *session, g, prev *segment) []event {
	if g.slate {
		return []event{{rec0: g.n0, rec1: g.n1, clip: clipRef{source: g.source}, kind: "cut"}}
	}
	var out []event
	s0, _ := tl.sessionAt(g.source, g.at, g.n0)
	// the files' coverage, in program frames of this segment
	type run struct {
		n0, n1 int64
		p      *partJSON
		src    int64
	}
	var runs []run
	for i := range tl.files[g.source] {
		p := &tl.files[g.source][i]
		if p.StartS == 0 && p.EndS == 0 {
			continue
		}
		idx := tl.fileFrame(p, s0) // the file frame at g.n0
		a := max(g.n0, g.n0-idx)
		b := min(g.n1, g.n0+tl.fileFrames(p)-idx)
		if b > a {
			runs = append(runs, run{a, b, p, idx + a - g.n0})
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].n0 < runs[j].n0 })
	n := g.n0
	emit := func(n0, n1 int64, c clipRef) {
		ev := event{rec0: n0, rec1: n1, clip: c, kind: "cut"}
		if n0 == g.n0 && g.kind != "cut" && g.dur > 0 && prev != nil {
			ev.kind, ev.dur = g.kind, g.dur
			fromAt := g.fromAt
			if fromAt == nil {
				fromAt = prev.at
			}
			fs, fp := tl.sessionAt(g.from, fromAt, g.n0)
			ev.from = clipRef{source: g.from}
			if fp != nil {
				ev.from.part, ev.from.src = fp, tl.fileFrame(fp, fs)
			}
		}
		out = append(out, ev)
	}
	for _, r := range runs {
		if r.n0 < n {
			r.src += n - r.n0
			r.n0 = n
		}
		if r.n1 <= r.n0 {
			continue
		}
		if r.n0 > n {
			emit(n, r.n0, clipRef{source: g.source})
		}
		emit(r.n0, r.n1, clipRef{source: g.source, part: r.p, src: r.src})
		n = r.n1
	}
	if n < g.n1 {
		emit(n, g.n1, clipRef{source: g.source})
	}
	return out
}

// sound lists the program's sound by source: with its picture for a
// source heard with it (afv), where its file has sound; over the whole
// time for one heard always (on).
func (tl timeline) sound(s *session, switches []Switch) []audioEvent {
	type change struct {
		frame int64
		mode  string
	}
	modes := map[string][]change{}
	for _, sw := range switches {
		if sw.Kind != SwitchKey && sw.Kind != SwitchAudio {
			continue
		}
		n := s.clock.frameOf(s.programTime(sw.PTS))
		for _, st := range sw.Sources {
			modes[st.Name] = append(modes[st.Name], change{n, st.Audio})
		}
	}
	modeAt := func(source string, n int64) string {
		m := "afv" // what the mixer does unless told: sound follows the picture
		for _, c := range modes[source] {
			if c.frame <= n {
				m = c.mode
			}
		}
		return m
	}
	var out []audioEvent
	for _, ev := range tl.events {
		if ev.clip.part == nil || ev.clip.part.Audio == "" {
			continue
		}
		// cut at the changes of its mode within the event
		bounds := []int64{ev.rec0}
		for _, c := range modes[ev.clip.source] {
			if c.frame > ev.rec0 && c.frame < ev.rec1 {
				bounds = append(bounds, c.frame)
			}
		}
		bounds = append(bounds, ev.rec1)
		for i := 0; i+1 < len(bounds); i++ {
			if modeAt(ev.clip.source, bounds[i]) != "afv" {
				continue
			}
			a := ev
			a.rec0, a.rec1 = bounds[i], bounds[i+1]
			a.clip.src += bounds[i] - ev.rec0
			if i > 0 {
				a.kind, a.dur, a.from = "cut", 0, clipRef{}
			}
			out = append(out, audioEvent{event: a})
		}
	}
	// sources heard always: their files at the same session time
	names := make([]string, 0, len(modes))
	for name := range modes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var from int64 = -1
		flush := func(to int64) {
			if from < 0 || to <= from {
				return
			}
			g := segment{source: name, n0: from, n1: to, kind: "cut"}
			for _, e := range tl.place(s, &g, nil) {
				if e.clip.part != nil && e.clip.part.Audio != "" {
					out = append(out, audioEvent{event: e, always: true})
				}
			}
		}
		for _, c := range modes[name] {
			f := max(c.frame, tl.recStart)
			switch {
			case c.mode == "on" && from < 0:
				from = f
			case c.mode != "on" && from >= 0:
				flush(f)
				from = -1
			}
		}
		flush(tl.end)
	}
	return out
}
