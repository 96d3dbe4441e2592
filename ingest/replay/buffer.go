// Package replay keeps each source's recent past as compressed units (a
// Buffer per source, fed by a reader of the source's media.Stream: no
// decode, no encode) and plays a range of it again on the source named
// "replay" at 25, 50, 75 or 100 % speed, by republishing the units with
// their timestamps stretched by 1/speed: the mixer, which shows pictures
// by timestamp, then repeats each picture evenly with no decode of its own.
package replay

import (
	"sync"
	"time"

	"switchyard/media"
)

// Buffer is one source's recent past: the units of the last Span, kept
// from a video key unit on (so any range can be decoded from the key unit
// at or before its start), and never more than MaxBytes of payload. It
// holds pointers to the stream's units, which are immutable: memory is
// about the source's bitrate × Span.
type Buffer struct {
	span     time.Duration
	maxBytes int64

	mu     sync.Mutex
	units  []*media.Unit // oldest first; units[head:] are live
	head   int
	bytes  int64
	video  bool      // the source has video: the kept units start at a key unit
	lastAt time.Time // wall time the newest unit came
}

// NewBuffer returns a buffer of span (the replay.buffer) bounded by
// maxBytes of payload (replay.max_bytes).
func NewBuffer(span time.Duration, maxBytes int64) *Buffer {
	return &Buffer{span: span, maxBytes: maxBytes}
}

// Add keeps u, which came at now, and lets go of what is older than the
// span or over the byte bound, a whole GOP at a time.
func (b *Buffer) Add(u *media.Unit, now time.Time) {
	video := u.Track != nil && u.Track.Kind == media.KindVideo
	b.mu.Lock()
	defer b.mu.Unlock()
	if video {
		b.video = true
	}
	live := b.units[b.head:]
	if len(live) > 0 && (u.DTS < live[len(live)-1].DTS-time.Second || u.DTS > live[len(live)-1].DTS+5*time.Second) {
		b.resetLocked() // a new timeline (the camera came back): the old one is another story
		live = nil
	}
	if len(live) == 0 && b.video && !(video && u.Key) {
		return // nothing decodes from here: wait for a key unit
	}
	b.units = append(b.units, u)
	b.bytes += int64(u.Size())
	b.lastAt = now
	b.trimLocked()
}

func (b *Buffer) resetLocked() {
	clear(b.units)
	b.units, b.head, b.bytes = b.units[:0], 0, 0
}

// trimLocked drops the oldest GOPs while the next key unit is still at
// least span before the newest unit, or while the bytes are over the bound.
func (b *Buffer) trimLocked() {
	for {
		live := b.units[b.head:]
		if len(live) < 2 {
			break
		}
		newest := live[len(live)-1].DTS
		next := b.nextStart(1)
		if next < 0 {
			break
		}
		tooOld := newest-live[next].DTS >= b.span
		tooBig := b.maxBytes > 0 && b.bytes > b.maxBytes
		if !tooOld && !tooBig {
			break
		}
		for i := range next {
			b.bytes -= int64(live[i].Size())
			live[i] = nil
		}
		b.head += next
	}
	if b.head > 1024 && b.head > len(b.units)/2 { // compact now and then
		n := copy(b.units, b.units[b.head:])
		clear(b.units[n:])
		b.units, b.head = b.units[:n], 0
	}
}

// nextStart returns the index (into the live units) of the first unit at
// or after from where the buffer may start: a video key unit, or for a
// source without video any unit past one of span. -1: none.
func (b *Buffer) nextStart(from int) int {
	live := b.units[b.head:]
	if !b.video {
		newest := live[len(live)-1].DTS
		for i := from; i < len(live); i++ {
			if newest-live[i].DTS < b.span || b.maxBytes > 0 && b.bytes > b.maxBytes {
				return i
			}
		}
		return -1
	}
	for i := from; i < len(live); i++ {
		if u := live[i]; u.Key && u.Track.Kind == media.KindVideo {
			return i
		}
	}
	return -1
}

// Size returns how many units, and payload bytes, the buffer holds, and
// the time they span (first to newest decoding time).
func (b *Buffer) Size() (units int, bytes int64, span time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := b.units[b.head:]
	if len(live) == 0 {
		return 0, 0, 0
	}
	return len(live), b.bytes, live[len(live)-1].DTS - live[0].DTS
}

// Snapshot returns the kept units (oldest first; the slice is the
// caller's, the units are shared and immutable) and when the newest came.
func (b *Buffer) Snapshot() ([]*media.Unit, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*media.Unit(nil), b.units[b.head:]...), b.lastAt
}
