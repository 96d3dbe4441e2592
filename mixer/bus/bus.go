// Package bus is the mixer's buses as a plain state machine: what is on
// program and on preview, the transition between them (automatic, or driven
// by the T-bar) and the fade to black, frame by frame. It knows no pictures
// and no FFmpeg: the engine asks it, at each frame it composes, what that
// frame shows (At), and commands say from which frame they take effect.
// It has no lock; its owner serialises the calls.
package bus

import (
	"time"

	"switchyard/internal/fault"
	"switchyard/media/color"
	"switchyard/mixer/clock"
)

// Black is the name of the always-available black source; both buses show
// it at the start.
const Black = "black"

// State is the bus state.
type State struct {
	Program string `json:"program"`
	Preview string `json:"preview"`
	// Frame is, after a command, the index of the first program frame that
	// shows its result (program frame n has PTS n × frame duration).
	Frame int64 `json:"frame"`
	// Transition is the default transition, or the one on air.
	Transition TransitionState `json:"transition"`
	// FTB is true while the program is faded (or fading) to black.
	FTB bool `json:"ftb"`
}

// Active is a transition on air: program → preview. The buses own it; a
// reader only reads it between their calls.
type Active struct {
	Transition Transition
	Color      color.YUV // of a dip
	Start      int64     // its first frame (position 0)
	Frames     int64     // its length (an automatic one)
	Manual     bool      // driven by the T-bar
	Pos        float64   // the T-bar's position
	// Seq numbers the transitions from 1, so a reader can tell a new one
	// that started at the same frame.
	Seq uint64
}

// Position is where the transition is at frame n (≥ 1: complete).
func (a *Active) Position(n int64) float64 {
	if a.Manual {
		return a.Pos
	}
	if a.Frames <= 0 {
		return 1
	}
	return float64(n-a.Start) / float64(a.Frames)
}

// Done is a transition that completed: the buses swapped.
type Done struct {
	Transition Transition
	Seq        uint64
	// Start is its first frame, At the first frame that shows To alone.
	Start, At int64
	From, To  string
}

// Shot is what one frame shows.
type Shot struct {
	Program, Preview string
	// Transition is the transition on air in this frame (nil: none), at
	// Position (0..1): Program going out, Preview coming in.
	Transition *Active
	Position   float64
	// FTB is how far the frame is faded to black (0: not, 1: black).
	FTB float64
}

// Buses is the state machine. Commands take at, the first frame that shows
// their result (the frame after the one being composed).
type Buses struct {
	// OnFinish, when set, is told of every transition that completes, from
	// the call that completed it (after the swap); it must return at once.
	OnFinish func(Done)

	rate             clock.Rate
	program, preview string
	def              Transition
	trans            *Active // nil when none is on air
	seq              uint64
	ftb              fade
}

// New returns buses at black, with the default transition, at rate (which
// turns durations into frames).
func New(rate clock.Rate) *Buses {
	return &Buses{rate: rate, program: Black, preview: Black, def: DefaultTransition}
}

// Program is the source on program.
func (b *Buses) Program() string { return b.program }

// Preview is the source on preview.
func (b *Buses) Preview() string { return b.preview }

// Active is the transition on air, or nil.
func (b *Buses) Active() *Active { return b.trans }

// Default is the transition AUTO and the T-bar run.
func (b *Buses) Default() Transition { return b.def }

// State is the buses' state after frame current.
func (b *Buses) State(current int64) State {
	st := State{Program: b.program, Preview: b.preview, Frame: current + 1, FTB: b.ftb.on,
		Transition: TransitionState{Transition: b.def}}
	if a := b.trans; a != nil {
		st.Transition = TransitionState{Transition: a.Transition, Active: true, Manual: a.Manual,
			Position: min(max(a.Position(current), 0), 1)}
	}
	return st
}

// At is what frame n shows. A transition whose position reaches 1 at n
// completes there: n is all preview, and the buses swap.
func (b *Buses) At(n int64) Shot {
	s := Shot{FTB: b.ftb.level(n)}
	if b.trans != nil {
		if p := b.trans.Position(n); p >= 1 {
			b.finish(n)
		} else {
			s.Transition, s.Position = b.trans, p
		}
	}
	s.Program, s.Preview = b.program, b.preview
	return s
}

// finish completes a running transition so that frame at is the first to
// show the preview alone; the buses swap.
func (b *Buses) finish(at int64) {
	a := b.trans
	if a == nil {
		return
	}
	d := Done{Transition: a.Transition, Seq: a.Seq, Start: a.Start, At: at, From: b.program, To: b.preview}
	b.program, b.preview = b.preview, b.program
	b.trans = nil
	if b.OnFinish != nil {
		b.OnFinish(d)
	}
}

func (b *Buses) start(t Transition, at int64) *Active {
	c, _ := color.ParseColor(t.Color)
	b.seq++
	b.trans = &Active{Transition: t, Color: c, Start: at, Seq: b.seq}
	return b.trans
}

// SetProgram hot-cuts the program to source name from frame at; a running
// transition completes first.
func (b *Buses) SetProgram(name string, at int64) {
	b.finish(at)
	b.program = name
}

// SetPreview selects the next source from frame at; a running transition
// completes first.
func (b *Buses) SetPreview(name string, at int64) {
	b.finish(at)
	b.preview = name
}

// Cut swaps preview and program at frame at. During a transition it
// finishes it at once (its preview goes to program), as a switcher's CUT does.
func (b *Buses) Cut(at int64) {
	if b.trans != nil {
		b.finish(at)
		return
	}
	b.program, b.preview = b.preview, b.program
}

// SetTransition sets the default transition; its empty fields keep the
// default's.
func (b *Buses) SetTransition(t Transition) error {
	t = t.WithDefaults(b.def)
	if err := t.Validate(); err != nil {
		return err
	}
	b.def = t
	return nil
}

// Auto runs a transition from program to preview, starting at frame at;
// fields left empty come from the default transition. A transition already
// running is finished first.
func (b *Buses) Auto(t Transition, at int64) error {
	t = t.WithDefaults(b.def)
	if err := t.Validate(); err != nil {
		return err
	}
	b.finish(at)
	b.start(t, at).Frames = b.rate.FramesIn(time.Duration(t.DurationMS) * time.Millisecond)
	return nil
}

// SetPosition moves the T-bar: 0..1 of the default transition from program to
// preview. Reaching 1 completes it (the buses swap); going back to 0 before
// that abandons it. It takes over a running automatic transition.
func (b *Buses) SetPosition(p float64, at int64) error {
	if !(p >= 0 && p <= 1) { // NaN too
		return &fault.Invalid{Field: "position", Msg: "position must be between 0 and 1"}
	}
	if b.trans == nil {
		if p == 0 {
			return nil
		}
		b.start(b.def, at)
	}
	b.trans.Manual = true
	b.trans.Pos = p
	switch {
	case p >= 1:
		b.finish(at)
	case p <= 0:
		b.trans = nil
	}
	return nil
}

// FTB fades program video and audio to black from frame at, or back up when
// already black, over the default transition's duration.
func (b *Buses) FTB(at int64) {
	lvl := b.ftb.level(at)
	on := !b.ftb.on
	to := 0.0
	if on {
		to = 1
	}
	b.ftb = fade{on: on, from: lvl, to: to, start: at,
		count: b.rate.FramesIn(time.Duration(b.def.DurationMS) * time.Millisecond)}
}

// Remove takes source name off the buses: a bus showing it goes to black.
func (b *Buses) Remove(name string) {
	if b.program == name {
		b.program = Black
	}
	if b.preview == name {
		b.preview = Black
	}
}

// fade is the fade-to-black state: level goes from `from` to `to` over frames.
type fade struct {
	on           bool
	from, to     float64
	start, count int64
}

func (f fade) level(n int64) float64 {
	if f.count <= 0 || n >= f.start+f.count {
		return f.to
	}
	if n <= f.start {
		return f.from
	}
	return f.from + (f.to-f.from)*float64(n-f.start)/float64(f.count)
}
