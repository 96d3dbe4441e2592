package audio

import (
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
