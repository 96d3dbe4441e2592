package av

/*
#include <stdlib.h>
#include "rtreturn.h"
*/
import "C"

import (
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// A real-time thread coming back from C into Go can be held there by the
// runtime's garbage collector, spinning, for as long as the kernel likes.
//
// A goroutine in a cgo call (or a system call) may have its stack scanned
// by the collector meanwhile; the scanning thread marks the goroutine
// (_Gscansyscall) while it scans, and the goroutine, coming back, waits in
// runtime.exitsyscall until the mark is gone — spinning and yielding
// (sched_yield). When the thread coming back runs in real time and the
// scanner is an ordinary thread it preempted on the same CPU, the scanner
// cannot run until the kernel moves it to the other CPU: the real-time
// spinner keeps its own CPU, and sched_yield from a real-time thread gives
// way only to real-time threads. Seen with perf on the 12 × 1080p30 scale
// run (machine A, 2 cores): the program's encode loop 70–100 ms in
// exitsyscall after x264's call, 45–49 of each incident's 66–84 samples in
// runtime.procyieldAsm, the scanner queued behind it; the program clock's
// late wakes from nanosleep(2) the same from outside. Counted with the watch
// on the same run: 43–65 holds over a millisecond in 10 minutes (about one
// collection in four); unwatched, the worst of them made a late program
// frame every few minutes.
//
// A ReturnWatch is the cure: a watched thread's C calls note the moment they
// end (the encoder's send, the clock's sleep); Go code notes the moment it is
// back (back). A watcher thread of its own — C, never in Go, in real time
// above the program's threads — lowers a thread out of C for over a
// millisecond without being back to SCHED_IDLE for a millisecond, which lets
// any ordinary thread on its CPU (the scanner) run, then raises it again if
// it is still not back; the thread, once back, raises itself. The watcher
// sleeps on a futex while no watched thread is between C and Go: the cost is
// two wake-ups of it per watched call.

// ReturnWatch is one real-time thread's watch (WatchReturns).
type ReturnWatch struct{ c *C.sy_rw }

// rescues counts the watched calls whose thread the watcher lowered because
// it stayed out of C over a millisecond without coming back into Go;
// longestHeld is the longest such stay, in ns.
var rescues, longestHeld atomic.Int64

// Rescues returns how many times a watched thread was held coming back from
// C and lowered so its CPU could finish the runtime's work, and the longest
// time one was held (from its C call's end to being back in Go).
func Rescues() (n int64, longest time.Duration) {
	return rescues.Load(), time.Duration(longestHeld.Load())
}

// ReturnWatcherTid is the watcher's thread id (0: not started), so what
// looks at the process's threads can tell it from the others.
func ReturnWatcherTid() int { return int(C.sy_rw_watcher_tid()) }

// watchAfter is how long a watched thread may be out of C without being
// back in Go before the watcher lowers it: a normal return takes
// microseconds. A test's control sets it longer.
var watchAfter atomic.Int64

func init() { watchAfter.Store(int64(time.Millisecond)) }

// WatchReturns watches the calling thread's returns from C at its current
// scheduling policy and priority (the thread raised to real time and locked
// to the calling goroutine, which must stay locked until Close). Nil where
// there is nothing to cure or it cannot watch (the thread not in real time;
// no watcher thread could start in real time above it; not Linux); a nil
// watch's methods do what they would without the watch.
func WatchReturns() *ReturnWatch {
	w := &ReturnWatch{c: (*C.sy_rw)(C.calloc(1, C.size_t(unsafe.Sizeof(C.sy_rw{}))))}
	if C.sy_rw_attach(w.c, C.int64_t(watchAfter.Load())) != 0 {
		C.free(unsafe.Pointer(w.c))
		return nil
	}
	return w
}

// Close ends the watch, on the thread that started it. Safe twice.
func (w *ReturnWatch) Close() {
	if w == nil || w.c == nil {
		return
	}
	C.sy_rw_detach(w.c)
	C.free(unsafe.Pointer(w.c))
	w.c = nil
}

// Sleep sleeps d in clock_nanosleep(2) in C on the calling thread, and
// returns how long the thread took from the sleep's end to be back in Go.
// A nil watch sleeps in nanosleep(2) through the runtime (0 returned).
func (w *ReturnWatch) Sleep(d time.Duration) time.Duration {
	if w == nil {
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
		return 0
	}
	return back(C.sy_rw_sleep(C.int64_t(d.Nanoseconds())))
}

// back is a watched thread's first act after a watched C call returns (rw
// is what the call's sy_rw_leaving returned; nil: the thread is not
// watched): it is no longer out of C, and if the watcher lowered it
// meanwhile it raises itself again. It returns the time from the call's end.
// No allocation, no system call but a raise after a rescue.
func back(rw *C.sy_rw) time.Duration {
	if rw == nil {
		return 0
	}
	left := atomic.SwapInt64((*int64)(unsafe.Pointer(&rw.left)), 0)
	held := time.Duration(nanotime() - left)
	busy := (*int32)(unsafe.Pointer(&rw.busy))
	lowered := (*int32)(unsafe.Pointer(&rw.lowered))
	rescued := (*int32)(unsafe.Pointer(&rw.rescued))
	if atomic.LoadInt32(busy) == 0 && atomic.LoadInt32(lowered) == 0 && atomic.LoadInt32(rescued) == 0 {
		return held
	}
	for atomic.LoadInt32(busy) != 0 {
		// The watcher is in its system call on this thread (microseconds).
	}
	if atomic.LoadInt32(lowered) != 0 {
		param := struct{ priority int32 }{int32(rw.prio)}
		syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(rw.tid), uintptr(rw.policy), uintptr(unsafe.Pointer(&param)))
		atomic.StoreInt32(lowered, 0)
	}
	if atomic.SwapInt32(rescued, 0) != 0 { // lowered (and maybe raised again by the watcher) while out
		rescues.Add(1)
		for l := longestHeld.Load(); int64(held) > l && !longestHeld.CompareAndSwap(l, int64(held)); l = longestHeld.Load() {
		}
	}
	return held
}

// nanotime is the runtime's monotonic clock: CLOCK_MONOTONIC on Linux, the
// clock the C side notes a call's end on.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
