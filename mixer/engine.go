// Package mixer is Switchyard's vision mixer: it decodes every source
// continuously, composes one program frame per tick of its own clock, carries
// the program source's audio on the same clock, encodes both and publishes
// the program on a media.Stream.
//
// The Engine (engine.go) is the program clock and the encode loop; what a
// frame shows is composed in compose.go, in its order. The rest are parts,
// each a type owning its state, which other packages reach through the
// Engine's accessors: the switcher (Switcher in switcher.go, its bus
// commands in transition.go: the buses of package bus, the inputs — inputSet
// in inputs.go; one input in input.go, timing.go; decoding at lowered
// priority behind the decode gate, gate.go and priority_*.go — and the
// switch log for the edit lists, switchLog in marks.go, under one lock),
// the encode targets (Targets in target.go: program, renditions, preview in
// one list), the program's sound (Sound in sound.go, with package audio),
// the keyers (KeyerSet in keyers.go, with package keyer) and the multiview
// (Multiview in multiview.go); timing and lateness (package clock) are
// plain Go.
package mixer

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/internal/fault"
	"switchyard/internal/sysmon"
	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
)

// Black is the name of the always-available black source.
const Black = bus.Black

// Errors returned by bus commands.
var (
	ErrUnknownSource error = fault.New(fault.NotFound, "unknown source")
)

// Engine is the mixer: the program clock (run), which composes each frame
// in its order (compose.go), and the encode loop (encodeLoop), which
// encodes and publishes it. What it composes from and encodes to are parts
// that own their state, reached through its accessors: the switcher
// (Switcher: the buses, the inputs and the switch log under its lock), the
// keyers (KeyerSet, with their own locks), the program's sound (Sound,
// confined to the encode loop but for its settings and meters), the
// multiview (Multiview) and the encode targets (Targets: program,
// renditions and preview in one list).
//
// Locks, in the order they may nest: KeyerSet.edit, KeyerSet.mu,
// Switcher.mu, KeyerSet.retireMu. Switcher.mu is the frame lock: the
// buses, the frame being composed, the inputs and the switch log change
// under it, and the tick makes a frame's choices under it (Switcher.take).
// Targets.mu, then Targets.encoding (the encode loop's, held through a
// frame's encodes and its sound's mix, which takes Sound.mu and
// Switcher.mu inside it, one at a time); Sound.mu and Multiview.progMu hold
// no other.
type Engine struct {
	cfg Config
	log *slog.Logger

	// the parts
	sw      *Switcher  // the buses, the inputs, the switch log: its own lock
	keyers  *KeyerSet  // its own locks
	sound   *Sound     // the encode loop's; its settings under its own lock
	mv      *Multiview // its own goroutine; the clock hands it program pictures
	targets *Targets   // copy-on-write; the encode loop holds targets.encoding

	started atomic.Pointer[time.Time] // program time 0 (nil before Start)
	// OnSwitch, when set before Start, receives every program switch, from
	// the tick: it must return at once.
	OnSwitch func(SwitchEvent)

	// the clock's own, composing
	black     *av.Frame
	scaler    av.Scaler
	canvasB   *av.Frame // the preview source during a transition (it trades places with the preview output's picture)
	scalerB   av.Scaler
	pvScaler  av.Scaler // the preview bus's picture
	soundPrev soundMix  // the last tick's, mixed by this one

	// the program frames: the clock composes into a free one and queues it
	// for encodeLoop, which hands it back (run)
	outFrames [outDepth]*programFrame
	free      chan *programFrame
	queued    chan *programFrame
	gopFrames int64           // the program's key-frame interval in frames
	lateness  *clock.Lateness // why frames are late; its sampler logs them

	frames   atomic.Uint64
	lastOut  atomic.Int64 // when the last program frame left the encoders (unix ns; 0 before the first)
	tickN    atomic.Int64 // the tick being composed, for the inputs
	startNs  atomic.Int64 // the program clock's epoch (unix ns), for the inputs
	ways     clock.Ways   // the way of the program source's pictures (Pieces)
	late     atomic.Uint64
	dropped  atomic.Uint64
	encodeNs atomic.Int64
	// the encode loop's frame (the last taken up) and since when it has been
	// on it (unix ns; 0 while it waits for one), for the clock's looks
	encTaken, encBusySince atomic.Int64

	// the goroutines Start starts: the clock, the encode loop, the keyers'
	// clocks, the lateness sampler
	ctx        context.Context
	cancel     context.CancelFunc
	done       chan struct{}
	encDone    chan struct{}
	clocksDone chan struct{}
	lateDone   chan struct{}
	closeOnce  sync.Once
}

// New opens the encoders; the program tracks are known from here on.
func New(cfg Config, log *slog.Logger) (*Engine, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		return nil, fmt.Errorf("program size %dx%d must be positive and even", cfg.Width, cfg.Height)
	}
	if cfg.FPSNum <= 0 || cfg.FPSDen <= 0 {
		return nil, fmt.Errorf("program frame rate %d/%d is not valid", cfg.FPSNum, cfg.FPSDen)
	}
	if cfg.Keyint == 0 {
		cfg.Keyint = 2 * time.Second
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = 500 * time.Millisecond
	}
	if cfg.DecodeThreads == 0 {
		cfg.DecodeThreads = 1
	}
	if cfg.JitterBuffer == 0 {
		// 2 frames for every source; AutoJitter (program.jitter_buffer:
		// auto, the show's default) gives each its adaptive buffer
		// (adaptive.go), which on air moves only for media that came late.
		cfg.JitterBuffer = 2 * cfg.FrameDuration()
	}
	if cfg.EncodeThreads == 0 {
		cfg.EncodeThreads = encodeThreads(cfg.Width, cfg.Height)
	}
	e := &Engine{cfg: cfg, log: log.With("component", "mixer")}
	e.gopFrames = max(1, int64(math.Round(cfg.Keyint.Seconds()*float64(cfg.FPSNum)/float64(cfg.FPSDen))))
	e.lateness = clock.NewLateness(e.log)
	e.lateness.ReturnsHeld = func() int64 { n, _ := av.Rescues(); return n }
	e.lateness.EncodeFunc = encodeLoopFunc
	e.encTaken.Store(-1)
	e.keyers = newKeyerSet(cfg, e.log)
	e.keyers.known = func(name string) bool { return e.sw.knownNow(name) }
	e.keyers.onAir = func(set func()) int64 { return e.sw.onAir(set) }
	e.keyers.changed = func() { e.sw.changes.Changed(ChangedKeyers) }
	e.startNs.Store(time.Now().UnixNano()) // until Start: sources may come first
	var err error
	if e.targets, err = newTargets(cfg, e.gopFrames); err != nil {
		return nil, err
	}
	fail := func(err error) (*Engine, error) {
		e.targets.close()
		if e.sound != nil {
			e.sound.close()
		}
		e.freeProgramFrames()
		return nil, err
	}
	if e.sound, err = newSound(cfg, e.log); err != nil {
		return fail(err)
	}
	e.targets.sound = e.sound.track
	if err := e.newProgramFrames(); err != nil {
		return fail(err)
	}
	if e.black, err = av.NewFrame(cfg.Width, cfg.Height); err != nil {
		return fail(err)
	}
	if e.canvasB, err = av.NewFrame(cfg.Width, cfg.Height); err != nil {
		e.black.Free()
		return fail(err)
	}
	e.black.Fill(color.Black.Y, color.Black.U, color.Black.V)
	e.sw = newSwitcher(cfg, e.log, e.black, &e.tickN, e.progNow, e.sound.tickSamples())
	e.sound.sources = e.sw
	prog := e.targets.program()
	prog.stream.SetTracks(prog.track, e.sound.track)
	e.mv = newMultiview(cfg.Multiview, cfg, e.log, e.black, func(c MultiviewConfig) []mvPicture {
		return e.sw.wall(c, e.sound.LastLevels())
	})
	if cfg.PreviewBitrateBPS > 0 {
		if err := e.targets.openPreview(e.outFrames[:]); err != nil {
			e.black.Free()
			e.canvasB.Free()
			e.mv.free()
			return fail(err)
		}
	}
	return e, nil
}

// Switcher is the buses, the sources and the switch log: the bus
// commands, the sources' audio settings, adding and removing sources.
func (e *Engine) Switcher() *Switcher { return e.sw }

// KeyerSet is the layers over the program.
func (e *Engine) KeyerSet() *KeyerSet { return e.keyers }

// Sound is the program's sound: the master, the meters.
func (e *Engine) Sound() *Sound { return e.sound }

// Targets is the program's encodes: the program stream, its renditions
// and the preview's.
func (e *Engine) Targets() *Targets { return e.targets }

// Multiview is the monitor wall.
func (e *Engine) Multiview() *Multiview { return e.mv }

// Config returns the program format.
func (e *Engine) Config() Config { return e.cfg }

// Start begins ticking.
func (e *Engine) Start() {
	if raiseRuntimeThreads() {
		e.log.Info("the runtime's threads raised above ordinary processes", "nice_below_process", runtimeNice)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.done = make(chan struct{})
	e.clocksDone = make(chan struct{})
	e.encDone = make(chan struct{})
	start := time.Now()
	e.started.Store(&start)
	e.startNs.Store(start.UnixNano())
	e.lateDone = make(chan struct{})
	go e.run(start)
	go e.encodeLoop()
	go e.keyers.runClocks(e.ctx, e.clocksDone)
	go e.lateness.Run(e.ctx, e.lateDone)
}

// Close stops the clock and every input, and closes the program stream. Safe
// twice, and after a failed or missing Start.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		e.sw.changes.Close()
		e.mv.close()
		if e.cancel != nil {
			e.cancel()
			<-e.done
			<-e.encDone
			<-e.clocksDone
			<-e.lateDone
		}
		e.mv.free()
		e.keyers.freeRetired()
		e.keyers.free()
		e.sw.close()
		e.targets.close()
		e.sound.close()
		e.scaler.Close()
		e.scalerB.Close()
		e.freeProgramFrames()
		e.canvasB.Free()
		e.black.Free()
		e.pvScaler.Close()
	})
}

// Started returns the wall clock of program time 0 (zero before Start).
func (e *Engine) Started() time.Time {
	if t := e.started.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// progNow is the program clock now (the time since its epoch).
func (e *Engine) progNow() time.Duration {
	return time.Duration(time.Now().UnixNano() - e.startNs.Load())
}

// FrameAt returns the index of the program frame due at t on the program clock.
func (e *Engine) FrameAt(t time.Time) int64 {
	start := e.Started()
	return int64(t.Sub(start)) * int64(e.cfg.FPSNum) / (int64(e.cfg.FPSDen) * int64(time.Second))
}

// Stats returns the counters.
func (e *Engine) Stats() clock.Stats {
	started := e.Started()
	s := clock.Stats{FramesOut: e.frames.Load(), Late: e.late.Load(), Dropped: e.dropped.Load(),
		EncodeMs: float64(e.encodeNs.Load()) / 1e6}
	e.lateness.FillStats(&s)
	if !started.IsZero() {
		s.UptimeS = time.Since(started).Seconds()
	}
	if ns := e.lastOut.Load(); ns != 0 {
		s.LastFrameAt = time.Unix(0, ns)
	}
	return s
}

// Pieces returns where the program source's pictures spent their time on
// the way to the program, the median of the last 256 that aired new:
// decode, jitter buffer, the wait for their frame, compose, encode. What
// comes before (the network, the ingest) and after (packetising, the
// network to a viewer) is outside; camera-to-program latency measured from
// outside (make bench) is these and those.
func (e *Engine) Pieces() clock.Pieces { return e.ways.Pieces() }

// ResetPieces starts Pieces afresh (a new measurement).
func (e *Engine) ResetPieces() { e.ways.Reset() }

// outDepth is how many program frames are on their way at once: one being
// composed, one queued, one being encoded.
const outDepth = 3

// programFrame is one composed program frame on its way to the encoders.
type programFrame struct {
	n      int64
	canvas *av.Frame         // the program picture
	pv     *av.Frame         // the preview output's picture, when there is one
	sound  soundMix          // the frame before's sound, mixed after this picture (sound.mix)
	timing clock.FrameTiming // its way, to tell why it was late
	key    bool              // to be a key frame (KeyFrameNext)
}

func (e *Engine) newProgramFrames() error {
	e.free = make(chan *programFrame, outDepth)
	e.queued = make(chan *programFrame, outDepth)
	for i := range e.outFrames {
		c, err := av.NewFrame(e.cfg.Width, e.cfg.Height)
		if err != nil {
			return err
		}
		e.outFrames[i] = &programFrame{canvas: c}
		e.free <- e.outFrames[i]
	}
	return nil
}

// freeProgramFrames frees the program frames (at Close, or a failed New).
func (e *Engine) freeProgramFrames() {
	for _, f := range e.outFrames {
		if f == nil {
			continue
		}
		f.canvas.Free()
		if f.pv != nil {
			f.pv.Free()
		}
	}
}

// run is the program clock: at each frame's time it composes the frame and
// queues it for encodeLoop. Composing and encoding overlap — frame n+1 is
// composed while frame n is encoded — so the clock keeps time through an
// encode longer than a frame (a keyframe, a moment of a busy host): what
// matters is that the encodes keep up on average, and that each frame
// leaves in time.
func (e *Engine) run(start time.Time) {
	defer close(e.done)
	prio := raiseClockThread() // where the process may
	switch prio {
	case atProcessPriority:
		e.log.Warn("the program's threads run at the process's priority (raising them needs root or CAP_SYS_NICE): " +
			"on a busy machine program frames may be late")
	default:
		defer dropProgramThread()
		e.lateness.ClockTid.Store(threadID()) // locked to this goroutine
		defer e.lateness.ClockTid.Store(0)
		e.log.Info("program threads raised", "priority", prio.String())
	}
	rw := watchReturns(prio) // closed before the thread is dropped (deferred after it)
	defer rw.Close()
	timer := time.NewTimer(0)
	defer timer.Stop()
	dur := e.cfg.FrameDuration()
	gcSample := clock.GCSample() // the clock's own
	var lastQueued time.Time
	for n := int64(0); ; n++ {
		deadline := start.Add(e.cfg.frameTime(n))
		if d := time.Until(deadline); d > 0 {
			if !sleepUntil(e.ctx.Done(), timer, d, prio != atProcessPriority, rw) {
				return
			}
		} else if -d > time.Second {
			// Far behind (the machine stalled): skip ahead rather than burst.
			skip := int64(-d / dur)
			e.dropped.Add(uint64(skip))
			n += skip
			deadline = start.Add(e.cfg.frameTime(n))
			e.log.Warn("program clock fell behind; frames skipped", "frames", skip)
		}
		woke, inC := time.Now(), av.InC()
		busy := max(lastQueued.Sub(deadline), 0) // still composing the frame before after this one's time
		var f *programFrame
		select {
		case <-e.ctx.Done():
			return
		case f = <-e.free: // waits only while every frame is queued (the encodes fell behind)
		}
		began := time.Now()
		f.timing = clock.FrameTiming{Due: deadline, Woke: max(woke.Sub(deadline), 0), Busy: busy, Waited: began.Sub(woke), InC: inC,
			GCCycles: clock.GCCycles(gcSample), Key: n%e.gopFrames == 0,
			Multiview: e.mv.wants(n)}
		e.compose(n, f)
		f.timing.Key = f.timing.Key || f.key // a key frame asked for (KeyFrameNext)
		f.timing.Queued = time.Now()
		f.timing.Composed = f.timing.Queued.Sub(began)
		prevQueued := lastQueued
		lastQueued = f.timing.Queued
		e.queued <- f // never waits: there are as many places as frames
		e.lookAtEncode(n, prevQueued, lastQueued, dur)
	}
}

// lookAtEncode has the lateness look at the program's threads
// (clock.Lateness.LookAtStall) when the encode loop has been held up over
// three quarters of a frame: on a frame taken up (its encodes take well
// under that), or with frame n−1, queued at prevQueued, not taken up (that
// takes well under a millisecond). The look says where a thread that did
// not wait for a CPU was instead. Called by the clock after queueing frame
// n at now.
func (e *Engine) lookAtEncode(n int64, prevQueued, now time.Time, dur time.Duration) {
	limit := dur * 3 / 4
	if since := e.encBusySince.Load(); since != 0 {
		if d := now.Sub(time.Unix(0, since)); d > limit {
			e.lateness.LookAtStall(e.encTaken.Load(), d, true)
		}
		return
	}
	if taken := e.encTaken.Load(); taken < n-1 && !prevQueued.IsZero() {
		if d := now.Sub(prevQueued); d > limit {
			e.lateness.LookAtStall(taken+1, d, false)
		}
	}
}

// encodeLoopFunc is encodeLoop's name in a goroutine dump (the lateness's
// look at a held-up encode loop finds its goroutine by it).
var encodeLoopFunc = runtime.FuncForPC(reflect.ValueOf((*Engine).encodeLoop).Pointer()).Name()

// encodeLoop encodes and publishes the frames the clock composed, in order,
// and counts each one late that leaves more than two frame times after its
// time on the program clock (one frame to compose and encode it, one of
// slack: the same as a frame composed and encoded in turn whose tick may
// start up to a frame late), or whose compose started late — by cause
// (clock.Lateness.Note).
func (e *Engine) encodeLoop() {
	defer close(e.encDone)
	if p := raiseClockThread(); p != atProcessPriority {
		defer dropProgramThread()
		e.lateness.EncodeTid.Store(threadID()) // locked to this goroutine
		defer e.lateness.EncodeTid.Store(0)
		e.lateness.EncodersRTPrio.Store(p.encodersRTPrio()) // the encoders were opened with the same right
		rw := watchReturns(p)                               // x264's send on this thread is watched
		defer rw.Close()
	}
	dur := e.cfg.FrameDuration()
	for {
		select {
		case <-e.ctx.Done():
			return
		case f := <-e.queued:
			began := time.Now()
			e.encTaken.Store(f.n)
			e.encBusySince.Store(began.UnixNano())
			e.output(f)
			e.encBusySince.Store(0)
			if f.timing.Src.Fresh {
				start := e.startNs.Load()
				e.ways.Note(f.timing.Src, f.timing.Frame, time.Duration(f.timing.Queued.UnixNano()-start), time.Duration(time.Now().UnixNano()-start))
			}
			if e.lateness.Note(f.n, &f.timing, began, time.Now(), dur, e.lateness.EncoderGC()) {
				e.late.Add(1)
			}
			e.free <- f
		}
	}
}

// tick composes, encodes and publishes program frame n in turn (the clock
// overlaps the two; a test steps them).
func (e *Engine) tick(n int64) {
	f := <-e.free
	e.compose(n, f)
	e.output(f)
	e.free <- f
}

// output encodes program frame f on every target (the program, its
// renditions, the preview), publishes it, and mixes the sound of the frame
// before it.
func (e *Engine) output(f *programFrame) {
	n, tm := f.n, &f.timing
	t0 := time.Now()
	e.targets.encoding.Lock()
	tm.Locked = time.Since(t0)
	tm.Yielded, tm.Video = 0, 0
	targets, err := e.targets.encodeFrame(f, tm)
	e.encodeNs.Store(int64(time.Since(t0)))
	if err != nil {
		e.log.Error("encode failed", "err", err)
	}
	e.frames.Add(1)
	e.lastOut.Store(time.Now().UnixNano())
	y := time.Now()
	sysmon.Yield() // the encodes took the loop past sysmon's 10 ms
	a := time.Now()
	tm.Yielded += a.Sub(y)
	e.sound.mix(n, f.sound, e.sw.weigh(f.sound), targets)
	tm.Audio = time.Since(a)
	e.targets.encoding.Unlock()
}
