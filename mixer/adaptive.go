package mixer

import (
	"sync"
	"time"
)

// The adaptive jitter buffer. A source's buffer (timing.go: program time =
// pts + offset + buffer) has to cover how late its media come after the
// mapping's least delay AND the time to decode them: a picture must be in
// the queue by its due time, a sound unit in the ring by the tick that
// mixes it. Each picture's and each sound unit's need,
//
//	need = ready − (pts + offset)   (ready: picture decoded, sound unit taken)
//
// (and for a picture half a frame more: the tick that shows it runs up to
// half a frame before it is due, compose.go; the offset follows the units'
// arrival in the stream, timing.go)
// is noted (transit jitter plus decode time in one figure, less what a
// unit waited for its decoder while its source was quiet: decoding after
// everything else is the program's choice, input.go's excuse), and the buffer
// follows the peak of the needs over the last needWindow plus a margin: a
// late picture is a repeated picture on air, so the percentile is the
// 100th, and one stray spike costs needWindow of a longer buffer rather
// than a picture. It grows at once (a need above the buffer is a late
// picture or late sound) in steps of at most a frame, growEvery apart, and
// shrinks slowly: shrinkHold after its last growth, by at most a quarter
// of a frame every shrinkEvery. A step of d moves the pictures decoded
// after it by d (a longer buffer repeats at most one picture, a shorter
// one, by less than a source frame, skips at most one; timing.go's queue
// keeps its order), and the sound by d when the pictures decoded before it
// have aired, where the sound is quiet (stepSound): one gap or one skip of
// at most d (crossfaded, audio.Ring), in step with the pictures. A
// microphone that follows a camera uses the camera's buffer, and its needs
// count in it.
const (
	// AutoJitter, as a source's or the program's jitter buffer, makes it
	// adaptive.
	AutoJitter time.Duration = -1

	autoFloor   = 5 * time.Millisecond          // the shortest adaptive buffer
	autoMargin  = 4 * time.Millisecond          // over the peak need, and an eighth of it
	needBin     = 2 * time.Second               // needs are kept per bin …
	needBins    = 4                             // … over the last 6 to 8 s (needWindow)
	growEvery   = 250 * time.Millisecond        // growth steps at most this often
	shrinkEvery = time.Second                   // shrink steps at most this often …
	shrinkHold  = 8 * time.Second               // … and not this soon after a growth
	shrinkMin   = 2 * time.Millisecond          // a smaller excess is left as it is
	autoStart   = 66667 * time.Microsecond      // before any need: the fixed default (2 frames at 30 fps)
	needWindow  = needBins * needBin            // how long a peak need is remembered, at most
	needCap     = MaxJitterBuffer + time.Second // a need beyond it is a stall, not a network
)

// needPeak keeps the peak need over the last needBins bins of needBin.
type needPeak struct {
	bins  [needBins]time.Duration
	start time.Duration // of the current bin (bins[0])
	seen  bool
}

func (p *needPeak) roll(now time.Duration) {
	if !p.seen {
		p.seen, p.start = true, now
		return
	}
	for now-p.start >= needBin {
		copy(p.bins[1:], p.bins[:needBins-1])
		p.bins[0] = 0
		p.start += needBin
		if now-p.start >= needWindow { // idle for longer than the window: start afresh
			p.bins, p.start = [needBins]time.Duration{}, now
		}
	}
}

func (p *needPeak) note(now, need time.Duration) {
	p.roll(now)
	p.bins[0] = max(p.bins[0], min(need, needCap))
}

func (p *needPeak) peak() time.Duration {
	var m time.Duration
	for _, b := range p.bins {
		m = max(m, b)
	}
	return m
}

// estimator decides an adaptive buffer's steps from the needs noted.
type estimator struct {
	peak     needPeak
	lastGrow time.Duration
	lastStep time.Duration
	stepped  bool // a step was taken (lastStep)
	grown    bool // a growth step was taken (lastGrow)
}

// target is the buffer that covers the peak need.
func (e *estimator) target() time.Duration {
	p := e.peak.peak()
	return min(max(p+autoMargin+p/8, autoFloor), MaxJitterBuffer)
}

// step returns the buffer to use at program time now instead of cur, for a
// program frame of frame, and whether it changed. Off air (on preview, or
// unused) it follows the need both ways, and a source cut to program comes
// on air on the buffer it came to there. On air (onAir) it grows only when
// its media came late — a need went past the buffer (a picture or sound
// late, on air a repeat or a gap already) — and not for the margin over a
// need it still covers; it shrinks as off air, slowly (a quarter frame at
// a time, shrinkHold after a growth): a step skips at most one picture and
// the sound skips where it is quiet, or crossfades. So a camera on air from
// its first frame comes down from the 2 frames it starts on, and one whose
// buffer a stall grew comes back to what its network needs — unless hold:
// a source made here (HoldOnAir) does not come down on air.
func (e *estimator) step(now, cur, frame time.Duration, onAir, hold bool) (time.Duration, bool) {
	e.peak.roll(now)
	if !e.peak.seen {
		return cur, false
	}
	want := e.target()
	since := now - e.lastStep
	grow := want > cur
	if onAir { // only for media that came late, not for the margin
		grow = e.peak.peak() > cur
	}
	switch {
	case grow && (!e.stepped || since >= max(growEvery, cur)):
		// max(…, cur): the sound has taken the last step (soundJitter);
		// half as much again as is missing, so that a peak creeping up
		// (the first seconds of a jittery feed) takes few steps
		next := min(cur+min(frame, (want-cur)*3/2), MaxJitterBuffer)
		e.lastGrow, e.lastStep, e.stepped, e.grown = now, now, true, true
		return next, true
	case !(onAir && hold) && cur-want >= shrinkMin && (!e.stepped || since >= max(shrinkEvery, cur)) && (!e.grown || now-e.lastGrow >= shrinkHold):
		next := cur - min(frame/4, cur-want)
		e.lastStep, e.stepped = now, true
		return next, true
	}
	return cur, false
}

// buffer is a source's jitter buffer: the value the pictures take (the
// input's delay), the one its sound is read with until the pictures before
// the last step have aired, and the estimator of an adaptive one.
type buffer struct {
	mu        sync.Mutex
	auto      bool
	est       estimator
	prev      time.Duration // the buffer before the last step
	changedAt time.Duration // program time of the last step
	steps     uint64        // adaptive steps taken
	holdOnAir bool          // on air it does not come down (HoldOnAir)
	// sound is the peak of the sound's needs alone (those of a microphone
	// following it too): how early its sound may be read (soundFloor)
	sound needPeak
}

// jitterBuffer is the input whose buffer in uses: the source it follows,
// or itself.
func (in *input) jitterBuffer() *input {
	if l := in.lead.Load(); l != nil {
		return l
	}
	return in
}

// soundTarget is the buffer in's sound is to be read with at program time
// t, and since when: a step applies to the sound once the pictures decoded
// before it (due up to the old buffer after the step) have aired, so that
// sound and pictures move together.
func (in *input) soundTarget(t time.Duration) (d, since time.Duration) {
	b := in.jitterBuffer()
	b.buf.mu.Lock()
	defer b.buf.mu.Unlock()
	at := b.buf.changedAt + b.buf.prev
	if t < at {
		return b.buf.prev, b.buf.changedAt
	}
	return time.Duration(b.delay.Load()), at
}

// The sound takes a step where it is quiet: the samples it skips (or
// where it leaves a gap) and quietPad either side peak below quietPeak
// (−40 dBFS), or after soundWaitMax regardless (music that never
// pauses). Until then sound and pictures differ by the step, at most a
// frame.
const (
	quietPeak    = 0.01
	quietPad     = 5 * time.Millisecond
	soundWaitMax = time.Second
)

// soundFloor is the shortest buffer, at most d, in's sound may be read
// with: for an adaptive buffer what its sound (and a following
// microphone's) needed over the last 6–8 s and autoMargin; for a fixed one,
// autoFloor. The buffer itself is decided without the pictures' phase
// (the sound's need counted with it would move the buffer, which moves
// the phase: a buffer that grew and shrank by turns on air).
func (in *input) soundFloor(d time.Duration) time.Duration {
	b := in.jitterBuffer()
	b.buf.mu.Lock()
	defer b.buf.mu.Unlock()
	f := autoFloor
	if b.buf.auto {
		f = max(b.buf.sound.peak()+autoMargin, autoFloor)
	}
	return min(d, f)
}

// soundJitter is the buffer in's sound is read with now (the encode loop's
// stepSound moves it).
func (in *input) soundJitter() time.Duration { return time.Duration(in.soundJ.Load()) }

// stepSound returns the buffer to read in's sound with for the program
// time t0 (the encode loop's, each frame): the one it has, or the step's
// new one when the sound is quiet there, has waited long enough, or — a
// longer one — ran short on the last read. The buffer is the pictures' and
// their phase (picPhase: the sound heard when its pictures are shown) —
// for a microphone, with the tie of its mapping's rest to its camera's
// (tieToLead) — but not shorter than the sound needs (soundFloor): sound read before it
// can have come is silence, so where its pictures are shown early and the
// sound cannot be, it follows them a little late — the side lip sync
// forgives. It does not allocate.
func (in *input) stepSound(t0 time.Duration) time.Duration {
	cur := time.Duration(in.soundJ.Load())
	want, since := in.soundTarget(t0)
	want = max(want+in.picPhase(want)+in.tieToLead(), in.soundFloor(want))
	if want == cur {
		return cur
	}
	if cur == 0 { // its first
		in.soundJ.Store(int64(want))
		return want
	}
	if f := in.frame; f > 0 { // steps that piled up while it waited: a frame at a time
		want = min(max(want, cur-f), cur+f)
	}
	// a longer buffer while the sound runs short (it came late): the gap
	// is there already, take the step at once
	if t0-since < soundWaitMax && !(want > cur && in.soundShort) {
		// longer: a gap at the read position; shorter: the samples
		// from it on, as far as the step, skipped
		pos := t0 - in.cmap.offset() - cur
		if in.audio.Peak(pos-quietPad, absDur(want-cur)+2*quietPad) >= quietPeak {
			return cur
		}
	}
	in.soundJ.Store(int64(want))
	return want
}

// tieToLead is how much later than its own mapping says a microphone's
// sound is read so that it rests where the camera whose buffer it follows
// rests: each mapping holds within reanchorTol of its least delay on its
// own (timing.go), so a microphone and its camera could rest up to twice
// that apart and their sound and pictures as far; read with the
// difference, the two keep the gap between their least delays; the
// buffer they share takes the difference into the microphone's needs
// (noteNeed), so its sound can be read so. Held while
// the difference moves less than tieTol (each window of least delays
// moves it a little), so the sound steps (where quiet) only when it
// matters. 0 for a source with pictures of its own: its sound stays with
// them. The encode loop's (stepSound).
func (in *input) tieToLead() time.Duration {
	l := in.lead.Load()
	if l == nil || in.cmap.video.Load() {
		in.tie.Store(0)
		return 0
	}
	cur := time.Duration(in.tie.Load())
	if t := time.Duration(l.cmap.rest.Load() - in.cmap.rest.Load()); absDur(t-cur) > tieTol {
		in.tie.Store(int64(t))
		return t
	}
	return cur
}

// tieTol is how far a microphone's tie to its camera (tieToLead) may move
// before its sound follows: well inside what an audience can tell.
const tieTol = 4 * time.Millisecond

// setBuffer sets in's own buffer to d at program time now (the pictures at
// once, the sound when the pictures before have aired).
func (in *input) setBuffer(now, d time.Duration) {
	in.buf.mu.Lock()
	defer in.buf.mu.Unlock()
	in.setBufferLocked(now, d)
}

func (in *input) setBufferLocked(now, d time.Duration) {
	cur := time.Duration(in.delay.Load())
	if d == cur {
		return
	}
	// a step before the sound took the last one: the sound goes on from
	// what it reads now
	if now < in.buf.changedAt+in.buf.prev {
		cur = in.buf.prev
	}
	in.buf.prev, in.buf.changedAt = cur, now
	in.delay.Store(int64(d))
}

// noteNeed notes that media of in (sound, or a picture) were ready need
// after their least-delay time (at program time now) and, when the buffer
// in uses is adaptive, moves it by a step if that is due. A step changes
// the sound's wake-up (setWake) of the source whose buffer it is.
func (in *input) noteNeed(now, need time.Duration, frame time.Duration, sound bool) {
	b := in.jitterBuffer()
	b.buf.mu.Lock()
	if !b.buf.auto {
		b.buf.mu.Unlock()
		return
	}
	if sound {
		b.buf.sound.note(now, max(need, 0))
		// the buffer makes room for it read with its tie (a microphone
		// whose mapping rests later than its camera's is read earlier
		// than its own needs say: the camera's pictures wait for it)
		need -= time.Duration(in.tie.Load())
	}
	b.buf.est.peak.note(now, max(need, 0))
	cur := time.Duration(b.delay.Load())
	next, changed := b.buf.est.step(now, cur, frame, b.onAir(), b.buf.holdOnAir)
	if changed {
		b.setBufferLocked(now, next)
		b.buf.steps++
	}
	b.buf.mu.Unlock()
	if changed {
		b.setWake()
	}
}

// onAir reports whether the program used in's pictures or sound (or those
// of a source that follows its buffer) in the last airedFor ticks.
func (in *input) onAir() bool {
	return in.clock != nil && in.clock.Load()-in.airedAt.Load() <= airedFor
}

// airedFor is how many ticks a source stays on air for its buffer after the
// program last used it: a tick or two of slack for the sound, which the
// encode loop mixes beside the tick.
const airedFor = 2

// markAired marks the source, and the one whose buffer it follows, as on
// air at tick n (in may be nil).
func (in *input) markAired(n int64) {
	if in == nil {
		return
	}
	in.airedAt.Store(n)
	if l := in.lead.Load(); l != nil {
		l.airedAt.Store(n)
	}
}

// bufferState returns whether in's buffer is adaptive, the peak need it
// follows and the steps it took.
func (in *input) bufferState() (auto bool, need time.Duration, steps uint64) {
	b := in.jitterBuffer()
	b.buf.mu.Lock()
	defer b.buf.mu.Unlock()
	return b.buf.auto, b.buf.est.peak.peak(), b.buf.steps
}
