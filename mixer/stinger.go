package mixer

import (
	"errors"
	"fmt"
	"time"

	"switchyard/internal/fault"
	"switchyard/media/color"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/mixer/sting"
)

// Stingers (bus.TransStinger): the clip is resolved and decoded whole
// (package sting) when the transition is set or taken, on the caller's
// goroutine and outside mu; the tick only picks a ready layer and blends
// it. The switcher keeps the default transition's stinger (stingDef, for the
// T-bar and AUTO), the one on air (stingAir) and the last loaded or aired
// (stingLast, so taking it again decodes nothing), under mu.

// stingerFor loads t's clip when t (its defaults filled) is a stinger and
// returns t with the clip's length in DurationMS and its cut filled in; nil
// for other types. A clip loaded before from the same file is reused.
func (s *Switcher) stingerFor(t bus.Transition) (bus.Transition, *sting.Clip, error) {
	if t.Type != bus.TransStinger {
		return t, nil, nil
	}
	if err := t.Validate(); err != nil {
		return t, nil, err
	}
	if s.cfg.Stingers == nil {
		return t, nil, &fault.Invalid{Field: "clip", Msg: "this mixer has no clip folders to read stingers from"}
	}
	path, err := s.cfg.Stingers(t.Clip)
	if err != nil {
		var inv *fault.Invalid
		if errors.As(err, &inv) {
			return t, nil, &fault.Invalid{Field: "clip", Msg: "stinger " + inv.Msg, Err: err}
		}
		return t, nil, &fault.Invalid{Field: "clip", Msg: fmt.Sprintf("stinger %s: %v", t.Clip, err), Err: err}
	}
	loaded := func() *sting.Clip {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, have := range []*sting.Clip{s.stingDef, s.stingAir, s.stingLast} {
			if have.Same(path) {
				return have
			}
		}
		return nil
	}
	c := loaded() // at once when it is (AUTO never waits on another's load)
	if c == nil {
		// one load at a time (each takes a core and up to MaxBytes); a
		// second asking for the same clip waits and reuses it
		s.stingLoad.Lock()
		defer s.stingLoad.Unlock()
		c = loaded()
	}
	if c == nil {
		c, err = sting.Load(t.Clip, path, sting.Options{Width: s.cfg.Width, Height: s.cfg.Height, Rate: s.cfg.Rate(),
			SampleRate: audio.SampleRate, MaxBytes: s.cfg.StingerMaxBytes})
		if err != nil {
			return t, nil, err
		}
		s.mu.Lock()
		s.stingLast = c // a request refused for its cut does not decode it again
		s.mu.Unlock()
		s.log.Info("stinger loaded", "clip", t.Clip, "codec", c.Codec, "decoder", c.Decoder,
			"duration_ms", c.DurationMS, "frames", len(c.Frames), "mib", c.Bytes>>20, "sound", c.Audio != nil)
	}
	t.DurationMS = c.DurationMS
	if t.CutAtMS == nil {
		t.CutAtMS = new(c.DurationMS / 2)
	}
	if *t.CutAtMS > c.DurationMS {
		return t, nil, &fault.Invalid{Field: "cut_at_ms", Msg: fmt.Sprintf("cut_at_ms %d is past the end of stinger %s, which lasts %d ms: choose 0 to %d",
			*t.CutAtMS, t.Clip, c.DurationMS, c.DurationMS)}
	}
	return t, c, nil
}

// defaultTransition is the default transition (mu taken briefly).
func (s *Switcher) defaultTransition() bus.Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bus.Default()
}

// stingerShot is what a stinger on air draws at frame n: its layer there
// (nil: none) and whether the cut to the incoming source has happened.
func (s *Switcher) stingerShot(a *bus.Active, n int64, p float64) (*color.Layer, bool) {
	c := s.stingAir
	if c == nil || a.Transition.CutAtMS == nil {
		return nil, p >= 0.5
	}
	k := n - a.Start
	if a.Manual { // the T-bar's position is the clip's
		k = min(int64(p*float64(len(c.Frames))), int64(len(c.Frames))-1)
	}
	cut := c.CutFrame(s.cfg.Rate(), time.Duration(*a.Transition.CutAtMS)*time.Millisecond)
	return c.At(k), k >= cut
}

// mixStinger adds a stinger's sound to buf, whose first sample is the
// program's sample first (at audio.SampleRate), for m's frame.
func mixStinger(buf []float32, m soundMix, first int64) {
	if len(m.sting) == 0 {
		return
	}
	off := 2 * (first - m.stingStart)
	for i := 0; i < len(buf); {
		j := off + int64(i)
		if j < 0 {
			i += int(min(-j, int64(len(buf)-i)))
			continue
		}
		if j >= int64(len(m.sting)) {
			return
		}
		n := min(len(buf)-i, len(m.sting)-int(j))
		audio.MixInto(buf[i:i+n], m.sting[j:int(j)+n], 1)
		i += n
	}
}

// StingerBytes is the memory the stingers the mixer holds take (the
// default transition's, the one on air, the last loaded), each counted once.
func (s *Switcher) StingerBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	seen := map[*sting.Clip]bool{}
	for _, c := range []*sting.Clip{s.stingDef, s.stingAir, s.stingLast} {
		if c != nil && !seen[c] {
			seen[c] = true
			n += c.Bytes
		}
	}
	return n
}
