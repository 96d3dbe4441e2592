package ingest

import "time"

// ClipInfo describes a clip of the clips folder (GET /api/v1/clips).
type ClipInfo struct {
	Name      string    `json:"name"`
	SizeBytes int64     `json:"size_bytes"`
	Modified  time.Time `json:"modified"`
	DurationS float64   `json:"duration_s,omitempty"`
	Video     string    `json:"video,omitempty"` // codec
	Width     int       `json:"width,omitempty"`
	Height    int       `json:"height,omitempty"`
	Audio     string    `json:"audio,omitempty"`
	// Alpha is true for a file whose pictures carry alpha: a stinger
	// transition's clip (docs/clips.md); a clip source plays it opaque.
	Alpha bool `json:"alpha,omitempty"`
	// Pictures is set for a folder of PNG pictures (a PNG sequence): how
	// many it holds, one a program frame as a stinger transition's clip.
	Pictures int `json:"pictures,omitempty"`
	// Error says why the show cannot play the file (one copied in by hand).
	Error string `json:"error,omitempty"`
}

// SetPlayer gives the source a clip player's state: its status shows it
// (Status.Player) while this publisher is on. f is called outside the
// source's lock.
func (p *Publisher) SetPlayer(f func() any) {
	s := p.src
	s.mu.Lock()
	if s.publisher == p {
		s.player = f
	}
	s.mu.Unlock()
}

// PlayerChanged tells the source's listener (the event stream) that the
// player's state changed.
func (p *Publisher) PlayerChanged() {
	s := p.src
	s.mu.Lock()
	if s.publisher == p {
		s.changedLocked()
	}
	s.mu.Unlock()
}
