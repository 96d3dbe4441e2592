package mixer

import (
	"fmt"
	"time"

	"switchyard/mixer/bus"
)

// The bus commands: each takes effect from the next frame (e.current+1),
// under mu; the buses (package bus) are the state, the engine checks the
// sources and keeps what the edit lists need.

// transMarks is where the sources of the transition on air stood at its
// first frame, noted by that frame's compose for its switch event.
type transMarks struct {
	seq      uint64 // the transition's (bus.Active.Seq); 0: none noted
	at       [2]SourceTime
	atSource [2]bool
	// To's picture on its latest frame: To's timestamp at the first frame
	// is told on the line of it (a source just put on preview may pass over
	// pictures in the first frames, and its latest weighs most)
	lastB      time.Duration
	lastBFrame int64
	haveB      bool
	// a stinger's cut: the first frame showing To under the clip, plus one
	// (0: not yet, or the T-bar went back before it), and To's picture there
	stingCut     int64
	stingCutAt   SourceTime
	stingCutHave bool
}

// finished logs a completed transition with the time it really took (the
// buses' OnFinish, under mu).
func (e *Engine) finished(d bus.Done) {
	e.busesMoved()
	e.marks.finished(d, e.bus.Program())
	if e.stingAir != nil { // its pictures go with it (kept as the last loaded)
		e.stingLast, e.stingAir = e.stingAir, nil
	}
}

// SwitchEvent is one change of what the program shows, for edit lists.
type SwitchEvent struct {
	// PTS of the first program frame of the change.
	PTS time.Duration
	// Kind is cut, the transition type, KindKey or KindAudio (marks.go).
	// A stinger is told as the cut under it: at the frame it happened,
	// with no Duration, and To's picture there in Sources.
	Kind     string
	From, To string
	// Duration of a transition.
	Duration time.Duration
	// Sources says where the sources stood at the first frame: for a cut
	// To's picture; for a transition From's and To's; for KindKey and
	// KindAudio see marks.go.
	Sources []SourceTime
}

func (e *Engine) stateLocked() bus.State { return e.bus.State(e.current) }

// State returns the bus state.
func (e *Engine) State() bus.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stateLocked()
}

func (e *Engine) known(name string) bool { return e.ins.known(name) }

// SetProgram hot-cuts the program to a source; it shows from the next tick,
// whose index the returned state's Frame gives.
func (e *Engine) SetProgram(name string) (bus.State, error) {
	defer e.changes.Changed(ChangedBuses)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.known(name) {
		return bus.State{}, fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	e.bus.SetProgram(name, e.current+1)
	return e.stateLocked(), nil
}

// SetPreview selects the next source.
func (e *Engine) SetPreview(name string) (bus.State, error) {
	defer e.changes.Changed(ChangedBuses)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.known(name) {
		return bus.State{}, fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	e.bus.SetPreview(name, e.current+1)
	return e.stateLocked(), nil
}

// Cut swaps preview and program at the next tick. During a transition it
// finishes it at once (its preview goes to program), as a switcher's CUT does.
func (e *Engine) Cut() bus.State {
	defer e.changes.Changed(ChangedBuses)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bus.Cut(e.current + 1)
	return e.stateLocked()
}

// SetTransition sets the default transition used by Auto and the T-bar.
// A stinger's clip is decoded here, before it returns (stinger.go).
func (e *Engine) SetTransition(t bus.Transition) (bus.State, error) {
	defer e.changes.Changed(ChangedBuses)
	t, c, err := e.stingerFor(t.WithDefaults(e.defaultTransition()))
	if err != nil {
		return bus.State{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.bus.SetTransition(t); err != nil {
		return bus.State{}, err
	}
	e.stingDef = c
	return e.stateLocked(), nil
}

// DefaultTransition is what AUTO runs when a call leaves fields out.
func (e *Engine) DefaultTransition() bus.Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bus.Default()
}

// Auto runs a transition from program to preview, starting on the next frame;
// fields left empty come from the default transition. A transition already
// running is finished first. A stinger's clip is decoded before it starts
// (or reused when it is the default's).
func (e *Engine) Auto(t bus.Transition) (bus.State, error) {
	defer e.changes.Changed(ChangedBuses)
	t, c, err := e.stingerFor(t.WithDefaults(e.defaultTransition()))
	if err != nil {
		return bus.State{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.bus.Auto(t, e.current+1); err != nil {
		return bus.State{}, err
	}
	e.stingAir = c
	return e.stateLocked(), nil
}

// SetPosition moves the T-bar: 0..1 of the default transition from program to
// preview. Reaching 1 completes it (the buses swap); going back to 0 before
// that abandons it. It takes over a running automatic transition.
func (e *Engine) SetPosition(p float64) (bus.State, error) {
	defer e.changes.Changed(ChangedBuses)
	e.mu.Lock()
	defer e.mu.Unlock()
	idle := e.bus.Active() == nil
	if err := e.bus.SetPosition(p, e.current+1); err != nil {
		return bus.State{}, err
	}
	if a := e.bus.Active(); idle && a != nil && a.Transition.Type == bus.TransStinger {
		e.stingAir = e.stingDef // the T-bar runs the default transition
	}
	return e.stateLocked(), nil
}

// BusesMoved is signalled when the buses move on their own — an automatic
// transition's progress, about ten times a second, and a transition's end
// (program and preview swap) — for a listener to read State then. A
// signal not yet taken stands for every move since: it never holds up the
// program. What a command changes, its caller has in hand.
func (e *Engine) BusesMoved() <-chan struct{} { return e.busMoved }

// What OnChange's listener is told changed.
const (
	ChangedBuses  = "buses"
	ChangedKeyers = "keyers"
)

// OnChange sets, once, who is told — outside the mixer's locks, from a
// goroutine of its own — that the buses (ChangedBuses: a command, an
// automatic transition's progress and end, a source removed from a bus) or
// the keyers (ChangedKeyers) changed, to read them then: the tally. A
// change marked again before it is told is told once.
func (e *Engine) OnChange(f func(what string)) { e.changes.Listen(f) }

// busesMoved signals BusesMoved (on the clock's thread: never blocks).
func (e *Engine) busesMoved() {
	e.changes.Changed(ChangedBuses)
	select {
	case e.busMoved <- struct{}{}:
	default:
	}
}

// FTB fades program video and audio to black, or back up when already black,
// over the default transition's duration.
func (e *Engine) FTB() bus.State {
	defer e.changes.Changed(ChangedBuses)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bus.FTB(e.current + 1)
	return e.stateLocked()
}
