// Package mixer is Switchyard's vision mixer: it decodes every source
// continuously, composes one program frame per tick of its own clock, carries
// the program source's audio on the same clock, encodes both and publishes
// the program on a media.Stream.
//
// The Engine (engine.go) is the program clock and the encode loop; what a
// frame shows is composed in compose.go, in its order. The rest are parts,
// each a type owning its state: the inputs (inputSet in inputs.go; one
// input in input.go, timing.go; decoding at lowered priority behind the
// decode gate, gate.go and priority_*.go), the encode targets (targets in
// target.go: program, renditions, preview in one list), the program's
// sound (sound in sound.go, with package audio), the keyers (keyerSet in
// keyers.go, with package keyer), the multiview (Multiview in
// multiview.go), the switch log for the edit lists (switchLog in marks.go),
// and the buses (package bus), timing and lateness (package clock) as
// plain Go. The Engine's other methods are the API other packages call.
package mixer

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/internal/fault"
	"switchyard/internal/notify"
	"switchyard/internal/sysmon"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
	"switchyard/mixer/sting"
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
// that own their state: the inputs (inputSet), the keyers (keyerSet, with
// their own locks), the program's sound (sound, confined to the encode
// loop), the switch log for the edit lists (switchLog), the multiview
// (Multiview) and the encode targets (targets: program, renditions and
// preview in one list).
//
// Locks, in the order they may nest: keyerSet.edit, keyerSet.mu, mu,
// keyerSet.retireMu. mu is the frame lock: the buses, the frame being
// composed, the inputs and the switch log change under it, and the tick
// makes a frame's choices under it. targets.mu, then targets.encoding (the
// encode loop's, held through a frame's encodes and its sound's mix, which
// takes sound.mu and mu inside it, one at a time); sound.mu and
// Multiview.progMu hold no other.
type Engine struct {
	cfg Config
	log *slog.Logger

	// the parts
	ins     inputSet   // under mu
	keyers  *keyerSet  // its own locks
	sound   *sound     // the encode loop's; its settings under its own lock
	marks   switchLog  // under mu
	mv      *Multiview // its own goroutine; the clock hands it program pictures
	targets *targets   // copy-on-write; the encode loop holds targets.encoding

	// the frame lock, and what it guards besides the parts above
	mu      sync.Mutex
	bus     *bus.Buses // program, preview, the transition and FTB
	current int64      // index of the frame being composed (or last composed)
	started time.Time
	// busMoved is signalled, never waited on, when the buses move on their
	// own: an automatic transition's progress (every third frame) and a
	// transition's end. Commands move them too; their callers know.
	busMoved chan struct{}
	changes  notify.Notifier // the buses' and the keyers' changes, to OnChange's listener
	// OnSwitch, when set before Start, receives every program switch, from
	// the tick: it must return at once.
	OnSwitch func(SwitchEvent)
	// stingers (stinger.go): the default transition's, the one on air and
	// the last loaded, under mu; stingLoad lets one load at a time
	stingDef, stingAir, stingLast *sting.Clip
	stingLoad                     sync.Mutex

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
		// auto) gives each its adaptive buffer (adaptive.go). Not the
		// default yet: each step of an adaptive buffer on air is a repeated
		// or skipped picture, and a jump in the recording's edit list.
		cfg.JitterBuffer = 2 * cfg.FrameDuration()
	}
	if cfg.EncodeThreads == 0 {
		cfg.EncodeThreads = encodeThreads(cfg.Width, cfg.Height)
	}
	e := &Engine{cfg: cfg, log: log.With("component", "mixer"), bus: bus.New(cfg.Rate()), current: -1}
	e.ins = newInputSet(runtime.NumCPU())
	e.marks = newSwitchLog(cfg, e.bus)
	e.bus.OnFinish = e.finished // a completed transition is a switch event
	e.busMoved = make(chan struct{}, 1)
	e.gopFrames = max(1, int64(math.Round(cfg.Keyint.Seconds()*float64(cfg.FPSNum)/float64(cfg.FPSDen))))
	e.lateness = clock.NewLateness(e.log)
	e.keyers = newKeyerSet(cfg, e.log)
	e.keyers.known = func(name string) bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.ins.known(name)
	}
	e.keyers.onAir = func(set func()) int64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		set()
		return e.current + 1
	}
	e.keyers.changed = func() { e.changes.Changed(ChangedKeyers) }
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
	prog := e.targets.program()
	prog.stream.SetTracks(prog.track, e.sound.track)
	e.mv = newMultiview(cfg.Multiview, cfg, e.log, e.black, e.wallSources)
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

// Program returns the program stream.
func (e *Engine) Program() *media.Stream { return e.targets.program().stream }

// ProgramTracks returns the program's video and audio tracks.
func (e *Engine) ProgramTracks() (video, audio *media.Track) {
	return e.targets.program().track, e.sound.track
}

// PreviewStream carries the encoded preview bus (video only), or is nil
// when Config.PreviewBitrateBPS is not set.
func (e *Engine) PreviewStream() *media.Stream { return e.targets.previewStream() }

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
	e.mu.Lock()
	e.started = start
	e.startNs.Store(start.UnixNano())
	e.mu.Unlock()
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
		e.changes.Close()
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
		e.mu.Lock()
		ins := e.ins.clear()
		e.mu.Unlock()
		for _, in := range ins {
			in.stop()
			in.slate.Release()
		}
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

// Started returns the wall clock of program time 0.
func (e *Engine) Started() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started
}

// progNow is the program clock now (the time since its epoch).
func (e *Engine) progNow() time.Duration {
	return time.Duration(time.Now().UnixNano() - e.startNs.Load())
}

// FrameAt returns the index of the program frame due at t on the program clock.
func (e *Engine) FrameAt(t time.Time) int64 {
	e.mu.Lock()
	start := e.started
	e.mu.Unlock()
	return int64(t.Sub(start)) * int64(e.cfg.FPSNum) / (int64(e.cfg.FPSDen) * int64(time.Second))
}

// Stats returns the counters.
func (e *Engine) Stats() clock.Stats {
	e.mu.Lock()
	started := e.started
	e.mu.Unlock()
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
	timer := time.NewTimer(0)
	defer timer.Stop()
	dur := e.cfg.FrameDuration()
	gcSample := clock.GCSample() // the clock's own
	var lastQueued time.Time
	for n := int64(0); ; n++ {
		deadline := start.Add(e.cfg.frameTime(n))
		if d := time.Until(deadline); d > 0 {
			if !sleepUntil(e.ctx.Done(), timer, d, prio != atProcessPriority) {
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
		lastQueued = f.timing.Queued
		e.queued <- f // never waits: there are as many places as frames
	}
}

// encodeLoop encodes and publishes the frames the clock composed, in order,
// and counts each one late that leaves more than two frame times after its
// time on the program clock (one frame to compose and encode it, one of
// slack: the same as a frame composed and encoded in turn whose tick may
// start up to a frame late), or whose compose started late — by cause
// (clock.Lateness.Note).
func (e *Engine) encodeLoop() {
	defer close(e.encDone)
	if raiseClockThread() != atProcessPriority {
		defer dropProgramThread()
		e.lateness.EncodeTid.Store(threadID()) // locked to this goroutine
		defer e.lateness.EncodeTid.Store(0)
	}
	dur := e.cfg.FrameDuration()
	for {
		select {
		case <-e.ctx.Done():
			return
		case f := <-e.queued:
			began := time.Now()
			e.output(f)
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
	e.sound.mix(n, f.sound, e.weighSources(f.sound), targets)
	tm.Audio = time.Since(a)
	e.targets.encoding.Unlock()
}
