// Package audio is the mixer's sound, in pure Go: every source's audio is
// read each tick (so its meter moves and its buffer never backs up), and
// summed into the program with its gain when it is audible — always for mode
// "on" (presenter mics), while on program for "afv" (audio follows video,
// crossfaded with the transition), never for "off". Then the master gain,
// fade to black and a limiter that keeps the program's samples at or below
// −2 dBFS, leaving room for the AAC encoder's overshoot.
//
// It holds the settings and their validation, the meters and levels, the
// limiter, the mixing arithmetic and each source's sample ring; the mixer's
// encode loop is the one place that mixes.
package audio

import (
	"fmt"
	"math"
	"sync"

	"switchyard/internal/fault"
)

// Audio modes.
const (
	ModeAFV = "afv"
	ModeOn  = "on"
	ModeOff = "off"
)

// Settings are a source's (or the master's) controls.
type Settings struct {
	GainDB float64 `json:"gain_db"`
	Mute   bool    `json:"mute"`
	Mode   string  `json:"mode,omitempty"` // sources only: afv, on or off
}

// Patch changes some of a source's or the master's settings.
type Patch struct {
	GainDB *float64 `json:"gain_db"`
	Mute   *bool    `json:"mute"`
	Mode   *string  `json:"mode"`
}

// State is every audio control.
type State struct {
	Master  Settings            `json:"master"`
	Sources map[string]Settings `json:"sources"`
}

// Gain limits, in dB.
const (
	MinGainDB = -60.0
	MaxGainDB = 20.0
)

// Apply changes s (a source's, or the master's when master) by p, or
// leaves it alone and says which field is wrong.
func (p Patch) Apply(s *Settings, master bool) error {
	if p.GainDB != nil {
		if g := *p.GainDB; math.IsNaN(g) || g < MinGainDB || g > MaxGainDB {
			return &fault.Invalid{Field: "gain_db", Msg: fmt.Sprintf("gain_db must be from %g to %g dB", MinGainDB, MaxGainDB)}
		}
		s.GainDB = *p.GainDB
	}
	if p.Mode != nil {
		if master {
			return &fault.Invalid{Field: "mode", Msg: "the master has no mode; modes are per source (afv, on, off)"}
		}
		switch *p.Mode {
		case ModeAFV, ModeOn, ModeOff:
			s.Mode = *p.Mode
		default:
			return &fault.Invalid{Field: "mode", Msg: `mode must be "afv" (follows the picture), "on" (always mixed) or "off"`}
		}
	}
	if p.Mute != nil {
		s.Mute = *p.Mute
	}
	return nil
}

// Level is a meter reading in dBFS (−100 for silence).
type Level struct {
	PeakDB float64 `json:"peak_db"`
	RMSDB  float64 `json:"rms_db"`
}

// Levels are meter readings of the program and every source.
type Levels struct {
	Program Level            `json:"program"`
	Sources map[string]Level `json:"sources"`
}

// Meter accumulates peak and power between readings; Add and Take may be
// called from different goroutines.
type Meter struct {
	mu    sync.Mutex
	peak  float32
	sumSq float64
	n     int
}

// Add notes the samples of buf.
func (m *Meter) Add(buf []float32) {
	var peak float32
	var sum float64
	for _, v := range buf {
		a := v
		if a < 0 {
			a = -a
		}
		peak = max(peak, a)
		sum += float64(v) * float64(v)
	}
	m.mu.Lock()
	m.peak = max(m.peak, peak)
	m.sumSq += sum
	m.n += len(buf)
	m.mu.Unlock()
}

// Take returns the peak and RMS since the last Take, and starts again.
func (m *Meter) Take() Level {
	m.mu.Lock()
	peak, sum, n := m.peak, m.sumSq, m.n
	m.peak, m.sumSq, m.n = 0, 0, 0
	m.mu.Unlock()
	l := Level{PeakDB: dbfs(float64(peak)), RMSDB: -100}
	if n > 0 {
		l.RMSDB = dbfs(math.Sqrt(sum / float64(n)))
	}
	return l
}

func dbfs(v float64) float64 {
	if v <= 1e-5 {
		return -100
	}
	return math.Round(20*math.Log10(v)*10) / 10
}

// Gain returns the linear gain of db decibels.
func Gain(db float64) float32 { return float32(math.Pow(10, db/20)) }

// Limiter keeps the program's peaks at or below −2 dBFS (AAC decodes a tone
// limited to −1 dBFS with peaks at full scale): a block that would exceed it
// is brought down at once, and the gain comes back at about 6 dB a second,
// ramped across each block so there is no click.
type Limiter struct {
	gain float32 // current gain, ≤ 1
}

const limitCeiling = 0.794 // −2 dBFS

// Process limits buf (interleaved stereo), a block of tickSeconds.
func (l *Limiter) Process(buf []float32, tickSeconds float64) {
	if l.gain == 0 {
		l.gain = 1
	}
	var peak float32
	for _, v := range buf {
		peak = max(peak, max(v, -v))
	}
	target := float32(1)
	if peak > limitCeiling {
		target = limitCeiling / peak
	}
	from, to := l.gain, target
	if target > from { // release
		to = min(target, from*float32(math.Pow(2, tickSeconds)))
	} else {
		from = target // attack: at once
	}
	if n := len(buf) / 2; from != 1 || to != 1 {
		for i := 0; i < n; i++ {
			g := from + (to-from)*float32(i+1)/float32(n)
			buf[2*i] *= g
			buf[2*i+1] *= g
		}
	}
	l.gain = to
}

// Weight is a source's gain into the program for one block: by its mode —
// "on" always, "afv" while its picture is on air (onA: the program source;
// onB: the transition's incoming source, bGain of the way in) — and its
// mute and gain.
func Weight(s Settings, onA, onB bool, bGain float64) float32 {
	w := float32(0)
	switch s.Mode {
	case ModeOn:
		w = 1
	case ModeAFV:
		switch {
		case onA && onB:
			w = 1
		case onA:
			w = float32(1 - bGain)
		case onB:
			w = float32(bGain)
		}
	}
	if s.Mute {
		w = 0
	}
	return w * Gain(s.GainDB)
}

// MixInto adds src × g into dst (the same length).
func MixInto(dst, src []float32, g float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v * g
	}
}

// Master applies the master's gain and mute and the fade to black (fade:
// 1 in full, 0 faded out) to buf.
func Master(buf []float32, m Settings, fade float64) {
	g := float32(max(fade, 0))
	if m.Mute {
		g = 0
	} else {
		g *= Gain(m.GainDB)
	}
	if g != 1 {
		for i := range buf {
			buf[i] *= g
		}
	}
}
