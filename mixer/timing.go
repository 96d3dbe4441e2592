package mixer

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/media/av"
	"switchyard/mixer/clock"
)

// Frame timing. Each source's timestamps are mapped to the program clock:
//
//	program time = pts + offset + jitter delay
//
// For each track the smallest (arrival − pts) seen lately is its path with
// the least delay; offset is the largest of those, so the track that comes
// later (audio waits for whole codec frames, muxers interleave) is still in
// time. It is held steady and moved only when that value moves by more than
// reanchorTol (a camera's clock drifting against ours, a route changing),
// by at most a program frame a unit (one picture repeated or skipped a
// move), or at once when the timestamps jump (a new publisher).
// Video and audio of a source share the mapping, so they leave the mixer
// together whatever their arrival: pictures wait in a small queue until
// their program time, audio is read from its ring at the source time that
// matches the program's. A 25 or 60 fps camera in a 30 fps program repeats
// or drops pictures by timestamp, and a jittery network feed plays evenly.
const (
	mapWindow   = 2 * time.Second         // how long a smallest delay is remembered
	restWindow  = 8 * time.Second         // … for the rest (a follower's tie)
	reanchorTol = 15 * time.Millisecond   // offset drift tolerated before it moves
	jumpTol     = 1 * time.Second         // a jump this large re-anchors at once
	picQueueMin = 8                       // pictures waiting for their time, at least
	picQueueMax = 72                      // … and at most (a 1 s jitter buffer at 60 fps)
	snapTol     = 1500 * time.Microsecond // timestamp rounding taken out (whole ms, and then some)
)

// clockMap is one source's mapping to the program clock.
type clockMap struct {
	mu       sync.Mutex
	anchored bool
	tracks   [2]trackDelay // video, audio
	long     [2]trackDelay // the same over restWindow (rest)
	off      atomic.Int64  // time.Duration; read by the tick
	// rest is how far off rests from the least delay over the last 8–16 s
	// (long): a microphone following a camera takes the difference of
	// theirs (tieToLead), so the two do not rest apart — the longer
	// memory, for a steadier least delay over a path that wanders, than
	// the mapping's own (which follows a drift within seconds)
	rest atomic.Int64
	// video: pictures are among the units it maps (once seen, kept through
	// a jump: a camera re-anchored on a sound unit is still a camera)
	video atomic.Bool
	moves atomic.Uint64 // times off moved with the least delay (not at a jump)
	// maxMove bounds a move with the least delay (0: none): a program
	// frame, so that a move repeats or skips at most one picture on air;
	// a larger change of the least delay takes a move per unit until done.
	maxMove time.Duration
	late    lateWindow // units' arrival after the mapping's least delay
}

// lateWindow keeps the most any unit arrived after the mapping's least
// delay (arrival − pts − offset), over the current and the previous
// window: the network's (and the publisher's) jitter, what a jitter buffer
// must cover.
type lateWindow struct {
	winStart        time.Duration
	winMax, prevMax time.Duration
	seen            bool
}

func (w *lateWindow) note(arrival, late time.Duration) {
	late = max(late, 0)
	switch {
	case !w.seen:
		*w = lateWindow{seen: true, winStart: arrival, winMax: late}
	case arrival-w.winStart > mapWindow:
		w.prevMax, w.winMax, w.winStart = w.winMax, late, arrival
	default:
		w.winMax = max(w.winMax, late)
	}
}

// transit returns the most a unit arrived after the least delay in the
// last two to four seconds (0 before any).
func (m *clockMap) transit() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return max(m.late.winMax, m.late.prevMax)
}

// trackDelay keeps a track's smallest arrival − pts over the current and
// the previous window.
type trackDelay struct {
	seen            bool
	winStart        time.Duration
	winMin, prevMin time.Duration
}

func (d *trackDelay) note(arrival, raw, window time.Duration) {
	switch {
	case !d.seen:
		*d = trackDelay{seen: true, winStart: arrival, winMin: raw, prevMin: raw}
	case arrival-d.winStart > window:
		d.prevMin, d.winMin, d.winStart = d.winMin, raw, arrival
	default:
		d.winMin = min(d.winMin, raw)
	}
}

// observe notes a unit of track (0 video, 1 audio) with timestamp pts
// arriving at program time arrival. A jump of the timestamps re-anchors at
// once (what is queued is flushed when the new pictures come in before it).
func (m *clockMap) observe(track int, arrival, pts time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	raw := arrival - pts
	cur := time.Duration(m.off.Load())
	if !m.anchored || absDur(raw-cur) > jumpTol {
		m.anchored = true
		if track == 0 {
			m.video.Store(true)
		}
		m.tracks, m.long = [2]trackDelay{}, [2]trackDelay{}
		m.tracks[track].note(arrival, raw, mapWindow)
		m.long[track].note(arrival, raw, restWindow)
		m.off.Store(int64(raw))
		m.rest.Store(0)
		m.late = lateWindow{}
		m.late.note(arrival, 0)
		return
	}
	if track == 0 && !m.video.Load() {
		m.video.Store(true)
	}
	if !m.tracks[track].seen && raw > cur {
		// a track that joins later than the mapping (a sound held back
		// until the sender's reports place it, or that starts after the
		// pictures) moves it at once, as a new publisher does: in steps
		// of a frame its units would come late until the mapping caught
		// up, and grow the jitter buffer by as much for minutes
		m.tracks[track].note(arrival, raw, mapWindow)
		m.long[track].note(arrival, raw, restWindow)
		m.off.Store(int64(raw))
		m.rest.Store(int64(raw - least(m.long)))
		m.late = lateWindow{}
		m.late.note(arrival, 0)
		return
	}
	m.tracks[track].note(arrival, raw, mapWindow)
	m.long[track].note(arrival, raw, restWindow)
	est := least(m.tracks)
	if absDur(est-cur) > reanchorTol {
		to := est
		if m.maxMove > 0 {
			to = min(max(est, cur-m.maxMove), cur+m.maxMove)
		}
		m.off.Store(int64(to))
		m.moves.Add(1)
	}
	m.rest.Store(m.off.Load() - int64(least(m.long)))
	m.late.note(arrival, raw-time.Duration(m.off.Load()))
}

// least is the mapping's least delay by tracks: that of the track that
// comes last (timing).
func least(tracks [2]trackDelay) time.Duration {
	est := time.Duration(math.MinInt64)
	for _, d := range tracks {
		if d.seen {
			est = max(est, min(d.prevMin, d.winMin))
		}
	}
	return est
}

// cadence takes the rounding jitter out of a camera's picture timestamps.
// RTMP carries whole milliseconds, so a 60 fps camera's frames come 16 and
// 17 ms apart; when its frames fall near the middle of a program frame,
// where the tick decides between two of them, that jitter would make the
// program step 1, 3, 2 frames instead of 2, 2, 2. Timestamps within
// snapTol of the grid of the track's declared rate are snapped onto it; one
// off the grid (variable rate, a new timeline, a rate other than declared)
// is left as it is and starts a new grid there.
type cadence struct {
	origin time.Duration
	fps    float64 // of the grid; 0: none yet
	run    int     // timestamps in a row on the grid since its origin
}

func (c *cadence) snap(pts time.Duration, fps float64) time.Duration {
	if fps <= 0 {
		c.fps, c.run = 0, 0
		return pts
	}
	if c.fps != fps {
		c.origin, c.fps, c.run = pts, fps, 0
		return pts
	}
	k := math.Round(float64(pts-c.origin) * fps / float64(time.Second))
	on := c.origin + time.Duration(k*float64(time.Second)/fps)
	if absDur(pts-on) > snapTol {
		c.origin, c.run = pts, 0
		return pts
	}
	c.run++
	return on
}

// steady reports whether the pictures have kept to one grid lately.
func (c *cadence) steady() bool { return c.run >= steadyRun }

// steadyRun is how many pictures in a row on one grid make a cadence
// steady: a camera's, not a variable rate's.
const steadyRun = 8

// The picture phase. A tick shows the pictures due by its frame's middle
// (compose), so a picture is on air at the program frame nearest its due
// time, up to half a frame before or after it. A camera at the program's
// rate, on a steady cadence, is shown the same amount off its time
// picture after picture; its sound — and that of a microphone following
// its buffer — is read that much off too (stepSound), so the sound is
// heard with the pictures it was captured with rather than up to half a
// frame from them, as a frame synchroniser keeps sound with its pictures.
// Other rates (25 into 30) are shown off by an amount that changes with
// each picture; their sound stays on their timestamps.

// notePicGrid notes the source time of a picture on the program's frame
// grid (ok: the source's rate is the program's and its cadence steady),
// or that there is none.
func (in *input) notePicGrid(pts time.Duration, ok bool) {
	if ok {
		in.picGrid.Store(int64(pts))
	}
	in.gridOK.Store(ok)
}

// sameRate reports whether a camera's declared rate is the program's (to
// within 1e-4: 30 is not 29.97, whose pictures drift a frame every 33 s).
func sameRate(fps float64, r clock.Rate) bool {
	prog := float64(r.Num) / float64(r.Den)
	return fps > 0 && math.Abs(fps/prog-1) < 1e-4
}

// picPhase is how far from their due time, on a buffer of d, the program
// shows in's pictures — or, for a source without them (a microphone), those
// of the camera whose buffer it follows: the program frame nearest that
// time, less the time (−half a frame … +half a frame). 0 when their rate
// is not the program's or their cadence is not steady.
func (in *input) picPhase(d time.Duration) time.Duration {
	b := in
	if !b.gridOK.Load() {
		b = in.jitterBuffer()
	}
	if !b.gridOK.Load() || in.frame <= 0 {
		return 0
	}
	due := time.Duration(b.picGrid.Load()) + b.cmap.offset() + d
	if due < in.frame {
		return 0 // the program's first frame: nothing to round to before it
	}
	// the first frame whose middle is at or after due (compose's take)
	n := in.rate.FrameOf(due - in.frame/2)
	return in.rate.FrameTime(n) - due
}

// ahead is how long track's units wait for the mapping beyond the jitter
// delay when they come by its least delay: the mapping follows the track
// that comes last, so the other one waits that much longer (a camera whose
// sound comes half a second after its pictures has its pictures wait half
// a second). 0 for the track that comes last, or an unseen one.
func (m *clockMap) ahead(track int) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.tracks[track]
	if !d.seen {
		return 0
	}
	return max(time.Duration(m.off.Load())-min(d.prevMin, d.winMin), 0)
}

// offset is the current mapping (program time − pts, before the jitter delay).
func (m *clockMap) offset() time.Duration { return time.Duration(m.off.Load()) }

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// duePic is a decoded picture waiting for its program time.
type duePic struct {
	ref *av.PictureRef
	due time.Duration
	pts time.Duration // its source timestamp (noPTS: none)
	way clock.PictureWay
}

// noPTS marks a picture without a timestamp.
const noPTS = time.Duration(math.MinInt64)

// queueCap is how many decoded pictures of a camera at fps may wait for
// wait (the jitter buffer, and how far they come ahead of the mapping: a source
// whose sound comes later has its pictures wait for it) and four more
// (decoding runs ahead of the tick by a frame or two, a burst after a
// stall). A smaller queue would push pictures out to be shown before their
// time, by count instead of by timestamp — and out of step with their
// sound. Each is a decoded picture (3 MB at 1080p), hence the bounds: a
// sound more than about two seconds behind its pictures is not waited for.
func queueCap(wait time.Duration, fps float64) int {
	if fps <= 0 {
		return picQueueMin
	}
	n := int(math.Ceil(wait.Seconds()*fps)) + 4
	return min(max(n, picQueueMin), picQueueMax)
}

// queuePicture adds a decoded picture due at program time due to a queue of
// at most capacity. A picture due before the last queued one (a new
// timeline) flushes the queue. A full queue pushes its oldest out to be the
// picture on show: a source nobody takes from (out of sight) keeps a recent
// picture there for a cut to it. A picture due by the last tick that took
// from the source came too late for it (the tick repeated the picture
// before) and is counted.
func (in *input) queuePicture(r *av.PictureRef, due, pts time.Duration, capacity int, way clock.PictureWay) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if due <= in.tickAt {
		in.picsLate.Add(1)
	}
	if n := len(in.queue); n > 0 && due < in.queue[n-1].due {
		in.flushLocked()
	}
	for len(in.queue) >= max(capacity, 1) {
		if in.shown != nil {
			in.shown.Release()
		}
		in.shown = in.queue[0].ref
		in.shownPTS.Store(int64(in.queue[0].pts))
		n := copy(in.queue, in.queue[1:])
		in.queue[n] = duePic{}
		in.queue = in.queue[:n]
	}
	way.Due = due
	in.queue = append(in.queue, duePic{ref: r, due: due, pts: pts, way: way})
	in.decodedAt = time.Now()
}

func (in *input) flushLocked() {
	for i := range in.queue {
		in.queue[i].ref.Release()
		in.queue[i] = duePic{}
	}
	in.queue = in.queue[:0]
}

// take returns, with a reference the caller releases, the picture to show
// at program time at: the newest one due by then (older ones are passed
// over), else the one already on show, else the oldest waiting (a cut to a
// source that has nothing due yet — it is catching up after a stall — shows
// a picture of it on the next frame, a little early, rather than its
// slate). nil when nothing was decoded within maxAge. Pictures only move
// forward, whoever asks; a tick (tick true) also marks the time it took
// for, so that a picture due by then, decoded after, is counted late.
func (in *input) take(now time.Time, at, maxAge time.Duration, tick bool) *av.PictureRef {
	in.mu.Lock()
	defer in.mu.Unlock()
	if tick {
		in.tickAt = max(in.tickAt, at)
		in.took.Fresh = false
	}
	i := -1
	for j := range in.queue {
		if in.queue[j].due <= at {
			i = j
		}
	}
	if i < 0 && in.shown == nil && len(in.queue) > 0 {
		i = 0
	}
	if i >= 0 {
		if in.shown != nil {
			in.shown.Release()
		}
		for j := range i {
			in.queue[j].ref.Release()
		}
		in.shown = in.queue[i].ref
		in.shownPTS.Store(int64(in.queue[i].pts))
		if tick {
			in.took = in.queue[i].way
			in.took.Fresh = true
		}
		n := copy(in.queue, in.queue[i+1:])
		clear(in.queue[n:])
		in.queue = in.queue[:n]
	}
	if in.shown == nil || now.Sub(in.decodedAt) > maxAge {
		return nil
	}
	in.shown.Retain()
	return in.shown
}

// tookFresh returns the way of the picture the last tick took, when it
// took a new one.
func (in *input) tookFresh() (clock.PictureWay, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.took, in.took.Fresh
}

// clearPictures drops every picture (the input is stopping).
func (in *input) clearPictures() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.flushLocked()
	if in.shown != nil {
		in.shown.Release()
		in.shown = nil
	}
	in.shownPTS.Store(int64(noPTS))
}
