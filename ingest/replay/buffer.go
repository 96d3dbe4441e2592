// Package replay keeps each source's recent past as compressed units (a
// Buffer per source, fed by a reader of the source's media.Stream: no
// decode, no encode; past its memory share spilled to segment files) and
// plays a range of it again on the source named "replay" at 25, 50, 75 or
// 100 % speed, by republishing the units with their timestamps stretched
// by 1/speed: the mixer, which shows pictures by timestamp, then repeats
// each picture evenly with no decode of its own. With Slow blend the
// replay player decodes the range and sends pictures of its own, the
// in-between ones mixed (package slowmo, which also makes the picture a
// replay holds at its end).
package replay

import (
	"slices"
	"sync"
	"time"

	"switchyard/media"
)

// Buffer is one source's recent past: the units of the last Span, kept
// from a video key unit on (so any range can be decoded from the key unit
// at or before its start), and never more than MaxBytes of payload in
// memory. It holds pointers to the stream's units, which are immutable:
// memory is about the source's bitrate × Span. With SpillTo, the oldest
// GOPs past MaxBytes go to segment files on disk (bounded too) instead of
// away; Snapshot lists them with no payload, Load reads them back.
type Buffer struct {
	span     time.Duration
	maxBytes int64

	mu     sync.Mutex
	units  []*media.Unit // oldest first; units[head:] are live
	head   int
	bytes  int64
	video  bool      // the source has video: the kept units start at a key unit
	lastAt time.Time // wall time the newest unit came

	disk    *spill // the part on disk, older than units; nil: memory only
	spilled bool   // SpillTo was called: a unit with no payload is a spilled one
	warn    func(msg string, args ...any)
}

// SpillTo lets the buffer keep what is over its memory bound in segment
// files dir/<name>-<n>.seg (dir made by PrepareSpillDir), at most
// diskBytes of them; warn is told, once, when a file cannot be written
// (the buffer then keeps what memory holds). Call it before the first Add.
func (b *Buffer) SpillTo(dir, name string, diskBytes int64, warn func(msg string, args ...any)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if diskBytes > 0 {
		b.disk, b.spilled, b.warn = newSpill(dir, name, diskBytes), true, warn
	}
}

// Close removes the buffer's segment files; the buffer keeps memory only.
func (b *Buffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.disk != nil {
		b.disk.close()
		b.disk = nil
	}
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
	if b.disk != nil {
		b.disk.close()
	}
	clear(b.units)
	b.units, b.head, b.bytes = b.units[:0], 0, 0
}

// trimLocked drops the oldest GOPs while the next key unit is still at
// least span before the newest unit, or while the bytes are over the bound.
func (b *Buffer) trimLocked() {
	b.trimDiskLocked()
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
		if !tooOld && b.disk != nil {
			b.spillLocked(live[:next])
		}
		for i := range next {
			b.bytes -= int64(live[i].Size())
			live[i] = nil
		}
		b.head += next
	}
	b.trimDiskLocked()
	if b.head > 1024 && b.head > len(b.units)/2 { // compact now and then
		n := copy(b.units, b.units[b.head:])
		clear(b.units[n:])
		b.units, b.head = b.units[:n], 0
	}
}

// spillLocked writes units (the oldest in memory, about to go) to disk;
// on a failure the disk part is given up, with one warning.
func (b *Buffer) spillLocked(units []*media.Unit) {
	for _, u := range units {
		if err := b.disk.write(u); err != nil {
			b.disk.close()
			b.disk = nil
			if b.warn != nil {
				b.warn("replay: the buffer cannot spill to disk; it keeps what memory holds (replay.max_bytes) — free space in data_dir/replay or raise replay.max_bytes",
					"err", err)
			}
			return
		}
	}
}

// trimDiskLocked drops the oldest spilled GOPs while the next start is
// at least span before the newest unit, or while the files are over
// their bound (a segment file at a time, then on to a start).
func (b *Buffer) trimDiskLocked() {
	d := b.disk
	live := b.units[b.head:]
	if d == nil || len(live) == 0 {
		return
	}
	newest := live[len(live)-1].DTS
	start := func(from int) int { // the first start in d.units at or after from; -1: none
		for i := from; i < len(d.units); i++ {
			if u := d.units[i]; !b.video || u.Key && u.Track.Kind == media.KindVideo {
				return i
			}
		}
		return -1
	}
	for len(d.units) > 0 {
		next := start(1)
		nextDTS := live[0].DTS
		if next >= 0 {
			nextDTS = d.units[next].DTS
		} else {
			next = len(d.units)
		}
		if newest-nextDTS < b.span {
			break
		}
		d.drop(next)
	}
	for len(d.units) > 0 && d.bytes > d.max {
		n := start(max(d.oldestSegmentUnits(), 1))
		if n < 0 {
			n = len(d.units)
		}
		d.drop(n)
	}
	if len(d.units) == 0 && len(d.segs) > 0 {
		d.close()
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
	units, bytes, oldest := len(live), b.bytes, live[0].DTS
	if b.disk != nil && len(b.disk.units) > 0 {
		units += len(b.disk.units)
		bytes += b.disk.bytes
		oldest = b.disk.units[0].DTS
	}
	return units, bytes, live[len(live)-1].DTS - oldest
}

// Spilled returns how many of the units, and bytes, are on disk.
func (b *Buffer) Spilled() (units int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.disk == nil {
		return 0, 0
	}
	return len(b.disk.units), b.disk.bytes
}

// Snapshot returns the kept units (oldest first; the slice is the
// caller's, the units are shared and immutable) and when the newest came.
// Those spilled to disk have no Data: Load reads it.
func (b *Buffer) Snapshot() ([]*media.Unit, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*media.Unit
	if b.disk != nil {
		out = append(out, b.disk.units...)
	}
	return append(out, b.units[b.head:]...), b.lastAt
}

// Load returns units (from Snapshot) with the payloads of those spilled
// to disk read back (new units; the others as they are). An error when a
// spilled unit has left the buffer since, or cannot be read.
func (b *Buffer) Load(units []*media.Unit) ([]*media.Unit, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(units)
	for i, u := range out {
		if u == nil || u.Data != nil || !b.spilled {
			continue
		}
		if b.disk == nil {
			return nil, errSpillGone
		}
		data, err := b.disk.read(u)
		if err != nil {
			return nil, err
		}
		c := *u
		c.Data = data
		out[i] = &c
	}
	return out, nil
}
