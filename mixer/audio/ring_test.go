package audio

import (
	"math"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestSampleRingReadsBySourceTime(t *testing.T) {
	r := NewRing(SampleRate)
	ones := make([]float32, 2*480) // 10 ms
	for i := range ones {
		ones[i] = 1
	}
	r.Write(ones, 100*ms)
	dst := make([]float32, 2*960) // 20 ms from 90 ms: 10 ms of silence, then the samples
	if n, _ := r.ReadAt(dst, 90*ms); n != len(ones) {
		t.Fatalf("read %d floats, want %d", n, len(ones))
	}
	if dst[0] != 0 || dst[2*480-1] != 0 || dst[2*480] != 1 || dst[len(dst)-1] != 1 {
		t.Fatal("not placed at its time")
	}
	// late: what is before the asked time is skipped
	r.Write(ones, 110*ms)
	r.Write(ones, 120*ms)
	small := make([]float32, 2*480)
	r.ReadAt(small, 120*ms)
	if r.n != 0 {
		t.Fatalf("%d floats left; the 110 ms block should have been skipped", r.n)
	}
	// a small hole in the timestamps is silence, kept in place
	r.Write(ones, 200*ms)
	r.Write(ones, 220*ms) // 10 ms missing
	r.ReadAt(dst, 200*ms)
	if dst[0] != 1 || dst[2*480] != 0 || dst[2*960-1] != 0 {
		t.Fatal("the hole was not kept as silence")
	}
}

// TestSampleRingCountsLateSound: silence read where a sounding source's
// samples have not come is counted as late; silence before its first sample,
// before samples not yet due, or long after its sound stopped is not.
func TestSampleRingCountsLateSound(t *testing.T) {
	r := NewRing(SampleRate)
	tenMs := make([]float32, 2*480)
	dst := make([]float32, 2*960) // 20 ms
	if _, late := r.ReadAt(dst, 0); late != 0 {
		t.Fatalf("a source with no sound yet: %d late floats", late)
	}
	r.Write(tenMs, 100*ms)
	if _, late := r.ReadAt(dst, 80*ms); late != 0 {
		t.Fatalf("reading before the first sample: %d late floats", late)
	}
	r.Write(tenMs, 110*ms)
	n, late := r.ReadAt(dst, 110*ms)
	if n != len(tenMs) || late != len(dst)-len(tenMs) {
		t.Fatalf("read %d floats, %d late; want %d and %d (the 10 ms after 120 ms had not come)", n, late, len(tenMs), len(dst)-len(tenMs))
	}
	if _, late := r.ReadAt(dst, 120*ms+gapMax); late != 0 {
		t.Fatalf("%s after the sound stopped: %d late floats, want none", gapMax, late)
	}
}

// TestSampleRingHoldsTheLongestJitterBuffer: a source's sound waits in its
// ring for the whole jitter buffer and the frame the mix comes after its
// picture (mixAudio), on top of a codec frame that arrives at once. At the
// longest buffer allowed (1 s) that is more than a second of sound; a ring of
// one second dropped its oldest samples before they were read, a gap of
// silence every few codec frames.
func TestSampleRingHoldsTheLongestJitterBuffer(t *testing.T) {
	const delay = time.Second
	frame := time.Second / 30
	r := NewRing(RingFrames(delay))
	aac := make([]float32, 2*1024) // a codec frame of sound, arriving whole at its end
	for i := range aac {
		aac[i] = 0.5
	}
	dst := make([]float32, 2*1600) // a 30 fps program frame's sound
	written := time.Duration(0)    // source time written up to
	for tick := 1; tick <= 150; tick++ {
		now := time.Duration(tick) * frame // arrival: the source time that has been sent
		for written+SamplesDur(len(aac)) <= now {
			r.Write(aac, written)
			written += SamplesDur(len(aac))
		}
		at := now - delay - frame // the mix of the frame before, a jitter buffer late
		if at < 0 {
			continue
		}
		n, late := r.ReadAt(dst, at)
		if n != len(dst) || late != 0 {
			t.Fatalf("tick %d: %d of %d floats of sound read (%d late): samples lost before their time", tick, n, len(dst), late)
		}
	}
}

// TestSampleRingSkipDoesNotClick: a skip in sound that is playing — a
// source's jitter buffer made shorter, 8.5 ms of a 1 kHz tone, from a
// crest to a trough — crossfades over skipFade from the samples skipped
// to those read, so the wave never jumps by more than its own steepest
// step and a little; after the fade the samples are the source's own.
func TestSampleRingSkipDoesNotClick(t *testing.T) {
	r := NewRing(SampleRate)
	tone := make([]float32, 2*SampleRate/10) // 100 ms of cos(2π·1 kHz·t)/2
	for i := 0; i < len(tone); i += 2 {
		v := float32(0.5 * math.Cos(2*math.Pi*1000*float64(i/2)/SampleRate))
		tone[i], tone[i+1] = v, v
	}
	r.Write(tone, 0)
	var out []float32
	read := func(at time.Duration) []float32 {
		dst := make([]float32, 2*480) // 10 ms
		if n, _ := r.ReadAt(dst, at); n != len(dst) {
			t.Fatalf("at %v: read %d floats, want %d", at, n, len(dst))
		}
		out = append(out, dst...)
		return dst
	}
	read(10 * ms)
	read(20 * ms)
	after := read(38500 * time.Microsecond) // 8.5 ms skipped: a crest to a trough
	read(48500 * time.Microsecond)
	steep := 0.5 * 2 * math.Pi * 1000 / SampleRate // the tone's steepest step
	for i := 2; i < len(out); i += 2 {
		if d := math.Abs(float64(out[i] - out[i-2])); d > steep*1.3 {
			t.Fatalf("sample %d: a step of %.3f, the tone's steepest is %.3f: the skip clicks", i/2, d, steep)
		}
	}
	own := tone[durFloats(38500*time.Microsecond):]
	for i := durFloats(skipFade); i < len(after); i++ {
		if after[i] != own[i] {
			t.Fatalf("float %d after the fade: %v, the source's %v", i, after[i], own[i])
		}
	}
}
