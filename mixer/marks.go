package mixer

import (
	"math"
	"time"

	"switchyard/mixer/audio"
	"switchyard/mixer/clock"
)

// What the program showed, for edit lists: the switch log (OnSwitch) says
// for each change which source timestamp each bus showed at its first
// frame, and a key frame asked for (KeyFrameNext) marks a frame a
// recording can start on, with everything on the program then. A recorder
// maps those timestamps into its camera files, so an edit list points at
// the very frames that aired, whatever the jitter buffer and B-frames.

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
func (e *Engine) KeyFrameNext() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.keyAt = e.current + 1
	return e.cfg.frameTime(e.keyAt)
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

// keyEventLocked is the KindKey event of frame n (under mu): the buses,
// then every other source.
func (e *Engine) keyEventLocked(n int64, inA, inB *input, shownA, shownB bool) SwitchEvent {
	at := e.cfg.frameTime(n)
	ev := SwitchEvent{PTS: at, Kind: KindKey, To: e.bus.Program()}
	if e.bus.Active() != nil {
		ev.From, ev.To = e.bus.Program(), e.bus.Preview()
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
	for _, in := range e.audioIns {
		add(in, false)
	}
	return ev
}

// audioEventLocked is the KindAudio event of a change of in's settings,
// taking effect on the next frame (under mu).
func (e *Engine) audioEventLocked(in *input) {
	at := e.cfg.frameTime(e.current + 1)
	e.switches = append(e.switches, SwitchEvent{PTS: at, Kind: KindAudio, To: in.name,
		Sources: []SourceTime{{Name: in.name, PTS: soundPTS(in, at), Audio: heardAs(in)}}})
}

// SourceOffset returns what a source's timestamps map to on the program
// clock now: a picture with timestamp pts is due on the program at pts plus
// the offset (its clock mapping and jitter buffer, timing.go), its sound
// read then too. False for an unknown source or one not yet timed.
func (e *Engine) SourceOffset(name string) (time.Duration, bool) {
	e.mu.Lock()
	in := e.inputs[name]
	e.mu.Unlock()
	if in == nil {
		return 0, false
	}
	in.cmap.mu.Lock()
	anchored := in.cmap.anchored
	in.cmap.mu.Unlock()
	if !anchored {
		return 0, false
	}
	return in.cmap.offset() + in.jitter(), true
}

// airing follows the program source's pictures from frame to frame (under
// the engine's mu, by the tick): a camera of the program's frame rate airs
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

func (a *airing) next(e *Engine, n int64, in *input, shown bool) {
	pts := noPTS
	if shown && in != nil {
		pts = time.Duration(in.shownPTS.Load())
	}
	prev, prevIn := a.pts, a.in
	a.in, a.pts = in, pts
	if in == nil || in != prevIn || e.lastProg != in.name {
		return // a cut: the switch log has it
	}
	jump := func(st SourceTime) {
		in.jumps.Add(1)
		e.switches = append(e.switches, SwitchEvent{PTS: e.cfg.frameTime(n), Kind: KindJump, From: in.name, To: in.name,
			Sources: []SourceTime{st}})
	}
	frame := e.cfg.FrameDuration()
	switch {
	case pts == noPTS && prev == noPTS: // still its slate
	case pts == noPTS: // its slate from here (no picture of it lately)
		jump(SourceTime{Name: in.name, PTS: soundPTS(in, e.cfg.frameTime(n))})
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

// Pieces returns where the program source's pictures spent their time on
// the way to the program, the median of the last 256 that aired new:
// decode, jitter buffer, the wait for their frame, compose, encode. What
// comes before (the network, the ingest) and after (packetising, the
// network to a viewer) is outside; camera-to-program latency measured from
// outside (make bench) is these and those.
func (e *Engine) Pieces() clock.Pieces { return e.ways.Pieces() }

// ResetPieces starts Pieces afresh (a new measurement).
func (e *Engine) ResetPieces() { e.ways.Reset() }
