// Package sysmon keeps the Go runtime's system monitor out of its fastest
// polling, which otherwise costs a media server a few per cent of a core.
//
// The runtime's monitor thread (sysmon) sleeps 20 µs at a time after it has
// retaken a P from a long system or cgo call, or after a system call woke it
// from its deep sleep, and only doubles the sleep after 50 quiet rounds. The
// deep sleep starts whenever every P is idle. Switchyard works in bursts —
// a program frame, a camera's packet, a decode — and is idle in between, so
// sysmon goes to sleep and is woken again dozens of times a second and
// spends its life in 20–640 µs sleeps: about 3 000 wake-ups a second, 4 % of
// a core on a 2-core VM, and the largest part of the kernel time Switchyard
// spent beyond ffmpeg doing the same job (see golang/go#18236, "runtime:
// sysmon tick is hardcoded").
//
// Hold keeps one goroutine in a short sleeping system call, over and over,
// on a P of its own (Start raises GOMAXPROCS by three: one for it, and one
// spare each for the program's clock and its encode loop, see extraProcs):
// that P is in a system call, never idle, so the runtime is never all idle
// and sysmon never deep-sleeps; between sleeps the goroutine yields, so its
// P's scheduling tick moves and sysmon never retakes it. With a P idle, a
// cgo call is not retaken either. The cost is one wake-up every Period.
//
// What the hold cannot remove: sysmon retakes a P it finds in one system
// call for 10 ms, however many Ps are idle, and the program clock sleeps
// most of each frame in nanosleep(2) on its own real-time thread (so that
// the kernel, not a runtime timer, wakes it on time under load). So sysmon
// is still set back to its 20 µs sleeps once a frame, about 40 of them each
// time. Measured in the standard job of make bench (machine A, 8 s of perf
// sched_switch): without the hold 4,100 of sysmon's wake-ups a second and
// 7,700 context switches of the process; with it 1,260–1,370 and
// 4,250–4,400 — sysmon's thread then 3 % of the process's CPU.
//
// Without the extra P the hold would take a P from the work, and with every
// other P in a cgo call sysmon would retake them at once: more wake-ups, not
// fewer (measured). With only one extra, 10 1080p sources on 2 cores had 3
// late program frames in 40 s (none with two or without the hold): sysmon
// no longer retakes a P within microseconds, so the tick waited for one.
// GOMAXPROCS set by Start is no longer adjusted by the runtime to a changed
// CPU limit until Close restores it.
package sysmon

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Period is the length of each sleep: short enough for sysmon never to
// count the P as stuck (it retakes a P it has seen in one system call for
// 10 ms), with 2 ms for the thread's wake-up on a busy machine; long enough
// to cost little (125 wake-ups a second; 4 ms cost 5 % more context
// switches of the whole process in the standard job of make bench).
const Period = 8 * time.Millisecond

// Hold is one user's hold; the process has one hold running while any user
// has one (a second server in the same process shares it).
type Hold struct{ once sync.Once }

var (
	mu     sync.Mutex
	users  int
	cancel context.CancelFunc
	done   chan struct{}
	procs  int // GOMAXPROCS before the hold raised it; 0: not raised
)

// extraProcs is how far Start raises GOMAXPROCS: a P for the hold, and
// one each for the program's clock and encode loop beyond the decodes
// (the mixer's decode gate runs one a core, each holding a P in its cgo
// call). The encode loop holds a P in x264's call for about half of each
// 1080p frame, so with one spare the clock, waking to compose, often found
// every P taken (the decodes, the encode, the hold) and waited for sysmon to
// retake one; and the encode loop, woken by the clock's send onto the clock's
// own P, waited there while the clock slept in nanosleep(2) holding it.
// Measured (12 × 1080p30 sources on the 2-core VM A, a 3-s runtime trace of
// each of two 90-s runs a side, SCALE_TRACE): with one spare 17 and 18 of
// about 110 such wakes of the encode loop waited over 2 ms for a P, up to
// 19.6 ms, and the clock woke up to 12–18 ms late; with two, 2 and 3 over
// 2 ms, at most 3.3 ms, the clock at most 3.6–10.1 ms late. The standard
// job's CPU and context switches did not move (0.537 against 0.526 CPU s
// per media s, 4,700 switches a second either way).
const extraProcs = 3

// Start starts the hold (or joins the running one) and raises GOMAXPROCS by
// extraProcs. With GOMAXPROCS 1 (set so by the operator) it holds nothing
// and changes nothing; Close is safe either way.
func Start() *Hold {
	mu.Lock()
	defer mu.Unlock()
	users++
	if users > 1 {
		return &Hold{}
	}
	n := runtime.GOMAXPROCS(0)
	if n < 2 || !supported {
		return &Hold{}
	}
	procs = n
	runtime.GOMAXPROCS(n + extraProcs)
	var ctx context.Context
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			sleepInSyscall(Period)
			runtime.Gosched()
		}
	}()
	return &Hold{}
}

// Close leaves the hold; the last user's Close ends it (waiting one Period
// at most) and gives GOMAXPROCS back, unless someone changed it meanwhile.
// Safe on nil and twice.
func (h *Hold) Close() {
	if h == nil {
		return
	}
	h.once.Do(func() {
		mu.Lock()
		defer mu.Unlock()
		users--
		if users > 0 || cancel == nil {
			return
		}
		cancel()
		<-done
		cancel, done = nil, nil
		if runtime.GOMAXPROCS(0) == procs+extraProcs {
			runtime.GOMAXPROCS(procs)
		}
		procs = 0
	})
}

// Yield is for a goroutine that runs for a while without blocking and spends
// it in cgo calls — the mixer's encode loop encodes a frame with each
// encoder, then mixes its sound.
// sysmon retakes the P of a goroutine it has seen on one scheduling tick for
// 10 ms as soon as it finds it in a system or cgo call, however short the
// call, and then polls every 20 µs for a while: about 60 wake-ups of its
// thread for each retake, and a hand-off of the P to another thread. Yield
// moves the scheduling tick (a trip through the scheduler, about a
// microsecond when nothing else is waiting), so a long call that starts
// after it is retaken only if it runs 10 ms itself. Measured on the standard
// job of make bench: Ps retaken 146 → 29 in 10 s, the process's context
// switches −29 %. What it costs is a wait while goroutines already queued on
// the P run first: with 10 × 1080p sources, 96 % of the tick's yields took
// under 0.1 ms and 0.15 % took 5 ms or more.
//
// Not for a goroutine locked to its thread: there it hands the thread off
// and back (two context switches).
func Yield() { runtime.Gosched() }
