package audio

import (
	"sync"
	"time"
)

// SampleRate of the program audio: 48 kHz stereo.
const SampleRate = 48000

// A ring's tolerances on its source's timestamps.
const (
	tol    = 5 * time.Millisecond   // audio ahead/behind tolerated before it is padded/skipped
	gapMax = 500 * time.Millisecond // a larger hole in audio timestamps resets the ring
	// a skip in sound that was playing crossfades over this from the
	// samples skipped to those after them, so it does not click
	skipFade = 5 * time.Millisecond
)

// Ring is a bounded FIFO of interleaved stereo float32 samples that
// knows the source time of its first sample. A writer that finds it full
// overwrites the oldest samples: audio of a source nobody reads ages out.
type Ring struct {
	mu      sync.Mutex
	buf     []float32
	head    int           // read position (in floats)
	n       int           // floats stored
	headPTS time.Duration // source time of buf[head]
	lastEnd time.Duration // source time just after the latest sample written
	written bool          // samples have been written
	playing bool          // the last read ended on a sample, not silence
}

// RingFrames is how many sample frames a source's ring holds for a jitter
// buffer of delay: the buffer and a second more (the mix runs a program
// frame behind its picture, codec frames come whole, a publisher bursts).
func RingFrames(delay time.Duration) int {
	return SampleRate + int(delay*SampleRate/time.Second)
}

// NewRing returns a ring of frames stereo sample frames.
func NewRing(frames int) *Ring {
	return &Ring{buf: make([]float32, 2*frames)}
}

// SamplesDur is the duration of floats interleaved stereo samples.
func SamplesDur(floats int) time.Duration {
	return time.Duration(floats/2) * time.Second / SampleRate
}

func durFloats(d time.Duration) int {
	return 2 * int(d*SampleRate/time.Second)
}

// Write appends samples whose first is at source time pts. A small hole in
// the timestamps (a lost packet) is filled with silence; a jump backwards or
// a large hole (a new timeline) starts the ring again.
func (r *Ring) Write(s []float32, pts time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tail := r.headPTS + SamplesDur(r.n)
	switch gap := pts - tail; {
	case r.n == 0 || gap < -tol || gap > gapMax:
		r.head, r.n, r.headPTS, r.playing = 0, 0, pts, false
	case gap > tol:
		r.put(make([]float32, min(durFloats(gap), len(r.buf))))
	}
	r.put(s)
	r.lastEnd, r.written = pts+SamplesDur(len(s)), true
}

func (r *Ring) put(s []float32) {
	if len(s) > len(r.buf) {
		r.headPTS += SamplesDur(len(s) - len(r.buf))
		s = s[len(s)-len(r.buf):]
	}
	if over := r.n + len(s) - len(r.buf); over > 0 {
		r.head = (r.head + over) % len(r.buf)
		r.n -= over
		r.headPTS += SamplesDur(over)
	}
	tail := (r.head + r.n) % len(r.buf)
	c := copy(r.buf[tail:], s)
	copy(r.buf, s[c:])
	r.n += len(s)
}

// Peak returns the largest magnitude of the samples held from source time
// at for d (0 where it holds none), without taking them.
func (r *Ring) Peak(at, d time.Duration) float32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := 0
	if at > r.headPTS {
		from = durFloats(at - r.headPTS)
	}
	to := min(durFloats(at+d-r.headPTS), r.n)
	var p float32
	for i := from; i < to; i++ {
		v := r.buf[(r.head+i)%len(r.buf)]
		p = max(p, v, -v)
	}
	return p
}

// ReadAt fills dst (interleaved) with the samples from source time at on:
// silence for any part of it before the ring's first sample, samples older
// than at skipped, silence where the ring runs out. Within tol of at it
// reads on without a cut, so clock rounding never clicks. It returns the
// floats of real samples written, and of them late: the silence where the
// ring ran out while the source was sounding (samples written up to less
// than gapMax before the end of dst), its sound not there in time. A skip
// in sound that was playing (a shorter jitter buffer) crossfades over
// skipFade from the samples it skips to the ones it reads.
func (r *Ring) ReadAt(dst []float32, at time.Duration) (n, late int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := dst
	from, fade := r.head, 0 // the sound skipped, to fade out of
	switch ahead := r.headPTS - at; {
	case r.n == 0:
	case ahead > tol: // not due yet: silence until it is
		k := min(durFloats(ahead), len(out))
		clear(out[:k])
		out = out[k:]
	case ahead < -tol: // late: skip what is past
		k := min(durFloats(-ahead), r.n)
		if r.playing {
			fade = min(durFloats(skipFade), r.n-k, len(out))
		}
		r.head = (r.head + k) % len(r.buf)
		r.n -= k
		r.headPTS += SamplesDur(k)
	}
	n = min(len(out), r.n)
	c := copy(out[:n], r.buf[r.head:min(r.head+n, len(r.buf))])
	copy(out[c:n], r.buf)
	r.head = (r.head + n) % len(r.buf)
	r.n -= n
	r.headPTS += SamplesDur(n)
	clear(out[n:])
	// the skipped samples fade out under the ones read: still in buf, as
	// nothing writes while the lock is held
	fade = min(fade, n) &^ 1
	for i := 0; i < fade; i += 2 {
		w := float32(i+2) / float32(fade+2)
		j := (from + i) % len(r.buf)
		out[i] = out[i]*w + r.buf[j]*(1-w)
		out[i+1] = out[i+1]*w + r.buf[j+1]*(1-w)
	}
	r.playing = n > 0 && n == len(out)
	if r.written && n < len(out) && at+SamplesDur(len(dst))-r.lastEnd < gapMax {
		late = len(out) - n
	}
	return n, late
}
