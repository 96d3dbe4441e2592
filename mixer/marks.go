package mixer

import (
	"math"
	"time"

	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
)

// What the program showed, for edit lists: the switch log (OnSwitch) says
// for each change which source timestamp each bus showed at its first
// frame, and a key frame asked for (KeyFrameNext) marks a frame a
// recording can start on, with everything on the program then. A recorder
// maps those timestamps into its camera files, so an edit list points at
// the very frames that aired, whatever the jitter buffer and B-frames.

// switchLog is the switch log: the events of the frames composed, waiting
// to be handed to OnSwitch after the tick's lock, and what it needs to tell
// them — where the transition on air's sources stood at its first frame,
// the program source of the last frame, its pictures frame to frame, the
// key frame asked for. All of it under the switcher's mu: the commands and
// the tick write it in the same critical sections as the buses they tell
// of (bus is the switcher's, read only here).
type switchLog struct {
	cfg      Config
	bus      *bus.Buses
	tmarks   transMarks    // where the transition on air's sources stood at its first frame
	lastProg string        // the program source of the last frame
	keyAt    int64         // the frame KeyFrameNext made a key frame (-1: none)
	airing   airing        // the program source's pictures, frame to frame
	pending  []SwitchEvent // to hand to OnSwitch after the tick's lock
}

func newSwitchLog(cfg Config, b *bus.Buses) switchLog {
	return switchLog{cfg: cfg, bus: b, lastProg: Black, keyAt: -1}
}

// frame notes what frame n shows (shot; the program's input inA and the
// incoming one's inB, with whether each showed a picture; the sources
// ins) and returns whether it is a key frame asked for.
func (l *switchLog) frame(n int64, shot bus.Shot, inA, inB *input, shownA, shownB bool, ins []*input) (key bool) {
	trans := shot.Transition
	if trans != nil && l.tmarks.seq != trans.Seq {
		// where both sources stood at its first frame
		l.tmarks = transMarks{seq: trans.Seq}
		if inA != nil {
			l.tmarks.at[0], l.tmarks.atSource[0] = shownTime(inA, shownA, l.cfg.frameTime(n)), true
		}
		if inB != nil {
			l.tmarks.at[1], l.tmarks.atSource[1] = shownTime(inB, shownB, l.cfg.frameTime(n)), true
		}
	}
	if trans == nil && shot.Program != l.lastProg {
		ev := SwitchEvent{PTS: l.cfg.frameTime(n), Kind: "cut", From: l.lastProg, To: shot.Program}
		if inA != nil {
			ev.Sources = []SourceTime{shownTime(inA, shownA, ev.PTS)}
		}
		l.pending = append(l.pending, ev)
		l.lastProg = shot.Program
	}
	if trans == nil {
		l.airing.next(l, n, inA, shownA)
	} else { // the transition's event says what it aired; what follows goes on from its incoming source
		l.airing.follow(inB, shownB)
		if inB != nil && shownB {
			l.tmarks.lastB, l.tmarks.lastBFrame, l.tmarks.haveB = time.Duration(inB.shownPTS.Load()), n, true
		}
	}
	if l.keyAt >= 0 && n >= l.keyAt {
		key = true
		l.keyAt = -1
		l.pending = append(l.pending, l.keyEvent(n, inA, inB, shownA, shownB, ins))
	}
	return key
}

// stingerCut notes, for frame n of a stinger on air (after frame), whether
// it shows To under the clip (cut), and To's picture (inB, shownB): the
// first such frame is its switch event's; the T-bar going back before the
// cut forgets it.
func (l *switchLog) stingerCut(n int64, cut bool, inB *input, shownB bool) {
	switch m := &l.tmarks; {
	case cut && m.stingCut == 0:
		m.stingCut = n + 1
		if inB != nil {
			m.stingCutAt, m.stingCutHave = shownTime(inB, shownB, l.cfg.frameTime(n)), true
		}
	case !cut:
		m.stingCut, m.stingCutHave = 0, false
	}
}

// take returns the events waiting, for OnSwitch (nil: none).
func (l *switchLog) take() []SwitchEvent {
	var evs []SwitchEvent
	if len(l.pending) > 0 {
		evs, l.pending = l.pending, nil
	}
	return evs
}

// finished logs a completed transition with the time it really took; the
// program is then program.
func (l *switchLog) finished(d bus.Done, program string) {
	ev := SwitchEvent{PTS: l.cfg.frameTime(d.Start), Kind: d.Transition.Type, From: d.From, To: d.To,
		Duration: l.cfg.frameTime(max(d.At, d.Start)) - l.cfg.frameTime(d.Start)}
	if d.Transition.Type == bus.TransStinger {
		// the edit lists get what the program did under the clip: a cut, at
		// the frame it happened (or where the stinger ended, cut short)
		ev.PTS, ev.Duration = l.cfg.frameTime(d.At), 0
		if m := &l.tmarks; m.seq == d.Seq && m.stingCut > 0 {
			ev.PTS = l.cfg.frameTime(m.stingCut - 1)
			if m.stingCutHave {
				ev.Sources = []SourceTime{m.stingCutAt}
			}
		}
	} else if m := &l.tmarks; m.seq == d.Seq {
		if m.haveB && m.atSource[1] && m.at[1].Shown {
			m.at[1].PTS = m.lastB - l.cfg.frameTime(m.lastBFrame-d.Start)
		}
		for i := range m.at {
			if m.atSource[i] {
				ev.Sources = append(ev.Sources, m.at[i])
			}
		}
	}
	l.tmarks = transMarks{}
	l.pending = append(l.pending, ev)
	l.lastProg = program
}

// Kinds of SwitchEvent besides cut and the transition types.
const (
	// KindKey marks the frame KeyFrameNext made a key frame.
	KindKey = "key"
	// KindAudio marks a change of a source's audio mode or mute; it takes
	// effect on the event's frame.
	KindAudio = "audio"
	// KindJump marks a program frame whose picture of the program source
	// is not the one after the last frame's: the source's mapping to the
	// program clock moved (its pictures came later or earlier than they
	// had), or a picture came too late and the last one was shown again.
	// An edit list takes the source anew from there.
	KindJump = "jump"
)

// SourceTime is where a source stood at an event's frame.
type SourceTime struct {
	Name string
	// PTS is the source timestamp of the picture the program showed of it
	// (Shown), else of the sound the program read of it then.
	PTS   time.Duration
	Shown bool
	// Audio is how the program hears it from then on: audio.ModeAFV (with its
	// picture), audio.ModeOn (always), or "" (muted or off). Set in key and
	// audio events.
	Audio string
}

// KeyFrameNext makes the next program frame a key frame (a recording's
// first) and returns its PTS. That frame's tick hands OnSwitch a KindKey
// event whose Sources are the program source (and, during a transition,
// the preview source) with the pictures shown, and every other source
// with where its sound is read and how it is heard.
func (s *Switcher) KeyFrameNext() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks.keyAt = s.current + 1
	return s.cfg.frameTime(s.marks.keyAt)
}

// heardAs is how the program hears a source (under mu).
func heardAs(in *input) string {
	if in.mix.Mute || in.mix.Mode == audio.ModeOff {
		return ""
	}
	return in.mix.Mode
}

// soundPTS is the source time of in's sound mixed at program time at.
func soundPTS(in *input, at time.Duration) time.Duration {
	return at - in.cmap.offset() - in.soundJitter()
}

// shownTime is where a bus source stood at the frame at program time at:
// the picture on show, or its sound when it showed none (a slate).
func shownTime(in *input, shown bool, at time.Duration) SourceTime {
	st := SourceTime{Name: in.name, PTS: soundPTS(in, at)}
	if p := time.Duration(in.shownPTS.Load()); shown && p != noPTS {
		st.PTS, st.Shown = p, true
	}
	return st
}

// keyEvent is the KindKey event of frame n: the buses, then every other
// source (ins).
func (l *switchLog) keyEvent(n int64, inA, inB *input, shownA, shownB bool, ins []*input) SwitchEvent {
	at := l.cfg.frameTime(n)
	ev := SwitchEvent{PTS: at, Kind: KindKey, To: l.bus.Program()}
	if l.bus.Active() != nil {
		ev.From, ev.To = l.bus.Program(), l.bus.Preview()
	}
	seen := map[*input]bool{}
	add := func(in *input, shown bool) {
		if in == nil || seen[in] {
			return
		}
		seen[in] = true
		st := shownTime(in, shown, at)
		st.Audio = heardAs(in)
		ev.Sources = append(ev.Sources, st)
	}
	add(inA, shownA)
	add(inB, shownB)
	for _, in := range ins {
		add(in, false)
	}
	return ev
}

// audioEvent logs the KindAudio event of a change of in's settings,
// taking effect on frame n.
func (l *switchLog) audioEvent(in *input, n int64) {
	at := l.cfg.frameTime(n)
	l.pending = append(l.pending, SwitchEvent{PTS: at, Kind: KindAudio, To: in.name,
		Sources: []SourceTime{{Name: in.name, PTS: soundPTS(in, at), Audio: heardAs(in)}}})
}

// SourceOffset returns what a source's timestamps map to on the program
// clock now: a picture with timestamp pts is due on the program at pts plus
// the offset (its clock mapping and jitter buffer, timing.go), its sound
// read then too. False for an unknown source or one not yet timed.
func (s *Switcher) SourceOffset(name string) (time.Duration, bool) {
	s.mu.Lock()
	in := s.ins.m[name]
	s.mu.Unlock()
	if in == nil {
		return 0, false
	}
	return in.offsetNow()
}

// offsetNow is what its timestamps map to on the program clock now
// (SourceOffset).
func (in *input) offsetNow() (time.Duration, bool) {
	in.cmap.mu.Lock()
	anchored := in.cmap.anchored
	in.cmap.mu.Unlock()
	if !anchored {
		return 0, false
	}
	return in.cmap.offset() + in.jitter(), true
}

// airing follows the program source's pictures from frame to frame (in
// the switch log, by the tick): a camera of the program's frame rate airs
// one picture a frame, each its frame duration after the last; any other
// step is a jump in what aired, which the switch log says (KindJump). It
// allocates only then.
type airing struct {
	in  *input
	pts time.Duration
}

// jumpTol is how far a picture's step may be from a frame and still be
// the next picture (RTMP rounds timestamps to the millisecond).
const stepTol = 2 * time.Millisecond

// follow notes what a source aired without a word: the incoming source of
// a transition, which the program source is when it ends.
func (a *airing) follow(in *input, shown bool) {
	a.in, a.pts = in, noPTS
	if shown && in != nil {
		a.pts = time.Duration(in.shownPTS.Load())
	}
}

func (a *airing) next(l *switchLog, n int64, in *input, shown bool) {
	pts := noPTS
	if shown && in != nil {
		pts = time.Duration(in.shownPTS.Load())
	}
	prev, prevIn := a.pts, a.in
	a.in, a.pts = in, pts
	if in == nil || in != prevIn || l.lastProg != in.name {
		return // a cut: the switch log has it
	}
	jump := func(st SourceTime) {
		in.jumps.Add(1)
		l.pending = append(l.pending, SwitchEvent{PTS: l.cfg.frameTime(n), Kind: KindJump, From: in.name, To: in.name,
			Sources: []SourceTime{st}})
	}
	frame := l.cfg.FrameDuration()
	switch {
	case pts == noPTS && prev == noPTS: // still its slate
	case pts == noPTS: // its slate from here (no picture of it lately)
		jump(SourceTime{Name: in.name, PTS: soundPTS(in, l.cfg.frameTime(n))})
	case prev == noPTS: // its pictures again
		jump(SourceTime{Name: in.name, PTS: pts, Shown: true})
	default:
		if fps := float64(in.fpsMilli.Load()) / 1000; fps <= 0 || math.Abs(fps*float64(frame)/float64(time.Second)-1) > 0.001 {
			return // another rate than the program's: its cadence repeats or skips by design
		}
		if step := pts - prev; step < frame-stepTol || step > frame+stepTol {
			jump(SourceTime{Name: in.name, PTS: pts, Shown: true})
		}
	}
}
