package keyer

import "time"

// Status is a keyer as the API shows it: its spec and what the mixer does
// with it now.
type Status struct {
	Spec
	// Level is how much of the keyer is on air now, 0..1 (it moves during fades).
	Level float64 `json:"level"`
	// StartedAt is when a count-up or count-down clock started (it went on).
	StartedAt *time.Time `json:"started_at,omitempty"`
	Warning   string     `json:"warning,omitempty"`
	// Frame is, after on or off, the index of the first program frame
	// of the fade (or of the change when fade_ms is 0).
	Frame int64 `json:"frame,omitempty"`
}
