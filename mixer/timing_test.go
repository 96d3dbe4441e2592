package mixer

import (
	"math"
	"testing"
	"time"

	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/audio"
	"switchyard/mixer/clock"
)

const ms = time.Millisecond

func TestClockMapTakesTheLaterTrackAndHoldsSteady(t *testing.T) {
	var m clockMap
	// video arrives 10 ms after its timestamp, audio 50 ms (whole codec frames)
	for i := range 100 {
		pts := time.Duration(i) * 20 * ms
		m.observe(0, pts+10*ms+time.Duration(i%3)*ms, pts)
		m.observe(1, pts+50*ms+time.Duration(i%5)*ms, pts)
	}
	if got := m.offset(); got != 50*ms {
		t.Fatalf("offset %s, want the later track's least delay, 50ms", got)
	}
	// a slow drift below the tolerance does not move it; beyond it, it does
	for i := 100; i < 400; i++ {
		pts := time.Duration(i) * 20 * ms
		drift := time.Duration(i-100) * ms / 5 // 60 ms over the run
		m.observe(0, pts+10*ms+drift, pts)
		m.observe(1, pts+50*ms+drift, pts)
		if off := m.offset(); off != 50*ms && (off < 50*ms+reanchorTol || off > 50*ms+drift) {
			t.Fatalf("at %d: offset %s with drift %s", i, off, drift)
		}
	}
	if m.offset() == 50*ms {
		t.Fatal("a 60 ms drift never moved the offset")
	}
	// a new publisher starting its timestamps at 0 re-anchors at once
	m.observe(0, 10*time.Second, 0)
	if got := m.offset(); got != 10*time.Second {
		t.Fatalf("after a jump: offset %s, want 10s", got)
	}
}

// videoMapped is a mapping (moves of at most maxMove) of a video track whose
// units came 20 ms apart, each 10 ms after its timestamp, for a second.
func videoMapped(maxMove time.Duration) *clockMap {
	m := &clockMap{maxMove: maxMove}
	for i := range 50 {
		pts := time.Duration(i) * 20 * ms
		m.observe(0, pts+10*ms, pts)
	}
	return m
}

// TestClockMapMovesAFrameAtATime: a least delay that changes by more than
// a program frame (a route changing; the window forgetting a fast unit on a
// jittery path) moves the mapping a frame per unit, each move at most a
// frame, until it is there — one picture repeated or skipped a move.
func TestClockMapMovesAFrameAtATime(t *testing.T) {
	const frame = 33333 * time.Microsecond
	m := videoMapped(frame)
	// the path now takes 100 ms more, and the 10 ms delay is forgotten
	prev, moves := m.offset(), m.moves.Load()
	for i := 50; i < 400; i++ {
		pts := time.Duration(i) * 20 * ms
		m.observe(0, pts+110*ms, pts)
		off := m.offset()
		if absDur(off-prev) > frame {
			t.Fatalf("at %d: moved %v → %v, more than a frame", i, prev, off)
		}
		prev = off
	}
	if got := m.offset(); absDur(got-110*ms) > reanchorTol {
		t.Fatalf("offset %v, want it moved to 110ms (within %v)", got, reanchorTol)
	}
	if n := m.moves.Load() - moves; n < 3 || n > 4 {
		t.Fatalf("%d moves for 100 ms, want 3 or 4 of at most a frame", n)
	}
}

// TestClockMapMeasuresTransitJitter: the most a unit arrived after the
// mapping's least delay, over the last two to four seconds — what a jitter
// buffer has to cover — follows the network: it rises at once with a late
// unit and forgets it once two windows have passed.
func TestClockMapMeasuresTransitJitter(t *testing.T) {
	var m clockMap
	if m.transit() != 0 {
		t.Fatal("transit before any unit")
	}
	at := func(i int) time.Duration { return time.Duration(i) * 33 * ms }
	for i := range 100 { // a clean LAN: 2 ms of jitter
		m.observe(0, at(i)+5*ms+time.Duration(i%3)*ms, at(i))
	}
	if got := m.transit(); got != 2*ms {
		t.Fatalf("clean path: transit %s, want 2ms", got)
	}
	m.observe(0, at(100)+5*ms+40*ms, at(100)) // one unit 40 ms late
	if got := m.transit(); got != 40*ms {
		t.Fatalf("after a late unit: transit %s, want 40ms", got)
	}
	for i := 101; i < 101+int(2*mapWindow/(33*ms))+2; i++ {
		m.observe(0, at(i)+5*ms, at(i))
	}
	if got := m.transit(); got != 0 {
		t.Fatalf("two windows after the late unit: transit %s, want 0", got)
	}
}

// TestPictureQueueShowsACaughtUpSourceAtOnce: a source out of sight whose
// pictures are all due later (it is catching up after a stall) still shows
// a picture of its own on the first take, and pictures pushed out of a full
// queue keep what is on show recent.
func TestPictureQueueShowsACaughtUpSourceAtOnce(t *testing.T) {
	in, queue := queueInput(t)
	put := func(due time.Duration) *av.PictureRef { return queue(due, picQueueMin) }
	now := time.Now()
	first := put(100 * ms)
	put(133 * ms)
	got := in.take(now, 50*ms, time.Second, true) // nothing due by 50 ms
	if got != first {
		t.Fatal("a source never shown gave no picture when nothing was due yet")
	}
	got.Release()
	// once one is on show, pictures not yet due wait for their time
	if got := in.take(now, 60*ms, time.Second, true); got != first {
		t.Fatal("a picture not yet due was shown early")
	} else {
		got.Release()
	}
	// a full queue (nobody taking) pushes its oldest out to be on show
	var refs []*av.PictureRef
	for i := range picQueueMin + 2 {
		refs = append(refs, put(time.Duration(200+i*33)*ms))
	}
	in.mu.Lock()
	shown := in.shown
	in.mu.Unlock()
	if shown != refs[1] {
		t.Fatal("the picture on show is not the newest pushed out of the full queue")
	}
}

// TestCadenceTakesOutTimestampRounding: a 60 fps camera's whole-millisecond
// timestamps land on its exact grid; a stream whose timestamps are not on
// the declared rate's grid is left as it is.
func TestCadenceTakesOutTimestampRounding(t *testing.T) {
	var c cadence
	const origin = 5 * time.Second
	for k := range 600 {
		exact := origin + time.Duration(k)*time.Second/60
		rounded := exact.Round(time.Millisecond) // as RTMP carries it
		if got := c.snap(rounded, 60); absDur(got-exact) > time.Microsecond {
			t.Fatalf("frame %d: %s snapped to %s, want %s", k, rounded, got, exact)
		}
	}
	// declared 25 fps, sent at 30: nothing moves
	var d cadence
	for k := range 300 {
		pts := time.Duration(k) * time.Second / 30
		if got := d.snap(pts, 25); got != pts {
			t.Fatalf("frame %d of a mis-declared stream moved from %s to %s", k, pts, got)
		}
	}
	// no declared rate: as they come
	if got := d.snap(123*ms, 0); got != 123*ms {
		t.Fatalf("without a rate: %s", got)
	}
}

// TestPictureQueueHoldsTheJitterBuffer: a 60 fps camera with a 150 ms
// jitter buffer has nine or ten pictures waiting at any time; a 30 fps
// camera whose sound comes 500 ms after its pictures (the mapping follows
// the sound) has its pictures wait that much more, fifteen more of them.
// Every program frame must show the newest picture due by then — never one
// pushed out of a queue too small for the wait to be shown ahead of its
// time (and of its sound).
func TestPictureQueueHoldsTheJitterBuffer(t *testing.T) {
	for _, c := range []struct {
		fps         float64
		delay, lead time.Duration
	}{{60, 150 * ms, 0}, {30, 50 * ms, 500 * ms}} {
		in, queue := queueInput(t)
		frame := time.Duration(float64(time.Second) / c.fps)
		tick := time.Second / 30
		wait := c.delay + c.lead
		due := map[*av.PictureRef]time.Duration{}
		now := time.Now()
		next := 0 // the next camera frame to arrive
		for k := range 60 {
			at := time.Duration(k) * tick
			for ; time.Duration(next)*frame <= at; next++ { // frames arrive on time
				d := time.Duration(next)*frame + wait
				due[queue(d, queueCap(wait, c.fps))] = d
			}
			got := in.take(now, at, time.Second, true)
			if got == nil {
				t.Fatalf("%v fps, wait %v: tick %d: no picture", c.fps, wait, k)
			}
			d := due[got]
			got.Release()
			if at < wait {
				continue // the first frames: shown early rather than the slate
			}
			if d > at || at-d >= frame {
				t.Fatalf("%v fps, wait %v: tick %d at %v showed the picture due at %v (the newest due is within %v before)",
					c.fps, wait, k, at, d, frame)
			}
		}
		if n := in.picsLate.Load(); n != 0 {
			t.Fatalf("%v fps, wait %v: %d pictures counted late; every one came before its tick", c.fps, wait, n)
		}
	}
}

// TestClockMapTrackJoiningLaterMovesItAtOnce: a camera's sound that comes
// after its pictures have been mapped (held back until the sender's
// reports place it, or started later) and 500 ms later than them moves the
// mapping at once — not a frame a unit, its units late meanwhile and the
// jitter buffer grown by as much — and the pictures' lead on it is what
// their queue must hold beyond the jitter buffer.
func TestClockMapTrackJoiningLaterMovesItAtOnce(t *testing.T) {
	const frame = 33333 * time.Microsecond
	m := videoMapped(frame)
	moves := m.moves.Load()
	pts := 50 * 20 * ms
	m.observe(1, pts+510*ms, pts)
	if got := m.offset(); got != 510*ms {
		t.Fatalf("offset %v after the sound joined 500 ms behind, want 510ms at once", got)
	}
	if m.moves.Load() != moves || m.transit() != 0 {
		t.Fatalf("moves %d (want %d), transit %v (want 0): the join counted as lateness", m.moves.Load(), moves, m.transit())
	}
	for i := 51; i < 100; i++ {
		pts := time.Duration(i) * 20 * ms
		m.observe(0, pts+10*ms, pts)
		m.observe(1, pts+510*ms, pts)
	}
	if got := m.offset(); got != 510*ms {
		t.Fatalf("offset %v, want it held at 510ms", got)
	}
	if v, a := m.ahead(0), m.ahead(1); v != 500*ms || a != 0 {
		t.Fatalf("leads: pictures %v (want 500ms), sound %v (want 0)", v, a)
	}
	if n := queueCap(50*ms+m.ahead(0), 30); n < 17+4 {
		t.Fatalf("queue of %d pictures for a 550 ms wait at 30 fps", n)
	}
	// a track that joins earlier than the mapping leaves it where it is
	m2 := clockMap{maxMove: frame}
	m2.observe(1, 100*ms, 0)
	m2.observe(0, 120*ms, 100*ms)
	if got := m2.offset(); got != 100*ms {
		t.Fatalf("offset %v after the pictures joined ahead of the sound, want 100ms", got)
	}
}

// TestPictureQueueCountsLatePictures: a picture decoded after a tick took
// the source for its time (the tick repeated the one before) is counted
// late; one that comes in time, or after only a monitor (multiview,
// snapshot) looked, is not.
func TestPictureQueueCountsLatePictures(t *testing.T) {
	in, queue := queueInput(t)
	now := time.Now()
	take := func(at time.Duration, tick bool) {
		if p := in.take(now, at, time.Second, tick); p != nil {
			p.Release()
		}
	}
	queue(100*ms, picQueueMin)
	take(100*ms, true)
	queue(133*ms, picQueueMin) // due after the last tick: in time
	take(140*ms, false)        // the multiview looked at 140 ms
	queue(140*ms, picQueueMin) // … nobody on air missed it
	if n := in.picsLate.Load(); n != 0 {
		t.Fatalf("%d pictures counted late, want none", n)
	}
	take(180*ms, true)         // the tick at 180 ms repeats what it has
	queue(166*ms, picQueueMin) // due by then, decoded after it
	queue(180*ms, picQueueMin)
	queue(200*ms, picQueueMin) // in time for the next tick
	if n := in.picsLate.Load(); n != 2 {
		t.Fatalf("%d pictures counted late, want 2", n)
	}
}

// queueInput is an input with nothing but its picture queue, and a function
// that queues a picture due at due in a queue of capacity, returning it.
func queueInput(t *testing.T) (*input, func(due time.Duration, capacity int) *av.PictureRef) {
	t.Helper()
	f, err := av.NewFrame(16, 16)
	if err != nil {
		t.Fatal(err)
	}
	in := &input{name: "cam", tickAt: math.MinInt64}
	t.Cleanup(func() {
		in.clearPictures()
		in.pics.Close()
		f.Free()
	})
	return in, func(due time.Duration, capacity int) *av.PictureRef {
		r, err := in.pics.Ref(f.Picture())
		if err != nil {
			t.Fatal(err)
		}
		in.queuePicture(r, due, noPTS, capacity, clock.PictureWay{})
		return r
	}
}

// TestPicPhaseIsWhereTheTickShowsIt: picPhase names the program frame at
// which the ticks' take (pictures due by each frame's middle) shows a
// camera's pictures, at the program's rate, for offsets and buffers all
// round the frame, at 30 and at 30000/1001 fps; the sound read with it
// (stepSound) is the buffer and that phase, with a floor.
func TestPicPhaseIsWhereTheTickShowsIt(t *testing.T) {
	for _, rate := range []clock.Rate{{Num: 30, Den: 1}, {Num: 30000, Den: 1001}} {
		cfg := Config{FPSNum: rate.Num, FPSDen: rate.Den}
		dur := cfg.FrameDuration()
		for off := time.Duration(0); off < 2*dur; off += 3700 * time.Microsecond {
			for _, d := range []time.Duration{5 * time.Millisecond, 50 * time.Millisecond, 66667 * time.Microsecond} {
				in, queue := queueInput(t)
				in.frame, in.rate = dur, rate
				in.cmap.off.Store(int64(500*time.Millisecond + off))
				for k := range int64(12) {
					pts := rate.FrameTime(k)
					in.notePicGrid(pts, true)
					due := pts + in.cmap.offset() + d
					want := due + in.picPhase(d)
					r := queue(due, picQueueMax)
					if k == 0 { // shown at once, a source's first picture (take)
						in.take(time.Time{}, 0, time.Hour, true).Release()
						continue
					}
					// the ticks from well before: the first that shows r
					shownAt := time.Duration(-1)
					for n := rate.FrameOf(due - 2*dur); n < rate.FrameOf(due+2*dur); n++ {
						at := cfg.frameTime(n) + dur/2
						if p := in.take(time.Time{}, at, time.Hour, true); p != nil {
							p.Release()
							if p == r {
								shownAt = cfg.frameTime(n)
								break
							}
						}
					}
					if shownAt != want {
						t.Fatalf("%d/%d fps, offset +%v, buffer %v, picture %d due %v: shown at %v, picPhase says %v",
							rate.Num, rate.Den, off, d, k, due, shownAt, want)
					}
					if p := in.picPhase(d); p <= -dur/2-time.Microsecond || p > dur/2+time.Microsecond {
						t.Fatalf("phase %v beyond half a frame", p)
					}
				}
			}
		}
	}

	// not the program's rate, or no steady cadence: no phase
	in := &input{frame: 33 * time.Millisecond, rate: clock.Rate{Num: 30, Den: 1}}
	in.notePicGrid(7*time.Millisecond, sameRate(25, in.rate))
	if p := in.picPhase(50 * time.Millisecond); p != 0 {
		t.Fatalf("25 fps in a 30 fps program: phase %v, want 0", p)
	}
	if sameRate(29.97, clock.Rate{Num: 30, Den: 1}) || !sameRate(29.97002997, clock.Rate{Num: 30000, Den: 1001}) || !sameRate(30, clock.Rate{Num: 30, Den: 1}) {
		t.Fatal("sameRate")
	}
	var c cadence
	for k := range steadyRun + 1 {
		if c.steady() {
			t.Fatalf("steady after %d pictures", k)
		}
		c.snap(time.Duration(k)*time.Second/30, 30)
	}
	if !c.steady() {
		t.Fatal("not steady on its grid")
	}
	c.snap(c.origin+time.Second/60, 30) // off the grid: a new one
	if c.steady() {
		t.Fatal("steady off its grid")
	}

	// the sound follows the phase, a follower's its camera's; never under
	// the buffer's floor
	ring := audio.NewRing(audio.RingFrames(MaxJitterBuffer))
	cam := &input{audio: ring, frame: time.Second / 30, rate: clock.Rate{Num: 30, Den: 1}}
	mic := &input{audio: ring, frame: cam.frame, rate: cam.rate}
	mic.lead.Store(cam)
	cam.delay.Store(int64(40 * time.Millisecond))
	cam.notePicGrid(0, true)
	cam.cmap.off.Store(int64(time.Second)) // due 1.040: shown at 1.0333 (frame 31)
	if got, want := cam.stepSound(0), 40*time.Millisecond+cam.picPhase(40*time.Millisecond); got != want || want >= 40*time.Millisecond {
		t.Fatalf("camera's sound read with %v, want %v (its pictures' phase)", got, want)
	}
	mic.cmap.off.Store(int64(time.Second + 30*time.Millisecond)) // its own mapping
	if got, want := mic.stepSound(0), cam.soundJitter(); got != want {
		t.Fatalf("microphone's sound read with %v, want its camera's %v", got, want)
	}
	// a camera following another camera's buffer: its own pictures' phase
	cam3 := &input{audio: ring, frame: cam.frame, rate: cam.rate}
	cam3.lead.Store(cam)
	cam3.notePicGrid(0, true)
	cam3.cmap.off.Store(int64(time.Second + 20*time.Millisecond)) // due 1.060: shown at 1.0667
	if got, want := cam3.stepSound(0), 40*time.Millisecond+cam3.picPhase(40*time.Millisecond); got != want || want <= 40*time.Millisecond {
		t.Fatalf("a following camera's sound read with %v, want %v (its own pictures' phase)", got, want)
	}
	cam2 := &input{audio: ring, frame: cam.frame, rate: cam.rate}
	cam2.delay.Store(int64(5 * time.Millisecond))
	cam2.notePicGrid(0, true)
	cam2.cmap.off.Store(int64(time.Second + 10*time.Millisecond))
	if got := cam2.stepSound(0); got != autoFloor {
		t.Fatalf("sound read with %v ahead of its buffer's floor %v", got, autoFloor)
	}

	// an adaptive buffer: the sound is read with its pictures' phase where
	// its own needs allow, else as early as they do (a little after its
	// pictures)
	for _, c := range []struct{ soundNeed, want time.Duration }{
		{20 * time.Millisecond, 40*time.Millisecond - time.Second/150}, // the phase: due 1.040, shown at 1.0333
		{33 * time.Millisecond, 37 * time.Millisecond},                 // its need and autoMargin
	} {
		a := &input{audio: ring, frame: cam.frame, rate: cam.rate}
		a.buf.auto = true
		a.delay.Store(int64(40 * time.Millisecond))
		a.notePicGrid(0, true)
		a.cmap.off.Store(int64(time.Second))
		a.buf.sound.note(0, c.soundNeed)
		if got := a.stepSound(0); absDur(got-c.want) > time.Microsecond {
			t.Fatalf("sound needing %v: read with %v, want %v", c.soundNeed, got, c.want)
		}
	}
}

// TestMicrophoneRestsWithItsCamera: each mapping rests anywhere within
// reanchorTol of its least delay; a microphone following a camera reads its
// sound with the difference of their rests (tieToLead), so that it keeps
// the gap between their least delays rather than up to twice reanchorTol
// more. The tie holds while it moves less than tieTol, and a source with
// pictures of its own keeps its sound with them.
func TestMicrophoneRestsWithItsCamera(t *testing.T) {
	ms := time.Millisecond
	ring := audio.NewRing(audio.RingFrames(MaxJitterBuffer))
	cam := &input{audio: ring, frame: time.Second / 30, rate: clock.Rate{Num: 30, Den: 1}}
	mic := &input{audio: ring, frame: cam.frame, rate: cam.rate}
	mic.lead.Store(cam)
	cam.delay.Store(int64(40 * ms))
	// the camera anchors at 100 ms of delay, then comes 12 ms quicker:
	// within reanchorTol, its mapping rests 12 ms above its least delay
	cam.cmap.observe(0, time.Second, time.Second-100*ms)
	cam.cmap.observe(0, time.Second+33*ms, time.Second+33*ms-88*ms)
	// the microphone anchors at 130 ms, then comes 12 ms slower for two
	// of the rest's windows: its mapping rests 12 ms below its least delay
	mic.cmap.observe(1, time.Second, time.Second-130*ms)
	end := time.Second + 3*restWindow
	for at := time.Second + 20*ms; at < end; at += 20 * ms {
		mic.cmap.observe(1, at, at-142*ms)
	}
	if cam.cmap.offset() != 100*ms || mic.cmap.offset() != 130*ms {
		t.Fatalf("mappings %v and %v: the test's rests moved", cam.cmap.offset(), mic.cmap.offset())
	}
	if r := time.Duration(mic.cmap.rest.Load()); r != -12*ms {
		t.Fatalf("the microphone rests %v from its least delay, want -12ms", r)
	}
	// one quicker unit: the mapping forgets it in seconds, the rest's
	// longer memory (steadier over a wandering path) keeps it
	mic.cmap.observe(1, end, end-139*ms)
	for at := end + 20*ms; at < end+3*mapWindow; at += 20 * ms {
		mic.cmap.observe(1, at, at-142*ms)
	}
	if r := time.Duration(mic.cmap.rest.Load()); r != -9*ms {
		t.Fatalf("after a quicker unit %v ago the microphone rests %v from its least delay, want -9ms", 3*mapWindow, r)
	}
	mic.cmap.rest.Store(int64(-12 * ms)) // as before it, for what follows
	// read at its own least delay (142) plus the camera's rest (12)
	// and the buffer: 130 + 40 + 24
	if got := mic.stepSound(0); got != 64*ms {
		t.Fatalf("microphone's sound read with %v, want 64ms (its camera's buffer and the two rests' difference)", got)
	}
	// a move of the camera's rest within tieTol: held; beyond it: followed
	cam.cmap.rest.Store(int64(12*ms + tieTol))
	if got := mic.stepSound(0); got != 64*ms {
		t.Fatalf("a move within tieTol: read with %v, want 64ms still", got)
	}
	cam.cmap.rest.Store(int64(12*ms + tieTol + ms))
	if got := mic.stepSound(0); got != 69*ms {
		t.Fatalf("a move beyond tieTol: read with %v, want 69ms", got)
	}
	// on an adaptive buffer, a tie that reads the microphone earlier is
	// room the buffer makes (its need), not what the sound itself needs
	// of its own mapping (the floor)
	cam.buf.auto = true
	cam.reader = media.NewStream().NewReader(2) // a step sets its wake-up
	mic.tie.Store(int64(-10 * ms))
	mic.noteNeed(time.Second, 30*ms, cam.frame, true)
	if _, need, _ := cam.bufferState(); need != 40*ms {
		t.Fatalf("the buffer's need %v, want 40ms (the microphone's 30ms and its tie's 10ms)", need)
	}
	if p := cam.buf.sound.peak(); p != 30*ms {
		t.Fatalf("the sound's own need %v, want 30ms", p)
	}
	cam.buf.auto = false

	// a camera following the camera: its sound stays with its own pictures
	cam2 := &input{audio: ring, frame: cam.frame, rate: cam.rate}
	cam2.lead.Store(cam)
	cam2.cmap.observe(0, time.Second, time.Second-130*ms)
	cam2.cmap.observe(1, time.Second+10*ms, time.Second-110*ms)
	for at := time.Second + 20*ms; at < time.Second+3*mapWindow; at += 20 * ms {
		cam2.cmap.observe(0, at, at-142*ms)
		cam2.cmap.observe(1, at+ms, at-141*ms)
	}
	if got := cam2.stepSound(0); got != 40*ms {
		t.Fatalf("a following camera's sound read with %v, want its buffer's 40ms", got)
	}
}
