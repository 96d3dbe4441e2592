package media

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrReaderClosed is returned by Reader.Next after the reader or its stream closed.
var ErrReaderClosed = errors.New("reader closed")

// Stream fans units out from one publisher to any number of readers. WriteUnit
// never blocks: each reader has its own bounded ring, and a reader that falls
// behind loses units (video: until the next key unit) and counts them.
type Stream struct {
	mu      sync.RWMutex
	readers map[*Reader]struct{}
	closed  bool
	tracks  []*Track
	pre     preroll // the latest units, for readers that start before now (preroll.go)

	units   atomic.Uint64
	bytes   atomic.Uint64
	dropped atomic.Uint64
}

// NewStream returns an empty stream.
func NewStream() *Stream {
	return &Stream{readers: make(map[*Reader]struct{})}
}

// SetTracks announces the tracks the publisher is about to send (for example
// from an RTSP ANNOUNCE or RTMP sequence headers), so readers that describe the
// stream to others (an RTSP server) know them before the first unit of each.
func (s *Stream) SetTracks(tracks ...*Track) {
	s.mu.Lock()
	s.tracks = append([]*Track(nil), tracks...)
	s.mu.Unlock()
}

// Tracks returns the tracks last announced with SetTracks.
func (s *Stream) Tracks() []*Track {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tracks
}

// WriteUnit hands u to every reader and keeps it for the pre-roll. It
// never blocks on a reader. The stream's lock is taken for writing, so a
// reader opened with its pre-roll (NewReaderFromPreroll) gets every unit
// exactly once; it is held for the pushes, which only queue, and for
// keeping the unit (preroll.go), which appends a pointer.
func (s *Stream) WriteUnit(u *Unit) {
	s.units.Add(1)
	s.bytes.Add(uint64(u.Size()))
	now := time.Now()
	s.mu.Lock()
	if !s.closed {
		s.pre.add(u, now)
	}
	for r := range s.readers {
		r.push(u, now)
	}
	s.mu.Unlock()
}

// PrerollSize returns how many units, and payload bytes, the stream keeps
// for its pre-roll now.
func (s *Stream) PrerollSize() (units, bytes int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.pre.units), s.pre.bytes
}

// UnitsWritten returns how many units were written since the stream was made.
func (s *Stream) UnitsWritten() uint64 { return s.units.Load() }

// BytesWritten returns how many payload bytes were written since the stream was made.
func (s *Stream) BytesWritten() uint64 { return s.bytes.Load() }

// Dropped returns how many units all of this stream's readers lost, past and present.
func (s *Stream) Dropped() uint64 { return s.dropped.Load() }

// NewReader adds a reader whose ring holds size units (rounded up to a power of
// two, at least 2). The reader receives units written from now on; it starts at
// the first video key unit. Close it when done.
func (s *Stream) NewReader(size int) *Reader {
	r := newReader(s, size)
	s.mu.Lock()
	if s.closed {
		r.closed = true
	} else {
		s.readers[r] = struct{}{}
	}
	s.mu.Unlock()
	return r
}

// NewReaderFromPreroll is NewReader, but the reader begins with the units
// the stream has kept (preroll.go): for a stream with video from a key unit
// at least PrerollMin before the newest unit, else the last PrerollMin of
// units; nothing when they are stale (the publisher is gone). Then it goes
// on with every unit written after them, none missed or repeated. The ring
// holds size units besides the pre-roll. It returns how many pre-roll
// units it begins with.
func (s *Stream) NewReaderFromPreroll(size int) (*Reader, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	pre := s.pre.snapshot(now)
	r := newReader(s, size+len(pre))
	if s.closed {
		r.closed = true
		return r, 0
	}
	for _, u := range pre {
		r.push(u, now) // delivered to this reader now
	}
	s.readers[r] = struct{}{}
	return r, len(pre)
}

func newReader(s *Stream, size int) *Reader {
	n := 2
	for n < size {
		n <<= 1
	}
	return &Reader{
		stream:  s,
		ring:    make([]*Unit, n),
		at:      make([]time.Time, n),
		mask:    uint64(n - 1),
		signal:  make(chan struct{}, 1),
		waitKey: true,
	}
}

// Close detaches every reader; their Next returns ErrReaderClosed once drained.
func (s *Stream) Close() {
	s.mu.Lock()
	s.closed = true
	s.pre.reset()
	rs := s.readers
	s.readers = map[*Reader]struct{}{}
	s.mu.Unlock()
	for r := range rs {
		r.markClosed()
	}
}

// Reader is one consumer of a Stream, with its own bounded ring. One goroutine
// calls Next; the publisher pushes without blocking.
type Reader struct {
	stream *Stream

	mu      sync.Mutex
	ring    []*Unit
	at      []time.Time // when each unit in ring was written to the stream
	mask    uint64
	head    uint64 // next to read
	tail    uint64 // next to write
	waitKey bool   // video: drop until the next key unit
	started bool   // the first key unit has been taken
	closed  bool
	signal  chan struct{}

	// WakeWithVideo: audio waits for the next video unit when one is due
	// within batchMax of the last (lastVideo, frameGap), and never longer
	// than batchMax: batchTimer wakes the reader then (batchArmed while it
	// runs for a unit that waits).
	batchMax   time.Duration
	lastVideo  time.Time
	frameGap   time.Duration
	batchTimer *time.Timer
	batchArmed bool

	dropped atomic.Uint64
}

// WakeWithVideo lets audio units wait in the ring for the next video unit
// instead of waking the reading goroutine one by one, when the stream's
// video is due at most maxWait after the last video unit (its track's frame
// interval; within 1 ms, so 29.97 fps counts as 30). An audio unit arriving
// later than a frame interval after the last video unit (video stalled or
// ended) wakes the reader at once, with what waited, and no audio unit
// waits longer than maxWait: a picture that comes late (a camera's
// keyframe) does not hold its sound back beyond that. A stream without
// video or of unknown frame rate wakes for every unit. The reader then
// wakes about once a frame rather than some 80 times a second for a camera
// with sound, which matters when waking it is dear (a goroutine locked to
// its thread); its audio is handled up to maxWait later. Call before the
// first unit.
func (r *Reader) WakeWithVideo(maxWait time.Duration) {
	r.mu.Lock()
	r.batchMax = maxWait + time.Millisecond
	if r.batchTimer == nil {
		r.batchTimer = time.AfterFunc(time.Hour, r.batchExpired)
		r.batchTimer.Stop()
	}
	r.mu.Unlock()
}

// batchExpired wakes the reader for audio that has waited batchMax.
func (r *Reader) batchExpired() {
	r.mu.Lock()
	r.batchArmed = false
	r.mu.Unlock()
	r.wake()
}

func (r *Reader) wake() {
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *Reader) push(u *Unit, at time.Time) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	video := u.Track != nil && u.Track.Kind == KindVideo
	if video && r.waitKey {
		if !u.Key {
			r.mu.Unlock()
			if r.started {
				r.drop() // resyncing after a loss; skipping to the first key is no loss
			}
			return
		}
		r.waitKey = false
		r.started = true
	}
	if r.tail-r.head == uint64(len(r.ring)) {
		// Full: this unit is lost. A lost video unit breaks the reference chain,
		// so video waits for the next key unit.
		r.drop()
		if video {
			r.waitKey = true
		}
		r.mu.Unlock()
		return
	}
	r.ring[r.tail&r.mask] = u
	r.at[r.tail&r.mask] = at
	r.tail++
	wake := r.batchMax == 0 || r.wakeFor(u, video, at)
	switch {
	case r.batchTimer == nil:
	case wake && r.batchArmed:
		r.batchTimer.Stop() // what waited goes now
		r.batchArmed = false
	case !wake && !r.batchArmed:
		r.batchTimer.Reset(r.batchMax) // the first unit to wait sets the limit
		r.batchArmed = true
	}
	r.mu.Unlock()
	if wake {
		r.wake()
	}
}

// wakeFor reports whether unit u, just queued, should wake a WakeWithVideo
// reader. Called with r.mu held.
func (r *Reader) wakeFor(u *Unit, video bool, now time.Time) bool {
	if video {
		r.lastVideo, r.frameGap = now, 0
		if u.Track.FPS > 0 {
			r.frameGap = time.Duration(float64(time.Second) / u.Track.FPS)
		}
		return true
	}
	return r.frameGap == 0 || r.frameGap > r.batchMax || now.Sub(r.lastVideo) >= r.frameGap
}

// Next returns the next unit, waiting until one arrives, ctx ends
// (ctx.Err()) or the reader or its stream is closed (ErrReaderClosed).
func (r *Reader) Next(ctx context.Context) (*Unit, error) {
	u, _, err := r.NextAt(ctx)
	return u, err
}

// NextAt is Next, with the time the unit was written to the stream: what it
// waited in this reader's ring is the time since (a reader behind its
// stream — a busy decoder — tells its own wait from the network's).
func (r *Reader) NextAt(ctx context.Context) (*Unit, time.Time, error) {
	for {
		r.mu.Lock()
		if r.head != r.tail {
			i := r.head & r.mask
			u, at := r.ring[i], r.at[i]
			r.ring[i] = nil
			r.head++
			r.mu.Unlock()
			return u, at, nil
		}
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return nil, time.Time{}, ErrReaderClosed
		}
		select {
		case <-r.signal:
		case <-ctx.Done():
			return nil, time.Time{}, ctx.Err()
		}
	}
}

// SkipToKey passes over the units waiting before the newest video key unit
// in the ring, so that Next returns that key unit: a reader fallen behind
// its media (a decoder short of CPU, or a burst after a stalled network)
// takes up again at the newest picture it can decode whole. It reports
// whether there was such a key unit and how many video units it passed
// over; the units passed over are the reader's choice, not losses (Dropped
// does not count them). Without a key unit waiting it changes nothing.
func (r *Reader) SkipToKey() (found bool, video int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := r.tail
	for i := r.tail; i > r.head; i-- {
		if u := r.ring[(i-1)&r.mask]; u.Key && u.Track != nil && u.Track.Kind == KindVideo {
			key = i - 1
			break
		}
	}
	if key == r.tail {
		return false, 0
	}
	for ; r.head < key; r.head++ {
		i := r.head & r.mask
		if u := r.ring[i]; u.Track != nil && u.Track.Kind == KindVideo {
			video++
		}
		r.ring[i] = nil
	}
	return true, video
}

func (r *Reader) drop() {
	r.dropped.Add(1)
	r.stream.dropped.Add(1)
}

// Dropped returns how many units this reader lost because it was behind.
func (r *Reader) Dropped() uint64 { return r.dropped.Load() }

// Close detaches the reader from its stream.
func (r *Reader) Close() {
	r.stream.mu.Lock()
	delete(r.stream.readers, r)
	r.stream.mu.Unlock()
	r.markClosed()
}

func (r *Reader) markClosed() {
	r.mu.Lock()
	r.closed = true
	if r.batchTimer != nil {
		r.batchTimer.Stop()
		r.batchArmed = false
	}
	r.mu.Unlock()
	r.wake()
}
