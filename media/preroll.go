package media

import "time"

// Pre-roll: a Stream keeps its latest units, as RTMP servers keep a GOP for
// a fast start, so that a reader opened now can begin before now — a
// recording started at REC has the camera from REC on, though its next key
// unit comes seconds later, and covers what the program showed from a
// jitter buffer behind REC.
//
// With video, the kept units begin at a key unit, the latest one at least
// PrerollMin older than the newest unit (so at REC the reader gets at least
// PrerollMin before it, from the GOP that covers it: between PrerollMin
// and PrerollMin plus one GOP). Without video (a microphone), the last
// PrerollMin of units. Either way never more than PrerollMaxBytes, nor
// spanning more than PrerollMaxSpan: a GOP longer than that is not kept
// (a reader then starts at the next key unit, as without pre-roll).
const (
	PrerollMin      = 2 * time.Second
	PrerollMaxSpan  = 10 * time.Second
	PrerollMaxBytes = 32 << 20
	// prerollFresh: kept units whose newest arrived longer ago than this
	// (a publisher that went away) are not handed to a new reader.
	prerollFresh = 2 * time.Second
	// prerollJump: a video key unit this far from the kept ones (a new
	// publisher, timestamps starting over) starts the pre-roll afresh.
	prerollJump = 5 * time.Second
)

// preroll is a Stream's kept units, guarded by the stream's mutex.
type preroll struct {
	units  []*Unit
	keys   []int // indexes of the video key units in units
	bytes  int
	video  bool      // the stream carries video: the kept units start at a key unit
	last   time.Time // when the newest unit was written
	newest time.Duration
}

// add keeps u (written at now) and lets go of what is no longer needed.
func (p *preroll) add(u *Unit, now time.Time) {
	p.last = now
	video := u.Track != nil && u.Track.Kind == KindVideo
	switch {
	case video && u.Key:
		if !p.video || len(p.units) == 0 || absDur(u.DTS-p.newest) > prerollJump || p.keyTrackChanged(u) {
			p.reset()
		}
		p.video = true
		p.keys = append(p.keys, len(p.units))
	case video:
		p.video = true
		if len(p.keys) == 0 {
			return // nothing to decode it from
		}
	case p.video && len(p.keys) == 0:
		return // audio before the first key unit: a reader starts at that key unit
	case !p.video && len(p.units) > 0 && absDur(u.DTS-p.newest) > prerollJump:
		p.reset()
	}
	p.units = append(p.units, u)
	p.bytes += u.Size()
	if video || !p.video {
		p.newest = u.DTS
	}
	p.trim()
}

// keyTrackChanged reports a key unit of another video track than the kept
// key units' (new parameters): what was kept does not go with it.
func (p *preroll) keyTrackChanged(u *Unit) bool {
	return len(p.keys) > 0 && p.units[p.keys[0]].Track != u.Track
}

func (p *preroll) reset() {
	clear(p.units)
	p.units, p.keys, p.bytes = p.units[:0], p.keys[:0], 0
}

// trim drops the oldest units while the rest still reach PrerollMin back,
// and whatever breaks the bounds.
func (p *preroll) trim() {
	if !p.video {
		i := 0
		for i < len(p.units)-1 && (p.newest-p.units[i].DTS > PrerollMin || p.bytes > PrerollMaxBytes) {
			p.bytes -= p.units[i].Size()
			i++
		}
		p.drop(i)
		return
	}
	// the latest key unit at least PrerollMin old
	k := 0
	for j := len(p.keys) - 1; j > 0; j-- {
		if p.newest-p.units[p.keys[j]].DTS >= PrerollMin {
			k = j
			break
		}
	}
	// the bounds: drop whole GOPs, all when one GOP alone is too long
	for k < len(p.keys) && (p.newest-p.units[p.keys[k]].DTS > PrerollMaxSpan || p.bytesFrom(p.keys[k]) > PrerollMaxBytes) {
		k++
	}
	if k == len(p.keys) {
		p.reset()
		return
	}
	if k > 0 {
		at := p.keys[k]
		for _, u := range p.units[:at] {
			p.bytes -= u.Size()
		}
		p.drop(at)
		n := copy(p.keys, p.keys[k:])
		p.keys = p.keys[:n]
		for i := range p.keys {
			p.keys[i] -= at
		}
	}
}

func (p *preroll) bytesFrom(i int) int {
	n := p.bytes
	for _, u := range p.units[:i] {
		n -= u.Size()
	}
	return n
}

// drop removes the first n units (copying, so the array lets them go).
func (p *preroll) drop(n int) {
	if n == 0 {
		return
	}
	m := copy(p.units, p.units[n:])
	clear(p.units[m:])
	p.units = p.units[:m]
}

// snapshot returns the kept units, or none when they are stale.
func (p *preroll) snapshot(now time.Time) []*Unit {
	if len(p.units) == 0 || now.Sub(p.last) > prerollFresh {
		return nil
	}
	return append([]*Unit(nil), p.units...)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
