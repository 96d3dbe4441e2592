package mixer

import (
	"fmt"
	"time"

	"switchyard/mixer/bus"
)

// The bus commands: each takes effect from the next frame (s.current+1),
// under mu; the buses (package bus) are the state, the switcher checks the
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
func (s *Switcher) finished(d bus.Done) {
	s.busesMoved()
	s.marks.finished(d, s.bus.Program())
	if s.stingAir != nil { // its pictures go with it (kept as the last loaded)
		s.stingLast, s.stingAir = s.stingAir, nil
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

func (s *Switcher) stateLocked() bus.State { return s.bus.State(s.current) }

// State returns the bus state.
func (s *Switcher) State() bus.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *Switcher) known(name string) bool { return s.ins.known(name) }

// SetProgram hot-cuts the program to a source; it shows from the next tick,
// whose index the returned state's Frame gives.
func (s *Switcher) SetProgram(name string) (bus.State, error) {
	defer s.changes.Changed(ChangedBuses)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known(name) {
		return bus.State{}, fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	s.bus.SetProgram(name, s.current+1)
	return s.stateLocked(), nil
}

// SetPreview selects the next source.
func (s *Switcher) SetPreview(name string) (bus.State, error) {
	defer s.changes.Changed(ChangedBuses)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known(name) {
		return bus.State{}, fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	s.bus.SetPreview(name, s.current+1)
	return s.stateLocked(), nil
}

// Cut swaps preview and program at the next tick. During a transition it
// finishes it at once (its preview goes to program), as a switcher's CUT does.
func (s *Switcher) Cut() bus.State {
	defer s.changes.Changed(ChangedBuses)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bus.Cut(s.current + 1)
	return s.stateLocked()
}

// SetTransition sets the default transition used by Auto and the T-bar.
// A stinger's clip is decoded here, before it returns (stinger.go).
func (s *Switcher) SetTransition(t bus.Transition) (bus.State, error) {
	defer s.changes.Changed(ChangedBuses)
	t, c, err := s.stingerFor(t.WithDefaults(s.defaultTransition()))
	if err != nil {
		return bus.State{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.bus.SetTransition(t); err != nil {
		return bus.State{}, err
	}
	s.stingDef = c
	return s.stateLocked(), nil
}

// DefaultTransition is what AUTO runs when a call leaves fields out.
func (s *Switcher) DefaultTransition() bus.Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bus.Default()
}

// Auto runs a transition from program to preview, starting on the next frame;
// fields left empty come from the default transition. A transition already
// running is finished first. A stinger's clip is decoded before it starts
// (or reused when it is the default's).
func (s *Switcher) Auto(t bus.Transition) (bus.State, error) {
	defer s.changes.Changed(ChangedBuses)
	t, c, err := s.stingerFor(t.WithDefaults(s.defaultTransition()))
	if err != nil {
		return bus.State{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.bus.Auto(t, s.current+1); err != nil {
		return bus.State{}, err
	}
	s.stingAir = c
	return s.stateLocked(), nil
}

// SetPosition moves the T-bar: 0..1 of the default transition from program to
// preview. Reaching 1 completes it (the buses swap); going back to 0 before
// that abandons it. It takes over a running automatic transition.
func (s *Switcher) SetPosition(p float64) (bus.State, error) {
	defer s.changes.Changed(ChangedBuses)
	s.mu.Lock()
	defer s.mu.Unlock()
	idle := s.bus.Active() == nil
	if err := s.bus.SetPosition(p, s.current+1); err != nil {
		return bus.State{}, err
	}
	if a := s.bus.Active(); idle && a != nil && a.Transition.Type == bus.TransStinger {
		s.stingAir = s.stingDef // the T-bar runs the default transition
	}
	return s.stateLocked(), nil
}

// BusesMoved is signalled when the buses move on their own — an automatic
// transition's progress, about ten times a second, and a transition's end
// (program and preview swap) — for a listener to read State then. A
// signal not yet taken stands for every move since: it never holds up the
// program. What a command changes, its caller has in hand.
func (s *Switcher) BusesMoved() <-chan struct{} { return s.busMoved }

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
func (s *Switcher) OnChange(f func(what string)) { s.changes.Listen(f) }

// busesMoved signals BusesMoved (on the clock's thread: never blocks).
func (s *Switcher) busesMoved() {
	s.changes.Changed(ChangedBuses)
	select {
	case s.busMoved <- struct{}{}:
	default:
	}
}

// FTB fades program video and audio to black, or back up when already black,
// over the default transition's duration.
func (s *Switcher) FTB() bus.State {
	defer s.changes.Changed(ChangedBuses)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bus.FTB(s.current + 1)
	return s.stateLocked()
}
