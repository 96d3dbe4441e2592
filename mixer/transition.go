package mixer

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"switchyard/media/color"
	"switchyard/media/draw"
)

// Transition types.
const (
	TransMix  = "mix"
	TransDip  = "dip"
	TransWipe = "wipe"
)

// Transition describes a transition from preview to program.
type Transition struct {
	Type       string `json:"type"`
	DurationMS int    `json:"duration_ms"`
	// Color of a dip (a name or #rrggbb); black by default.
	Color string `json:"color,omitempty"`
	// Direction of a wipe: left, right, up, down or circle.
	Direction string `json:"direction,omitempty"`
	// SoftnessPx is the width of a wipe's soft edge in pixels; 0 is a hard
	// edge, unset the default's.
	SoftnessPx *int `json:"softness_px,omitempty"`
}

// softness is the wipe's soft edge in pixels (the default's when unset).
func (t Transition) softness() int {
	if t.SoftnessPx == nil {
		return *DefaultTransition.SoftnessPx
	}
	return *t.SoftnessPx
}

// DefaultTransition is a one-second mix.
var DefaultTransition = Transition{Type: TransMix, DurationMS: 1000, Color: "black", Direction: draw.WipeLeft, SoftnessPx: new(24)}

// FieldError is a validation error naming the field at fault.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

// withDefaults fills empty fields from d.
func (t Transition) withDefaults(d Transition) Transition {
	if t.Type == "" {
		t.Type = d.Type
	}
	if t.DurationMS == 0 {
		t.DurationMS = d.DurationMS
	}
	if t.Color == "" {
		t.Color = d.Color
	}
	if t.Direction == "" {
		t.Direction = d.Direction
	}
	if t.SoftnessPx == nil {
		t.SoftnessPx = d.SoftnessPx
	}
	return t
}

// Validate checks a transition.
func (t Transition) Validate() error {
	switch t.Type {
	case TransMix, TransDip, TransWipe:
	default:
		return &FieldError{"type", fmt.Sprintf("transition type %q: use mix, dip or wipe", t.Type)}
	}
	if t.DurationMS < 0 || t.DurationMS > 60_000 {
		return &FieldError{"duration_ms", "duration_ms must be between 0 and 60000"}
	}
	if _, err := color.ParseColor(t.Color); err != nil {
		return &FieldError{"color", err.Error()}
	}
	if !slices.Contains(draw.WipeDirections, t.Direction) {
		return &FieldError{"direction", fmt.Sprintf("wipe direction %q: use left, right, up, down or circle", t.Direction)}
	}
	if t.SoftnessPx != nil && (*t.SoftnessPx < 0 || *t.SoftnessPx > 1000) {
		return &FieldError{"softness_px", "softness_px must be between 0 and 1000"}
	}
	return nil
}

// activeTransition is a transition on air: program → preview.
type activeTransition struct {
	t      Transition
	color  color.YUV
	start  int64 // first frame (position 0)
	frames int64
	manual bool    // driven by the T-bar
	pos    float64 // manual position
	// where From and To stood at its first frame (set by that frame's tick)
	noted    bool
	at       [2]SourceTime
	atSource [2]bool
	// To's picture on its latest frame: To's timestamp at the first frame
	// is told on the line of it (a source just put on preview may pass over
	// pictures in the first frames, and its latest weighs most)
	lastB      time.Duration
	lastBFrame int64
	haveB      bool
}

// position of the transition at frame n.
func (a *activeTransition) position(n int64) float64 {
	if a.manual {
		return a.pos
	}
	if a.frames <= 0 {
		return 1
	}
	return float64(n-a.start) / float64(a.frames)
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

// TransitionState is the transition part of the mixer's state.
type TransitionState struct {
	Transition
	// Active is true while a transition is on air.
	Active bool `json:"active"`
	// Position is where it is (0..1).
	Position float64 `json:"position"`
	// Manual is true when the T-bar drives it.
	Manual bool `json:"manual"`
}

var errNoTransition = errors.New("no transition")

func (e *Engine) framesFor(d time.Duration) int64 {
	return int64(d.Seconds()*float64(e.cfg.FPSNum)/float64(e.cfg.FPSDen) + 0.5)
}

// finishLocked completes a running transition so that frame `at` is the
// first to show the preview alone; the buses swap. The switch log gets the
// transition with the time it really took.
func (e *Engine) finishLocked(at int64) {
	if a := e.trans; a != nil {
		ev := SwitchEvent{PTS: e.cfg.frameTime(a.start), Kind: a.t.Type, From: e.prog, To: e.prev,
			Duration: e.cfg.frameTime(max(at, a.start)) - e.cfg.frameTime(a.start)}
		if a.haveB && a.atSource[1] && a.at[1].Shown {
			a.at[1].PTS = a.lastB - e.cfg.frameTime(a.lastBFrame-a.start)
		}
		for i := range a.at {
			if a.atSource[i] {
				ev.Sources = append(ev.Sources, a.at[i])
			}
		}
		e.switches = append(e.switches, ev)
		e.prog, e.prev = e.prev, e.prog
		e.trans = nil
		e.lastProg = e.prog
	}
}

// SwitchEvent is one change of what the program shows, for edit lists.
type SwitchEvent struct {
	// PTS of the first program frame of the change.
	PTS time.Duration
	// Kind is cut, the transition type, KindKey or KindAudio (marks.go).
	Kind     string
	From, To string
	// Duration of a transition.
	Duration time.Duration
	// Sources says where the sources stood at the first frame: for a cut
	// To's picture; for a transition From's and To's; for KindKey and
	// KindAudio see marks.go.
	Sources []SourceTime
}

func (e *Engine) stateLocked() State {
	st := State{Program: e.prog, Preview: e.prev, Frame: e.current + 1, FTB: e.ftb.on,
		Transition: TransitionState{Transition: e.defTrans}}
	if a := e.trans; a != nil {
		st.Transition = TransitionState{Transition: a.t, Active: true, Manual: a.manual,
			Position: min(max(a.position(e.current), 0), 1)}
	}
	return st
}

// SetTransition sets the default transition used by Auto and the T-bar.
func (e *Engine) SetTransition(t Transition) (State, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t = t.withDefaults(e.defTrans)
	if err := t.Validate(); err != nil {
		return State{}, err
	}
	e.defTrans = t
	return e.stateLocked(), nil
}

// DefaultTransition is what AUTO runs when a call leaves fields out.
func (e *Engine) DefaultTransition() Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.defTrans
}

// Auto runs a transition from program to preview, starting on the next frame;
// fields left empty come from the default transition. A transition already
// running is finished first.
func (e *Engine) Auto(t Transition) (State, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t = t.withDefaults(e.defTrans)
	if err := t.Validate(); err != nil {
		return State{}, err
	}
	e.finishLocked(e.current + 1)
	c, _ := color.ParseColor(t.Color)
	e.trans = &activeTransition{t: t, color: c, start: e.current + 1,
		frames: e.framesFor(time.Duration(t.DurationMS) * time.Millisecond)}
	return e.stateLocked(), nil
}

// SetPosition moves the T-bar: 0..1 of the default transition from program to
// preview. Reaching 1 completes it (the buses swap); going back to 0 before
// that abandons it. It takes over a running automatic transition.
func (e *Engine) SetPosition(p float64) (State, error) {
	if !(p >= 0 && p <= 1) { // NaN too
		return State{}, &FieldError{"position", "position must be between 0 and 1"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.trans == nil {
		if p == 0 {
			return e.stateLocked(), nil
		}
		c, _ := color.ParseColor(e.defTrans.Color)
		e.trans = &activeTransition{t: e.defTrans, color: c, start: e.current + 1}
	}
	e.trans.manual = true
	e.trans.pos = p
	switch {
	case p >= 1:
		e.finishLocked(e.current + 1)
	case p <= 0:
		e.trans = nil
	}
	return e.stateLocked(), nil
}

// FTB fades program video and audio to black, or back up when already black,
// over the default transition's duration.
func (e *Engine) FTB() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.current + 1
	lvl := e.ftb.level(n)
	e.ftb.on = !e.ftb.on
	to := 0.0
	if e.ftb.on {
		to = 1
	}
	e.ftb = fade{on: e.ftb.on, from: lvl, to: to, start: n,
		count: e.framesFor(time.Duration(e.defTrans.DurationMS) * time.Millisecond)}
	return e.stateLocked()
}
