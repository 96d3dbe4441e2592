package mixer

import (
	"fmt"
	"math"
	"sync"
)

// The audio mixer: every source's audio is read each tick (so its meter
// moves and its buffer never backs up), and summed into the program with
// its gain when it is audible — always for mode "on" (presenter mics),
// while on program for "afv" (audio follows video, crossfaded with the
// transition), never for "off". Then the master gain, fade to black and a
// limiter that keeps the program's samples at or below −2 dBFS, leaving room
// for the AAC encoder's overshoot.

// Audio modes.
const (
	ModeAFV = "afv"
	ModeOn  = "on"
	ModeOff = "off"
)

// AudioSettings are a source's (or the master's) controls.
type AudioSettings struct {
	GainDB float64 `json:"gain_db"`
	Mute   bool    `json:"mute"`
	Mode   string  `json:"mode,omitempty"` // sources only: afv, on or off
}

// AudioPatch changes some of a source's or the master's settings.
type AudioPatch struct {
	GainDB *float64 `json:"gain_db"`
	Mute   *bool    `json:"mute"`
	Mode   *string  `json:"mode"`
}

// AudioState is every audio control.
type AudioState struct {
	Master  AudioSettings            `json:"master"`
	Sources map[string]AudioSettings `json:"sources"`
}

// Gain limits, in dB.
const (
	MinGainDB = -60.0
	MaxGainDB = 20.0
)

func (p AudioPatch) apply(s *AudioSettings, master bool) error {
	if p.GainDB != nil {
		if g := *p.GainDB; math.IsNaN(g) || g < MinGainDB || g > MaxGainDB {
			return &FieldError{Field: "gain_db", Msg: fmt.Sprintf("gain_db must be from %g to %g dB", MinGainDB, MaxGainDB)}
		}
		s.GainDB = *p.GainDB
	}
	if p.Mode != nil {
		if master {
			return &FieldError{Field: "mode", Msg: "the master has no mode; modes are per source (afv, on, off)"}
		}
		switch *p.Mode {
		case ModeAFV, ModeOn, ModeOff:
			s.Mode = *p.Mode
		default:
			return &FieldError{Field: "mode", Msg: `mode must be "afv" (follows the picture), "on" (always mixed) or "off"`}
		}
	}
	if p.Mute != nil {
		s.Mute = *p.Mute
	}
	return nil
}

// SetAudio changes a source's audio settings.
func (e *Engine) SetAudio(name string, p AudioPatch) (AudioSettings, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.inputs[name]
	if in == nil {
		return AudioSettings{}, fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	s := in.mix
	if err := p.apply(&s, false); err != nil {
		return AudioSettings{}, err
	}
	was := heardAs(in)
	in.mix = s
	if heardAs(in) != was {
		e.audioEventLocked(in)
	}
	return s, nil
}

// SetMaster changes the master gain or mute.
func (e *Engine) SetMaster(p AudioPatch) (AudioSettings, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.master
	if err := p.apply(&s, true); err != nil {
		return AudioSettings{}, err
	}
	e.master = s
	return s, nil
}

// Audio returns every audio control.
func (e *Engine) Audio() AudioState {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := AudioState{Master: e.master, Sources: make(map[string]AudioSettings, len(e.inputs))}
	for name, in := range e.inputs {
		st.Sources[name] = in.mix
	}
	return st
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

// TakeLevels returns the peak and RMS of every source and of the program
// since the last call (the event stream takes them ten times a second).
func (e *Engine) TakeLevels() Levels {
	e.mu.Lock()
	ins := e.audioIns
	e.mu.Unlock()
	l := Levels{Program: e.progMeter.take(), Sources: make(map[string]Level, len(ins))}
	for _, in := range ins {
		l.Sources[in.name] = in.meter.take()
	}
	e.levelsMu.Lock()
	e.lastLevels = l
	e.levelsMu.Unlock()
	return l
}

// LastLevels returns the last reading TakeLevels made (for metrics).
func (e *Engine) LastLevels() Levels {
	e.levelsMu.Lock()
	defer e.levelsMu.Unlock()
	return e.lastLevels
}

// meter accumulates peak and power between readings.
type meter struct {
	mu    sync.Mutex
	peak  float32
	sumSq float64
	n     int
}

func (m *meter) add(buf []float32) {
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

func (m *meter) take() Level {
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

func dbToGain(db float64) float32 { return float32(math.Pow(10, db/20)) }

// limiter keeps the program's peaks at or below −2 dBFS (AAC decodes a tone
// limited to −1 dBFS with peaks at full scale): a block that would exceed it
// is brought down at once, and the gain comes back at about 6 dB a second,
// ramped across each block so there is no click.
type limiter struct {
	gain float32 // current gain, ≤ 1
}

const limitCeiling = 0.794 // −2 dBFS

func (l *limiter) process(buf []float32, tickSeconds float64) {
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
