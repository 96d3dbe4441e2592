package mixer

import "sync"

// SampleRate of the program audio: 48 kHz stereo.
const SampleRate = 48000

// sampleRing is a bounded FIFO of interleaved stereo float32 samples. A writer
// that finds it full overwrites the oldest samples: audio of a source nobody
// listens to simply ages out.
type sampleRing struct {
	mu   sync.Mutex
	buf  []float32
	head int // read position (in floats)
	n    int // floats stored
}

func newSampleRing(frames int) *sampleRing {
	return &sampleRing{buf: make([]float32, 2*frames)}
}

func (r *sampleRing) write(s []float32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(s) > len(r.buf) {
		s = s[len(s)-len(r.buf):]
	}
	if over := r.n + len(s) - len(r.buf); over > 0 {
		r.head = (r.head + over) % len(r.buf)
		r.n -= over
	}
	tail := (r.head + r.n) % len(r.buf)
	c := copy(r.buf[tail:], s)
	copy(r.buf, s[c:])
	r.n += len(s)
}

// read fills dst (interleaved) from the ring, keeping at most keepFrames
// buffered beyond what it reads, and returns how many floats it wrote; the rest
// of dst is silence.
func (r *sampleRing) read(dst []float32, keepFrames int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	// bound latency: drop what is buffered beyond this read plus keepFrames
	if excess := r.n - len(dst) - 2*keepFrames; excess > 0 {
		excess &^= 1
		r.head = (r.head + excess) % len(r.buf)
		r.n -= excess
	}
	n := min(len(dst), r.n)
	c := copy(dst[:n], r.buf[r.head:min(r.head+n, len(r.buf))])
	copy(dst[c:n], r.buf)
	r.head = (r.head + n) % len(r.buf)
	r.n -= n
	clear(dst[n:])
	return n
}

func (r *sampleRing) reset() {
	r.mu.Lock()
	r.head, r.n = 0, 0
	r.mu.Unlock()
}
