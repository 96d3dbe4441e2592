package mixer

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/audio"
)

// The program's sound: the audio controls the API changes, the meters it
// reads, and the mix the encode loop makes each frame with package audio's
// arithmetic — the one place that mixes.

// Sound is the program's sound. Its encoder, buffers and limiter are the
// encode loop's alone (mix); the master setting and the last meter reading
// are behind mu, which is taken alone (never with another lock held, nor
// holding one). A source's own settings (input.mix) stay under the
// switcher's mu: the switch log tells them at the frame they take effect
// (Switcher.SetAudio).
type Sound struct {
	cfg     Config
	log     *slog.Logger
	track   *media.Track // carried by the program and its renditions
	enc     *av.AudioEncoder
	sources *Switcher // the sources' settings and meters (Audio, TakeLevels)

	// the encode loop's
	tickBuf    []float32 // one tick of samples
	aacBuf     []float32 // samples waiting for a full AAC frame
	aacFill    int
	samplesOut int64
	limit      audio.Limiter
	meter      audio.Meter // the program's (its own lock: the API takes it)

	mu     sync.Mutex
	master audio.Settings
	last   audio.Levels // the last reading TakeLevels made
}

// newSound opens the AAC encoder.
func newSound(cfg Config, log *slog.Logger) (*Sound, error) {
	enc, err := av.NewAACEncoder(audio.SampleRate, cfg.AudioBitrateBPS)
	if err != nil {
		return nil, err
	}
	s := &Sound{cfg: cfg, log: log, enc: enc}
	if s.track, err = media.NewAACTrack(enc.Extradata()); err != nil {
		enc.Close()
		return nil, fmt.Errorf("AAC encoder config: %w", err)
	}
	perTick := int(math.Ceil(float64(audio.SampleRate) * float64(cfg.FPSDen) / float64(cfg.FPSNum)))
	s.tickBuf = make([]float32, 2*perTick)
	s.aacBuf = make([]float32, 2*enc.FrameSize())
	return s, nil
}

// close frees the encoder (the encode loop is done).
func (s *Sound) close() { s.enc.Close() }

// tickSamples is the length of one tick's buffer (both channels).
func (s *Sound) tickSamples() int { return len(s.tickBuf) }

// SetAudio changes a source's audio settings; the switch log has the
// change of how the program hears it at the frame it takes effect.
func (s *Switcher) SetAudio(name string, p audio.Patch) (audio.Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.ins.m[name]
	if in == nil {
		return audio.Settings{}, fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	set := in.mix
	if err := p.Apply(&set, false); err != nil {
		return audio.Settings{}, err
	}
	was := heardAs(in)
	in.mix = set
	if heardAs(in) != was {
		s.marks.audioEvent(in, s.current+1)
	}
	return set, nil
}

// settings is every source's audio settings.
func (s *Switcher) settings() map[string]audio.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]audio.Settings, len(s.ins.m))
	for name, in := range s.ins.m {
		m[name] = in.mix
	}
	return m
}

// SetMaster changes the master gain or mute.
func (s *Sound) SetMaster(p audio.Patch) (audio.Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.master
	if err := p.Apply(&m, true); err != nil {
		return audio.Settings{}, err
	}
	s.master = m
	return m, nil
}

func (s *Sound) masterNow() audio.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.master
}

// Audio returns every audio control: the master, and each source's (the
// switcher's).
func (s *Sound) Audio() audio.State {
	return audio.State{Master: s.masterNow(), Sources: s.sources.settings()}
}

// TakeLevels returns the peak and RMS of every source and of the program
// since the last call (the event stream takes them ten times a second).
func (s *Sound) TakeLevels() audio.Levels {
	ins := s.sources.inputs()
	l := audio.Levels{Program: s.meter.Take(), Sources: make(map[string]audio.Level, len(ins))}
	for _, in := range ins {
		l.Sources[in.name] = in.meter.Take()
	}
	s.mu.Lock()
	s.last = l
	s.mu.Unlock()
	return l
}

// LastLevels returns the last reading TakeLevels made (for metrics).
func (s *Sound) LastLevels() audio.Levels {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
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

// mix carries the program source's audio (or silence) for the frame
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
// ins are the sources, each with its weight (Switcher.weigh); a stinger's
// sound in m is mixed over them (stinger.go).
func (s *Sound) mix(n int64, m soundMix, ins []*input, targets []*target) {
	gain := m.gain
	// samples due by the start of tick n, exactly, for any frame rate
	due := n * audio.SampleRate * int64(s.cfg.FPSDen) / int64(s.cfg.FPSNum)
	want := int(due - s.samplesOut - int64(s.aacFill/2))
	if want <= 0 {
		return
	}
	if max := len(s.tickBuf) / 2; want > max {
		// the clock skipped frames: skip the same time of audio, keeping sync
		s.samplesOut += int64(want - max)
		want = max
	}
	buf := s.tickBuf[:2*want]
	// the program time of this tick's first sample
	t0 := time.Duration(s.samplesOut+int64(s.aacFill/2)) * time.Second / audio.SampleRate

	master := s.masterNow()

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
			in.markAired(n)
			if late > 0 { // the program's sound lost it
				in.soundLate.Add(uint64(late / 2))
			}
			audio.MixInto(buf, src, g)
		}
	}
	mixStinger(buf, m, s.samplesOut+int64(s.aacFill/2))
	audio.Master(buf, master, gain) // its gain and mute, and fade to black
	s.limit.Process(buf, float64(want)/audio.SampleRate)
	s.meter.Add(buf)
	for len(buf) > 0 {
		c := copy(s.aacBuf[s.aacFill:], buf)
		s.aacFill += c
		buf = buf[c:]
		if s.aacFill < len(s.aacBuf) {
			break
		}
		err := s.enc.Encode(s.aacBuf, s.samplesOut, func(p av.Packet) {
			if p.PTS < 0 {
				return // the encoder's priming frame: nothing of ours in it
			}
			ts := time.Duration(p.PTS) * time.Second / audio.SampleRate
			u := &media.Unit{Track: s.track, PTS: ts, DTS: ts, Key: true, Data: [][]byte{append([]byte(nil), p.Data...)}}
			for _, t := range targets { // the program first, then its renditions
				if t.sound {
					t.stream.WriteUnit(u)
				}
			}
		})
		if err != nil {
			s.log.Error("audio encode failed", "err", err)
		}
		s.samplesOut += int64(s.enc.FrameSize())
		s.aacFill = 0
	}
}
