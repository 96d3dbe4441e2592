package clock

import (
	"slices"
	"sync"
	"time"
)

// PictureWay is a camera picture's way to the program, on the program
// clock: taken from its stream by the decoding, decoded, due (its time
// plus the jitter buffer). Fresh marks a picture a tick took new (not a
// repeat of the one on show).
type PictureWay struct {
	Taken, Decoded, Due time.Duration
	Fresh               bool
}

// Pieces is where a camera picture's time went on its way to the program,
// the median of the last pictures that aired new (see Ways).
type Pieces struct {
	// Pictures is how many pictures the medians are of.
	Pictures int `json:"pictures"`
	// DecodeMs: from the decoding taking the unit to the picture decoded.
	DecodeMs float64 `json:"decode_ms"`
	// BufferMs: decoded until due (the jitter buffer's wait; below zero
	// for a picture decoded after its time).
	BufferMs float64 `json:"buffer_ms"`
	// TickMs: due until its program frame's time (a picture is shown in
	// the frame whose middle it is due by, so from minus half a frame to
	// half a frame).
	TickMs float64 `json:"tick_ms"`
	// ComposeMs: the frame's time until it was composed (the clock's wake
	// and the compose).
	ComposeMs float64 `json:"compose_ms"`
	// EncodeMs: composed until encoded and handed to the outputs (the wait
	// for the encoder and the encodes).
	EncodeMs float64 `json:"encode_ms"`
	// TotalMs: from the unit taken to the program frame handed out.
	TotalMs float64 `json:"total_ms"`
}

// waysKept is how many aired pictures Ways keeps.
const waysKept = 256

type wayRow struct{ decode, buffer, tick, compose, encode, total time.Duration }

// Ways keeps the pieces of the last pictures that aired new on the
// program, for Pieces. Note never allocates: the program's encode loop
// calls it for each frame.
type Ways struct {
	mu   sync.Mutex
	rows [waysKept]wayRow
	n    int // rows written, ever
}

// Note records a picture that aired new in the program frame of program
// time frame, composed by composed and handed out at out (program clock).
func (w *Ways) Note(p PictureWay, frame, composed, out time.Duration) {
	w.mu.Lock()
	w.rows[w.n%waysKept] = wayRow{decode: p.Decoded - p.Taken, buffer: p.Due - p.Decoded, tick: frame - p.Due,
		compose: composed - frame, encode: out - composed, total: out - p.Taken}
	w.n++
	w.mu.Unlock()
}

// Pieces returns the medians of the pictures kept.
func (w *Ways) Pieces() Pieces {
	w.mu.Lock()
	rows := slices.Clone(w.rows[:min(w.n, waysKept)])
	w.mu.Unlock()
	med := func(f func(wayRow) time.Duration) float64 {
		if len(rows) == 0 {
			return 0
		}
		v := make([]time.Duration, len(rows))
		for i, r := range rows {
			v[i] = f(r)
		}
		slices.Sort(v)
		return float64(v[len(v)/2].Microseconds()) / 1000
	}
	return Pieces{Pictures: len(rows),
		DecodeMs:  med(func(r wayRow) time.Duration { return r.decode }),
		BufferMs:  med(func(r wayRow) time.Duration { return r.buffer }),
		TickMs:    med(func(r wayRow) time.Duration { return r.tick }),
		ComposeMs: med(func(r wayRow) time.Duration { return r.compose }),
		EncodeMs:  med(func(r wayRow) time.Duration { return r.encode }),
		TotalMs:   med(func(r wayRow) time.Duration { return r.total }),
	}
}

// Reset forgets the pictures kept (a new measurement).
func (w *Ways) Reset() {
	w.mu.Lock()
	w.n = 0
	w.mu.Unlock()
}
