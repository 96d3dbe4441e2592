package mixer

import (
	"fmt"
	"time"

	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/audio"
)

// The program's sound: the audio controls the API changes (under mu), the
// meters it reads, and the mix the encode loop makes each frame with
// package audio's arithmetic — the one place that mixes.

// SetAudio changes a source's audio settings.
func (e *Engine) SetAudio(name string, p audio.Patch) (audio.Settings, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.inputs[name]
	if in == nil {
		return audio.Settings{}, fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	s := in.mix
	if err := p.Apply(&s, false); err != nil {
		return audio.Settings{}, err
	}
	was := heardAs(in)
	in.mix = s
	if heardAs(in) != was {
		e.audioEventLocked(in)
	}
	return s, nil
}

// SetMaster changes the master gain or mute.
func (e *Engine) SetMaster(p audio.Patch) (audio.Settings, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.master
	if err := p.Apply(&s, true); err != nil {
		return audio.Settings{}, err
	}
	e.master = s
	return s, nil
}

// Audio returns every audio control.
func (e *Engine) Audio() audio.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := audio.State{Master: e.master, Sources: make(map[string]audio.Settings, len(e.inputs))}
	for name, in := range e.inputs {
		st.Sources[name] = in.mix
	}
	return st
}

// TakeLevels returns the peak and RMS of every source and of the program
// since the last call (the event stream takes them ten times a second).
func (e *Engine) TakeLevels() audio.Levels {
	e.mu.Lock()
	ins := e.audioIns
	e.mu.Unlock()
	l := audio.Levels{Program: e.progMeter.Take(), Sources: make(map[string]audio.Level, len(ins))}
	for _, in := range ins {
		l.Sources[in.name] = in.meter.Take()
	}
	e.levelsMu.Lock()
	e.lastLevels = l
	e.levelsMu.Unlock()
	return l
}

// LastLevels returns the last reading TakeLevels made (for metrics).
func (e *Engine) LastLevels() audio.Levels {
	e.levelsMu.Lock()
	defer e.levelsMu.Unlock()
	return e.lastLevels
}

// soundMix is what a tick decided for the program's sound during its frame:
// the sources on the buses, the transition's share of B and the fade.
type soundMix struct {
	inA, inB    *input
	bGain, gain float64
	// a stinger's sound (stinger.go), its first sample at program sample
	// stingStart
	sting      []float32
	stingStart int64
}

// mixAudio carries the program source's audio (or silence) for the frame
// before tick n to the AAC encoder, on the program clock, with what that
// frame's tick decided (m): during a transition it crossfades to the
// preview source's audio by bGain, and gain fades it all (fade to black).
//
// The sound of a frame is mixed a frame after its picture (same
// timestamps), so a source's sound has the whole jitter buffer to arrive:
// its samples are due on the program clock when the frame ends, and a tick
// mixing its own frame would need them a frame early. A camera's sound
// comes later than its pictures now and then (measured: behind each
// keyframe), and sound that misses its tick is a gap of silence.
// TestAVSync fails on such gaps.
func (e *Engine) mixAudio(n int64, m soundMix, targets []*target) {
	inA, inB, bGain, gain := m.inA, m.inB, m.bGain, m.gain
	// samples due by the start of tick n, exactly, for any frame rate
	due := n * audio.SampleRate * int64(e.cfg.FPSDen) / int64(e.cfg.FPSNum)
	want := int(due - e.samplesOut - int64(e.aacFill/2))
	if want <= 0 {
		return
	}
	if max := len(e.tickAudio) / 2; want > max {
		// the clock skipped frames: skip the same time of audio, keeping sync
		e.samplesOut += int64(want - max)
		want = max
	}
	buf := e.tickAudio[:2*want]
	// the program time of this tick's first sample
	t0 := time.Duration(e.samplesOut+int64(e.aacFill/2)) * time.Second / audio.SampleRate

	// Each source's gain into the program this tick, under the lock.
	e.mu.Lock()
	ins, master := e.audioIns, e.master
	for _, in := range ins {
		in.weight = audio.Weight(in.mix, in == inA, in == inB, bGain)
	}
	e.mu.Unlock()

	clear(buf)
	for _, in := range ins {
		src := in.tickBuf[:2*want]
		// every source, heard or not, at the source time mapped to t0: its
		// meter moves, its ring stays short
		_, late := in.audio.ReadAt(src, t0-in.cmap.offset()-in.stepSound(t0))
		in.soundShort = late > 0
		in.meter.Add(src)
		if g := in.weight; g != 0 {
			in.heardAt.Store(n)
			if late > 0 { // the program's sound lost it
				in.soundLate.Add(uint64(late / 2))
			}
			audio.MixInto(buf, src, g)
		}
	}
	mixStinger(buf, m, e.samplesOut+int64(e.aacFill/2))
	audio.Master(buf, master, gain) // its gain and mute, and fade to black
	e.limit.Process(buf, float64(want)/audio.SampleRate)
	e.progMeter.Add(buf)
	for len(buf) > 0 {
		c := copy(e.aacBuf[e.aacFill:], buf)
		e.aacFill += c
		buf = buf[c:]
		if e.aacFill < len(e.aacBuf) {
			break
		}
		err := e.aenc.Encode(e.aacBuf, e.samplesOut, func(p av.Packet) {
			if p.PTS < 0 {
				return // the encoder's priming frame: nothing of ours in it
			}
			ts := time.Duration(p.PTS) * time.Second / audio.SampleRate
			u := &media.Unit{Track: e.audioTrack, PTS: ts, DTS: ts, Key: true, Data: [][]byte{append([]byte(nil), p.Data...)}}
			for _, t := range targets { // the program first, then its renditions
				if t.sound {
					t.stream.WriteUnit(u)
				}
			}
		})
		if err != nil {
			e.log.Error("audio encode failed", "err", err)
		}
		e.samplesOut += int64(e.aenc.FrameSize())
		e.aacFill = 0
	}
}
