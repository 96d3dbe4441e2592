package bus

import (
	"fmt"
	"slices"

	"switchyard/internal/fault"
	"switchyard/media/color"
)

// Transition types.
const (
	TransMix  = "mix"
	TransDip  = "dip"
	TransWipe = "wipe"
	// TransStinger plays a clip with alpha (Clip) over the program; the
	// cut from program to preview happens under it at CutAtMS. It lasts
	// the clip's length, which the mixer sets in DurationMS when it loads
	// the clip (package mixer/sting).
	TransStinger = "stinger"
)

// Wipe directions: where the new picture enters from.
const (
	WipeLeft   = "left"   // the new picture enters from the left edge
	WipeRight  = "right"  // from the right edge
	WipeUp     = "up"     // from the bottom edge, moving up
	WipeDown   = "down"   // from the top edge, moving down
	WipeCircle = "circle" // a circle growing from the centre
)

// WipeDirections lists the accepted directions (media/draw.Wipe draws them).
var WipeDirections = []string{WipeLeft, WipeRight, WipeUp, WipeDown, WipeCircle}

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
	// Clip is a stinger's file, named as clip sources name theirs
	// (relative to data_dir/clips, or absolute inside clips.dirs).
	Clip string `json:"clip,omitempty"`
	// CutAtMS is when, from a stinger's start, the cut happens under it;
	// unset: half its length.
	CutAtMS *int `json:"cut_at_ms,omitempty"`
}

// MaxCutAtMS bounds cut_at_ms before the clip is read (a stinger lasts at
// most a minute).
const MaxCutAtMS = 60_000

// Softness is the wipe's soft edge in pixels (the default's when unset).
func (t Transition) Softness() int {
	if t.SoftnessPx == nil {
		return *DefaultTransition.SoftnessPx
	}
	return *t.SoftnessPx
}

// DefaultTransition is a one-second mix.
var DefaultTransition = Transition{Type: TransMix, DurationMS: 1000, Color: "black", Direction: WipeLeft, SoftnessPx: new(24)}

// WithDefaults fills empty fields from d. A stinger's clip and cut come
// from d when d is a stinger too; other types carry neither.
func (t Transition) WithDefaults(d Transition) Transition {
	if t.Type == "" {
		t.Type = d.Type
	}
	if t.Type == TransStinger && d.Type == TransStinger && t.Clip == "" {
		t.Clip = d.Clip
		if t.CutAtMS == nil {
			t.CutAtMS = d.CutAtMS
		}
		t.DurationMS = d.DurationMS
	}
	if t.Type != TransStinger {
		t.Clip, t.CutAtMS = "", nil
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
	case TransStinger:
		if t.Clip == "" {
			return &fault.Invalid{Field: "clip", Msg: `a stinger names its clip: "clip": "sting.mov" (a file with alpha in data_dir/clips)`}
		}
		if t.CutAtMS != nil && (*t.CutAtMS < 0 || *t.CutAtMS > MaxCutAtMS) {
			return &fault.Invalid{Field: "cut_at_ms", Msg: fmt.Sprintf("cut_at_ms %d must be between 0 and the stinger's length (at most %d)", *t.CutAtMS, MaxCutAtMS)}
		}
	default:
		return &fault.Invalid{Field: "type", Msg: fmt.Sprintf("transition type %q: use mix, dip, wipe or stinger", t.Type)}
	}
	if t.DurationMS < 0 || t.DurationMS > 60_000 {
		return &fault.Invalid{Field: "duration_ms", Msg: "duration_ms must be between 0 and 60000"}
	}
	if _, err := color.ParseColor(t.Color); err != nil {
		return &fault.Invalid{Field: "color", Msg: err.Error()}
	}
	if !slices.Contains(WipeDirections, t.Direction) {
		return &fault.Invalid{Field: "direction", Msg: fmt.Sprintf("wipe direction %q: use left, right, up, down or circle", t.Direction)}
	}
	if t.SoftnessPx != nil && (*t.SoftnessPx < 0 || *t.SoftnessPx > 1000) {
		return &fault.Invalid{Field: "softness_px", Msg: "softness_px must be between 0 and 1000"}
	}
	return nil
}

// TransitionState is the transition part of the buses' state.
type TransitionState struct {
	Transition
	// Active is true while a transition is on air.
	Active bool `json:"active"`
	// Position is where it is (0..1).
	Position float64 `json:"position"`
	// Manual is true when the T-bar drives it.
	Manual bool `json:"manual"`
}
