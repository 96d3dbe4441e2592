// Package clock holds the program's timing: frame times and durations at a
// frame rate (Rate), why a program frame was late (Lateness, with its host
// sampler) and the engine's counters (Stats). It is pure Go, so the API
// names these types without linking FFmpeg.
package clock

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Why a program frame is late. A frame is late when its compose started
// more than a frame after its time, or when it left the encoder more than
// two frame times after its time; the cause says which part of the way took
// the time:
const (
	// LateClock: the clock woke more than a frame after the frame's time —
	// the thread was not run (the machine's scheduler, a stop of the Go
	// runtime, the host taking the CPU).
	LateClock = "clock"
	// LateBacklog: the clock woke in time but waited for a free program
	// frame: the encodes were three frames behind.
	LateBacklog = "backlog"
	// LateEncode: composed in time, it left the encoder late: its encode
	// (or the one before it, which it waited behind) took too long.
	LateEncode = "encode"
)

// FrameTiming is what the clock and the encode loop note of one program
// frame on its way, to tell why it was late. Plain values: noting them
// allocates nothing.
type FrameTiming struct {
	Due      time.Time     // the frame's time on the program clock
	Woke     time.Duration // after Due, the clock woke for it
	Busy     time.Duration // of Woke, the clock was busy with the frame before
	Waited   time.Duration // for a free program frame
	Composed time.Duration // the compose
	Queued   time.Time     // handed to the encode loop
	GCCycles uint64        // the runtime's GC cycles when its compose began
	InC      int           // goroutines inside FFmpeg's calls when the clock woke (av.InC)
	// the encode loop's part: waiting for its lock, yielding to the Go
	// scheduler, the video encodes with their publishing, the sound's mix
	Locked, Yielded, Video, Audio time.Duration
	Key                           bool // a key frame (every keyint, or asked for)
	// Src is the way of the program source's picture, when the frame
	// shows it new (Fresh); Frame the frame's program time.
	Src       PictureWay
	Frame     time.Duration
	Multiview bool // its canvas was copied for the multiview
}

// LateFrame describes one late program frame: how late, where the time
// went, and what the process and the host were doing around it.
type LateFrame struct {
	Frame int64  `json:"frame"`
	Cause string `json:"cause"`
	// WokeMs, WaitedMs, ComposeMs, QueuedMs and EncodeMs are the frame's
	// way: the clock's wake-up after the frame's time, its wait for a free
	// program frame, its compose, its wait for the encoder, its encodes.
	// BusyMs is how much of WokeMs the clock was still busy with the frame
	// before (its compose ran past this frame's time): the rest it slept.
	WokeMs    float64 `json:"woke_ms"`
	BusyMs    float64 `json:"busy_ms"`
	WaitedMs  float64 `json:"waited_ms"`
	ComposeMs float64 `json:"compose_ms"`
	QueuedMs  float64 `json:"queued_ms"`
	EncodeMs  float64 `json:"encode_ms"`
	// LockMs, YieldMs, VideoMs and AudioMs split EncodeMs: the wait for
	// the encode lock, the yields to the Go scheduler (each a trip through
	// its run queue), the video encodes with their publishing, the mix and
	// encode of the sound.
	LockMs  float64 `json:"lock_ms"`
	YieldMs float64 `json:"yield_ms"`
	VideoMs float64 `json:"video_ms"`
	AudioMs float64 `json:"audio_ms"`
	// LeftMs is when it left the encoder, after the frame's time.
	LeftMs    float64 `json:"left_ms"`
	Key       bool    `json:"key"`
	Multiview bool    `json:"multiview"`
	// GCDuring: Go garbage collections that ran while it was on its way.
	GCDuring uint64 `json:"gc_during"`
	// InC: goroutines inside FFmpeg's decode, encode and scale calls when the
	// clock woke for it, of GOMAXPROCS Ps (each such call holds a P).
	InC        int        `json:"in_c"`
	GOMAXPROCS int        `json:"gomaxprocs"`
	Host       HostWindow `json:"host"`
	// Stall is the clock's look at the encode loop's and the encoders'
	// threads while this frame or one just before it was held up (nil
	// when none was taken: the hold-up was shorter, or the threads are not
	// the program's own).
	Stall *Stall `json:"stall,omitempty"`
}

// HostWindow is what the process and the host did in the last two seconds
// (sampled once a second), to set beside a late frame.
type HostWindow struct {
	// StealMs: time the hypervisor gave this VM's CPUs to others.
	StealMs float64 `json:"steal_ms"`
	// SchedMaxMs and SchedP99Ms: how long Go goroutines waited to run once
	// runnable (the runtime's scheduling latency).
	SchedMaxMs float64 `json:"sched_max_ms"`
	SchedP99Ms float64 `json:"sched_p99_ms"`
	// GCPauseMaxMs: the longest stop-the-world pause of the Go runtime.
	GCPauseMaxMs float64 `json:"gc_pause_max_ms"`
	GCCycles     uint64  `json:"gc_cycles"`
	// LockWaitMs: how long goroutines waited for a lock, the Go runtime's
	// own included (the sum over goroutines; a thread holding one of the
	// runtime's locks keeps every other that wants it waiting).
	LockWaitMs float64 `json:"lock_wait_ms"`
	// GCAssistMs: CPU time goroutines spent marking for the GC because they
	// allocated while it ran (the runtime's estimate, counted as a cycle
	// ends): a goroutine assisting does the GC's work before its own.
	GCAssistMs float64 `json:"gc_assist_ms"`
	// ReturnsHeld: how many times the clock's or the encode loop's thread,
	// in real time, was held over a millisecond coming back from C into Go
	// (the runtime waiting for an ordinary thread to finish scanning its
	// stack) and was let go by lowering it (av.ReturnWatch).
	ReturnsHeld int64 `json:"returns_held"`
	// ClockRunDelayMs and EncodeRunDelayMs: how long the kernel kept the
	// clock's and the encode loop's threads waiting for a CPU while they
	// were ready to run (their schedstat run delay; 0 when the threads
	// are not locked to the goroutines, at the process's priority).
	ClockRunDelayMs  float64 `json:"clock_run_delay_ms"`
	EncodeRunDelayMs float64 `json:"encode_run_delay_ms"`
	// EncodersRunDelayMs: the same, summed over the encoders' own threads
	// (x264's slice threads, in real time at Lateness.EncodersRTPrio), and
	// EncodersRunDelayMaxMs the most one of them waited in a second of it:
	// whether a long encode call waited for a CPU or inside the encoder.
	EncodersRunDelayMs    float64 `json:"encoders_run_delay_ms"`
	EncodersRunDelayMaxMs float64 `json:"encoders_run_delay_max_ms"`
	// MajorFaults and MinorFaults: the process's page faults.
	MajorFaults uint64 `json:"major_faults"`
	MinorFaults uint64 `json:"minor_faults"`
	// InvoluntarySwitches: the process's threads taken off a CPU.
	InvoluntarySwitches uint64 `json:"involuntary_switches"`
}

// Lateness counts late frames by cause and has each one described in the
// log (at most once a second; a summary of what was not), with the host's
// figures of the moment. Its sampler goroutine (Run) is owned by the engine.
type Lateness struct {
	log     *slog.Logger
	byCause [3]atomic.Uint64 // clock, backlog, encode
	worstNs atomic.Int64     // the latest any frame left, after its time
	// the longest a frame's encode loop spent yielding to the Go scheduler,
	// and the longest its clock woke after its time (both since start)
	yieldMaxNs, wokeMaxNs atomic.Int64
	reports               chan LateFrame   // to the sampler, which logs them; never blocks the encoder
	gcSample              []metrics.Sample // read by the encode loop only
	// ClockTid and EncodeTid are the clock's and the encode loop's thread
	// ids, when locked to their goroutines (0: not); the sampler reads
	// their run delays.
	ClockTid, EncodeTid atomic.Int32
	// ReturnsHeld, set before Run, counts since start the times the
	// program's threads were held coming back from C and let go
	// (av.Rescues; nil: none counted). This package stays cgo-free.
	ReturnsHeld func() int64
	// EncodersRTPrio is the real-time priority (SCHED_RR) the encoders'
	// threads run at (0: none); the sampler reads the run delays of the
	// process's threads at it.
	EncodersRTPrio atomic.Int32

	stall  *stalls   // the clock's looks at the threads, to the sampler
	golook *goLooker // … and at the encode loop's goroutine (golook.go)
	// EncodeFunc, set before Run, names the encode loop's function as a
	// goroutine dump does ("pkg.(*T).method"): a thread look also reads
	// that goroutine's Go stack (golook.go). Empty: it does not.
	EncodeFunc string
	recent     [2]*Stall // the sampler's: the latest looks, the newest first

	mu     sync.Mutex
	window [2]HostWindow // the last second, the second before
	last   LateFrame
	lastAt time.Time
}

var causes = [3]string{LateClock, LateBacklog, LateEncode}

// NewLateness returns a Lateness that logs to log.
func NewLateness(log *slog.Logger) *Lateness {
	return &Lateness{log: log, reports: make(chan LateFrame, 16), stall: newStalls(), golook: newGoLooker(),
		gcSample: []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}}
}

// GCSample returns a sample for GCCycles; each goroutine reads its own.
func GCSample() []metrics.Sample {
	return []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
}

// EncoderGC returns the runtime's GC count read with the encode loop's own
// sample (the encode loop only).
func (l *Lateness) EncoderGC() uint64 { return GCCycles(l.gcSample) }

// GCCycles returns the runtime's GC count, read with s (from GCSample, one
// goroutine's own). It does not allocate.
func GCCycles(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	return 0
}

// Note classifies frame n, which left the encoder at left, and counts it if
// it was late: its compose started over a frame late (clock or backlog), or
// it left over two frame times after its time (encode). Called by the
// encode loop; it does not block.
func (l *Lateness) Note(n int64, t *FrameTiming, encodeStart, left time.Time, dur time.Duration, gcNow uint64) bool {
	after := left.Sub(t.Due)
	storeMax(&l.worstNs, int64(after))
	storeMax(&l.yieldMaxNs, int64(t.Yielded))
	storeMax(&l.wokeMaxNs, int64(t.Woke))
	cause := -1
	switch {
	case t.Woke > dur:
		cause = 0
	case t.Woke+t.Waited > dur:
		cause = 1
	case after > 2*dur:
		cause = 2
	}
	if cause < 0 {
		return false
	}
	l.byCause[cause].Add(1)
	r := LateFrame{Frame: n, Cause: causes[cause], WokeMs: millis(t.Woke), BusyMs: millis(t.Busy), WaitedMs: millis(t.Waited), ComposeMs: millis(t.Composed),
		QueuedMs: millis(encodeStart.Sub(t.Queued)), EncodeMs: millis(left.Sub(encodeStart)), LeftMs: millis(after),
		LockMs: millis(t.Locked), YieldMs: millis(t.Yielded), VideoMs: millis(t.Video), AudioMs: millis(t.Audio),
		Key: t.Key, Multiview: t.Multiview, GCDuring: gcNow - t.GCCycles, InC: t.InC, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	select {
	case l.reports <- r:
	default: // the sampler is behind: the count stands, the detail is lost
	}
	return true
}

// storeMax raises a to v (one writer: the encode loop).
func storeMax(a *atomic.Int64, v int64) {
	if v > a.Load() {
		a.Store(v)
	}
}

func millis(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// Counts returns the late frames by cause.
func (l *Lateness) Counts() (clock, backlog, encode uint64) {
	return l.byCause[0].Load(), l.byCause[1].Load(), l.byCause[2].Load()
}

// LastLate returns the last late frame described (zero when none).
func (l *Lateness) LastLate() LateFrame {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Run samples the host once a second and logs the late frames reported,
// until ctx ends; then it closes done.
func (l *Lateness) Run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	s := newHostSampler(&l.ClockTid, &l.EncodeTid, &l.EncodersRTPrio, &l.stall.encoders)
	s.held = l.ReturnsHeld
	if s.held != nil {
		s.rescues = s.held() // the baseline
	}
	looked := make(chan struct{})
	go func() { // the goroutine looker, owned here
		defer close(looked)
		l.golook.run(ctx, l.EncodeFunc)
	}()
	defer func() { <-looked }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	suppressed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w := s.sample()
			l.takeStalls()
			l.takeGoLooks(ctx, nil)
			l.mu.Lock()
			l.window[1], l.window[0] = l.window[0], w
			l.mu.Unlock()
			if suppressed > 0 {
				l.log.Warn("late program frames not described one by one", "frames", suppressed)
				suppressed = 0
			}
		case r := <-l.reports:
			l.takeStalls() // a look is taken before the frame it explains leaves
			r.Stall = l.takeGoLooks(ctx, l.stallFor(r.Frame))
			l.mu.Lock()
			r.Host = l.window[0].plus(l.window[1])
			l.last = r
			describe := time.Since(l.lastAt) >= time.Second
			if describe {
				l.lastAt = time.Now()
			}
			l.mu.Unlock()
			if !describe {
				suppressed++
				continue
			}
			h := r.Host
			var stall []any
			if r.Stall != nil {
				stall = []any{"stall", r.Stall.String()}
			}
			l.log.Warn("program frame late", append([]any{"frame", r.Frame, "cause", r.Cause, "left_ms", r.LeftMs,
				"woke_ms", r.WokeMs, "busy_ms", r.BusyMs, "waited_ms", r.WaitedMs, "compose_ms", r.ComposeMs, "queued_ms", r.QueuedMs,
				"encode_ms", r.EncodeMs, "lock_ms", r.LockMs, "yield_ms", r.YieldMs, "video_ms", r.VideoMs, "audio_ms", r.AudioMs, "key", r.Key, "multiview", r.Multiview, "gc_during", r.GCDuring,
				"in_c", r.InC, "gomaxprocs", r.GOMAXPROCS,
				"host_steal_ms", h.StealMs, "sched_max_ms", h.SchedMaxMs, "sched_p99_ms", h.SchedP99Ms,
				"gc_pause_max_ms", h.GCPauseMaxMs, "gc_cycles", h.GCCycles, "lock_wait_ms", h.LockWaitMs, "gc_assist_ms", h.GCAssistMs, "returns_held", h.ReturnsHeld, "clock_run_delay_ms", h.ClockRunDelayMs,
				"encode_run_delay_ms", h.EncodeRunDelayMs, "encoders_run_delay_ms", h.EncodersRunDelayMs,
				"encoders_run_delay_max_ms", h.EncodersRunDelayMaxMs, "major_faults", h.MajorFaults,
				"minor_faults", h.MinorFaults, "involuntary_switches", h.InvoluntarySwitches}, stall...)...)
		}
	}
}

// plus adds two windows' figures (maxima for the latencies).
func (w HostWindow) plus(o HostWindow) HostWindow {
	return HostWindow{StealMs: w.StealMs + o.StealMs, SchedMaxMs: max(w.SchedMaxMs, o.SchedMaxMs),
		SchedP99Ms: max(w.SchedP99Ms, o.SchedP99Ms), GCPauseMaxMs: max(w.GCPauseMaxMs, o.GCPauseMaxMs), LockWaitMs: w.LockWaitMs + o.LockWaitMs, GCAssistMs: w.GCAssistMs + o.GCAssistMs, ReturnsHeld: w.ReturnsHeld + o.ReturnsHeld,
		ClockRunDelayMs: w.ClockRunDelayMs + o.ClockRunDelayMs, EncodeRunDelayMs: w.EncodeRunDelayMs + o.EncodeRunDelayMs,
		EncodersRunDelayMs: w.EncodersRunDelayMs + o.EncodersRunDelayMs, EncodersRunDelayMaxMs: max(w.EncodersRunDelayMaxMs, o.EncodersRunDelayMaxMs),
		GCCycles: w.GCCycles + o.GCCycles, MajorFaults: w.MajorFaults + o.MajorFaults,
		MinorFaults: w.MinorFaults + o.MinorFaults, InvoluntarySwitches: w.InvoluntarySwitches + o.InvoluntarySwitches}
}

// hostSampler reads what the process and the host did since its last read.
type hostSampler struct {
	clockTid, encodeTid  *atomic.Int32
	clockRun, encodeRun  uint64 // schedstat run delays at the last read (ns)
	encodersPrio         *atomic.Int32
	encoders             map[int]runDelay         // the encoders' threads, by id
	encoderTids          *atomic.Pointer[[]int32] // the same ids, for the clock's looks
	encodersScan         int                      // samples until the threads are looked for again
	samples              []metrics.Sample
	sched, pauses        []uint64 // the histograms' counts at the last read
	gc                   uint64
	lockWait, gcAssist   float64      // seconds
	held                 func() int64 // Lateness.ReturnsHeld
	rescues              int64        // its count at the last read
	steal                uint64       // /proc/stat ticks
	majflt, minflt, nivc int64
	tick                 float64 // seconds per /proc/stat tick
}

func newHostSampler(clockTid, encodeTid, encodersPrio *atomic.Int32, encoderTids *atomic.Pointer[[]int32]) *hostSampler {
	s := &hostSampler{clockTid: clockTid, encodeTid: encodeTid, encodersPrio: encodersPrio, encoders: map[int]runDelay{}, encoderTids: encoderTids,
		tick: 0.01, samples: []metrics.Sample{{Name: "/sched/latencies:seconds"}, {Name: "/sched/pauses/total/gc:seconds"},
			{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/sync/mutex/wait/total:seconds"}, {Name: "/cpu/classes/gc/mark/assist:cpu-seconds"}}}
	s.sample() // the first read is the baseline
	return s
}

func (s *hostSampler) sample() HostWindow {
	var w HostWindow
	metrics.Read(s.samples)
	if s.samples[0].Value.Kind() == metrics.KindFloat64Histogram {
		h := s.samples[0].Value.Float64Histogram()
		w.SchedMaxMs, w.SchedP99Ms = histDelta(h, &s.sched)
	}
	if s.samples[1].Value.Kind() == metrics.KindFloat64Histogram {
		w.GCPauseMaxMs, _ = histDelta(s.samples[1].Value.Float64Histogram(), &s.pauses)
	}
	if s.samples[2].Value.Kind() == metrics.KindUint64 {
		gc := s.samples[2].Value.Uint64()
		w.GCCycles, s.gc = gc-s.gc, gc
	}
	if s.samples[3].Value.Kind() == metrics.KindFloat64 {
		v := s.samples[3].Value.Float64()
		w.LockWaitMs, s.lockWait = math.Round((v-s.lockWait)*1e5)/100, v
	}
	if s.samples[4].Value.Kind() == metrics.KindFloat64 {
		v := s.samples[4].Value.Float64()
		w.GCAssistMs, s.gcAssist = math.Round((v-s.gcAssist)*1e5)/100, v
	}
	if s.held != nil {
		n := s.held()
		w.ReturnsHeld, s.rescues = n-s.rescues, n
	}
	if steal, ok := readSteal(); ok {
		w.StealMs = float64(steal-s.steal) * s.tick * 1000
		s.steal = steal
	}
	w.ClockRunDelayMs = runDelayMs(s.clockTid, &s.clockRun)
	w.EncodeRunDelayMs = runDelayMs(s.encodeTid, &s.encodeRun)
	w.EncodersRunDelayMs, w.EncodersRunDelayMaxMs = s.encodersRunDelay()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		w.MajorFaults, w.MinorFaults = uint64(ru.Majflt-s.majflt), uint64(ru.Minflt-s.minflt)
		w.InvoluntarySwitches = uint64(ru.Nivcsw - s.nivc)
		s.majflt, s.minflt, s.nivc = ru.Majflt, ru.Minflt, ru.Nivcsw
	}
	return w
}

// histDelta returns the largest value and the 99th percentile (upper bucket
// bounds, in ms) of what a runtime histogram counted since prev, and keeps
// its counts in prev.
func histDelta(h *metrics.Float64Histogram, prev *[]uint64) (maxMs, p99Ms float64) {
	if len(*prev) != len(h.Counts) {
		*prev = make([]uint64, len(h.Counts))
		copy(*prev, h.Counts)
		return 0, 0
	}
	var total uint64
	for i, c := range h.Counts {
		total += c - (*prev)[i]
	}
	var seen uint64
	for i, c := range h.Counts {
		d := c - (*prev)[i]
		if d == 0 {
			continue
		}
		upper := h.Buckets[i+1]
		if math.IsInf(upper, 1) {
			upper = h.Buckets[i]
		}
		seen += d
		if p99Ms == 0 && float64(seen) >= 0.99*float64(total) {
			p99Ms = upper * 1000
		}
		maxMs = upper * 1000
	}
	copy(*prev, h.Counts)
	return maxMs, p99Ms
}

// encodersScanEvery is how many samples (seconds) apart the sampler looks
// for the encoders' threads again (an encoder reopened, a rendition added).
const encodersScanEvery = 10

// encodersRunDelay returns how long the encoders' threads waited for a CPU
// since the last read, in all and the most one of them (ms).
func (s *hostSampler) encodersRunDelay() (sum, most float64) {
	prio := int(s.encodersPrio.Load())
	if prio == 0 {
		return 0, 0
	}
	if s.encodersScan--; s.encodersScan <= 0 {
		s.encodersScan = encodersScanEvery
		s.findEncoders(prio)
	}
	for tid, last := range s.encoders {
		v, ok := readRunDelay(tid)
		if !ok {
			delete(s.encoders, tid) // ended
			continue
		}
		s.encoders[tid] = runDelay{ns: v, read: true}
		if !last.read { // found since the last read: the baseline
			continue
		}
		d := float64(v-last.ns) / 1e6
		sum += d
		most = max(most, d)
	}
	return sum, most
}

// findEncoders makes the process's threads in SCHED_RR at prio those whose
// run delays are read (/proc/self/task/TID/stat: rt_priority and policy,
// fields 40 and 41), keeping the last reads of those still there; a thread
// no longer at it (one raised only to open an encoder) is read no more.
func (s *hostSampler) findEncoders(prio int) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	found := make(map[int]runDelay, len(s.encoders))
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/stat")
		if err != nil {
			continue
		}
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:]) // f[0] is field 3
		if len(f) < 39 || string(f[38]) != "2" || string(f[37]) != strconv.Itoa(prio) {
			continue
		}
		found[tid] = s.encoders[tid]
	}
	s.encoders = found
	tids := make([]int32, 0, len(found))
	for tid := range found {
		tids = append(tids, int32(tid))
	}
	slices.Sort(tids)
	s.encoderTids.Store(&tids)
}

// runDelay is a thread's run delay at the last read (read: there was one).
type runDelay struct {
	ns   uint64
	read bool
}

// readRunDelay reads thread tid's run delay so far (/proc schedstat, ns).
func readRunDelay(tid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(f[1]), 10, 64)
	return v, err == nil
}

// runDelayMs returns how long thread tid waited for a CPU since the last
// read (its /proc schedstat run delay), and keeps the total in last.
func runDelayMs(tid *atomic.Int32, last *uint64) float64 {
	id := tid.Load()
	if id == 0 {
		return 0
	}
	v, ok := readRunDelay(int(id))
	if !ok {
		return 0
	}
	d := v - *last
	if *last == 0 { // the first read is the baseline
		d = 0
	}
	*last = v
	return float64(d) / 1e6
}

// readSteal reads the host's steal time (all CPUs, in clock ticks) from
// /proc/stat; false where there is none.
func readSteal() (uint64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) > 8 && string(f[0]) == "cpu" {
			v, err := strconv.ParseUint(string(f[8]), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
