//go:build linux

package mixer

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"switchyard/media/av"
)

// decodeNice is added to the process's nice value for the threads that
// decode quiet sources (input.quiet: neither shown nor heard by the program
// lately). They only keep a source's references for a cut to it, so they
// come after the program's clock, its encoding (programNice above the process
// where it may) and the decoders of the sources in use (at the process's
// priority). At 10 (a weight of 110 against 1 024) x264's slice threads
// take a core from a quiet decoder as they wake.
//
// Measured (6 × 1080p30 sources into a 1080p30 program on a 2-core VM, 45 s,
// interleaved runs): every decoder at nice 10, as before, 15 and 16 late
// program frames but 351 and 321 pictures late for their tick (a repeated
// frame on air each) and 10 s of sound late; decoders in use at the
// process's priority, 23 and 1 late program frames, 3 and 2 pictures late,
// no sound late. SCHED_IDLE would starve quiet decoders behind any other
// busy process on the machine, and an unprivileged thread cannot leave
// that class again.
const decodeNice = 10

// decodeInUseNice is added to the process's nice value for the threads that
// decode the sources in use. Every decoding goroutine runs on a thread of
// its own (lockDecodeThread), a little below the process, so that the Go
// runtime's own threads — which hold its Ps, fire its timers and hand the
// program's goroutines a P — never wait behind bulk decoding for a core.
// At the process's priority they did: the program's clock and encode loop,
// on real-time threads, still waited for a P held by a runtime thread that
// the kernel kept off the CPU among the decoders (the clock woke up to 22–40
// ms late, a yield of the encode loop took up to 15 ms, while their own
// threads never waited for a CPU).
//
// Measured (scale benchmark, 8 × 1080p30 sources into a 1080p30 program on
// the 2-core VM, 2-minute steps): in-use decoders at the process's priority
// 1.84 cores, 2 late program frames, 815 source pictures and 5.9 s of sound
// late, the clock woke at most 40.4 ms late; at 3 below it 1.70 cores, 0
// late frames, 9 pictures and no sound late, the clock at most 7.6 ms late.
const decodeInUseNice = 3

// lockDecodeThread locks the calling decoding goroutine to its OS thread for
// as long as it decodes and gives the thread the priority of a source in use
// (decodeInUseNice below the process; lowering a priority needs no right).
func lockDecodeThread() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), min(processNice()+decodeInUseNice, 19))
}

// lowerThreadPriority lowers the calling (locked) decoding thread to the
// priority of a quiet source (decodeNice below the process). It reports
// true. Linux keeps nice per thread; on failure the thread keeps its own.
func lowerThreadPriority() bool {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), min(processNice()+decodeNice, 19))
	return true
}

// processNice is the nice value the process was started with (its main
// thread's; the raw system call returns 20 − nice).
var processNice = sync.OnceValue(func() int {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, os.Getpid())
	if err != nil {
		return 0
	}
	return 20 - p
})

// runtimeNice is taken from the process's nice value for its ordinary
// threads — the Go runtime's, which run every goroutine but the program's
// and the decoders', fire the timers and hand a woken goroutine a P —
// where the process may raise them (root, CAP_SYS_NICE, RLIMIT_NICE).
// The program's clock and encode loop run in real time on their own
// threads, but a timer of theirs fires, and a goroutine they wake runs, only
// when an ordinary thread gets a core. At the machine's ordinary priority
// those threads waited among every other busy process: beside three
// ffmpeg encoders on the 2-core VM (make test under the race detector) the
// clock woke 57–104 ms late for a frame while its own thread never waited
// for a CPU (schedstat) and no goroutine waited over 2 ms once runnable —
// the timer waited, on a P whose thread was off the CPU. The decoders keep
// their place under the process (decodeInUseNice, decodeNice).
const runtimeNice = 5

// runtimeRaised: raiseRuntimeThreads raised the ordinary threads.
var runtimeRaised atomic.Bool

// raiseRuntimeThreads raises every thread of the process at the process's
// nice value by runtimeNice, once, where the process may; the threads the
// runtime starts later start from one of them (a Linux thread starts at
// its creator's nice value; a locked thread has the runtime's template
// thread start them). It reports whether the threads are raised.
var raiseRuntimeThreads = sync.OnceValue(func() bool {
	base := processNice()
	if raiseDenied.Load() || base-runtimeNice < -20 {
		return false
	}
	// twice: a thread started from one not yet raised is raised the second time
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return false
		}
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			if p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err != nil || 20-p != base {
				continue // a decoder's, the program's, or gone
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, base-runtimeNice); err != nil {
				if err == syscall.EPERM || err == syscall.EACCES {
					return false
				}
				continue // it ended meanwhile
			}
			runtimeRaised.Store(true)
		}
	}
	return runtimeRaised.Load()
})

// ordinaryNice is the nice value of the process's ordinary threads: the
// process's, less runtimeNice once raiseRuntimeThreads raised them. A thread
// leaving a decoder's or the program's priority goes back to it.
func ordinaryNice() int {
	if runtimeRaised.Load() {
		return processNice() - runtimeNice
	}
	return processNice()
}

// restoreThreadPriority raises the calling goroutine's lowered decoding
// thread back to the priority of a source in use, when the process may raise
// a thread's priority (root, CAP_SYS_NICE, RLIMIT_NICE); it reports whether
// it did. Otherwise the thread stays lowered and locked, to end with its
// goroutine (the caller moves the decoding to a fresh goroutine).
func restoreThreadPriority() bool {
	return !raiseDenied.Load() && syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), min(processNice()+decodeInUseNice, 19)) == nil
}

// releaseDecodeThread ends a decoding goroutine's hold on its thread: the
// thread goes back to the process's priority and to the runtime's pool,
// where the process may raise it; else it stays locked and ends with the
// goroutine (a thread that ends is a hazard of its own — a child process
// started from it with a parent-death signal gets that signal — so it is
// kept when it can be). No other goroutine ever runs at a decoder's priority.
func releaseDecodeThread() {
	if raiseDenied.Load() || syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), ordinaryNice()) != nil {
		return
	}
	runtime.UnlockOSThread()
}

// programNice is taken from the process's nice value for the program's
// threads — the clock's, the encode loop's and its encoders' (x264 starts its
// slice threads as an encoder opens, and a Linux thread starts at its
// creator's nice value and scheduling policy) — where they cannot run in
// real time (programRTPriority). They must finish a frame within its
// interval whatever else wants the cores; the decoders of the sources in
// use, with a jitter buffer between them and the tick, can wait a few
// milliseconds for them.
//
// Measured (scale benchmark, 60 s steps of 1080p30 sources into a 1080p30
// program on a 2-core VM, two interleaved pairs of runs): with the program's
// threads at the process's priority, 8 sources had 16 and 11 late program
// frames and 10 sources 48 and 2 (encodes up to 37–57 ms); raised, 8
// sources 0 and 2, 10 sources 2 and 0 (encodes up to 34–44 ms). Raised 10
// levels, the tick took too much from the decoders in use: 10 sources had
// 63 pictures late for their tick in a minute where 5 levels had none.
const programNice = 5

// programRTPriority is the real-time priority (SCHED_RR, 1–99) the
// program's threads take where the process may (root, CAP_SYS_NICE,
// RLIMIT_RTPRIO): low, under the kernel's own real-time threads, above
// every ordinary thread. A weighted fair share (nice) still left x264's
// slice threads waiting behind the decoders for a core; in real time they
// start as soon as a frame is queued and take what they need, about a
// quarter of the machine, and the decoders, whose jitter buffer absorbs the
// wait, share the rest. The kernel keeps 5 % of each second for ordinary
// threads (sched_rt_runtime_us), so even a program that cannot keep up does
// not lock the machine up.
//
// Measured (scale benchmark on the 2-core VM, 60 s steps, interleaved pairs,
// 5 nice levels up against real time): 1080p encodes of up to 26–43 ms
// against 13–18 ms in each of 14 pairs, at 8 sources beside a CPU or memory
// hog, 10 and 12 sources; no late program frame in real time (one in a nice
// run); fewer pictures late for their tick when the machine is over-full (8
// sources beside a memory hog of 0.8 of a core: 5 and 6 against 34 and 22).
const programRTPriority = 10

// clockRTPriority is the real-time priority of the program clock's and the
// encode loop's threads: one above the encoders' threads (programRTPriority).
// At one level, the clock waking for a frame's time waited behind x264's
// slice threads of the frame before: the same priority round-robins, so it
// ran only when one of them blocked or used up its 100 ms quantum — the
// thread's kernel run delay (schedstat) reached 134 ms in 5 s at 8 × 1080p,
// and the late frames of the scale run waited there. A level above, it
// preempts them; its work (a compose, a publish) is short.
const clockRTPriority = programRTPriority + 1

// programPriority is what the program's threads got (raiseProgramThread).
type programPriority int

const (
	atProcessPriority programPriority = iota // no privilege to raise a thread
	raisedNice                               // programNice above the process
	realTime                                 // SCHED_RR at programRTPriority
)

func (p programPriority) String() string {
	switch p {
	case realTime:
		return "real-time"
	case raisedNice:
		return "raised"
	}
	return "process"
}

// encodersRTPrio is the real-time priority the encoders' threads run at
// where the program's threads got p (0: not in real time).
func (p programPriority) encodersRTPrio() int32 {
	if p == realTime {
		return programRTPriority
	}
	return 0
}

// raiseProgramThread locks the calling goroutine to its thread and gives
// the thread the program's priority: real time (programRTPriority) where
// the process may, else programNice above the process where it may, else
// the goroutine is unlocked again and runs at the process's priority. It
// reports which; a thread it raised is put back with dropProgramThread
// before its goroutine ends (not ended with it: the runtime cannot end the
// main thread, which would stay raised and idle for good).
func raiseProgramThread() programPriority { return raiseThread(programRTPriority) }

// raiseClockThread is raiseProgramThread for the clock and the encode loop:
// in real time one level above the encoders' threads (clockRTPriority).
func raiseClockThread() programPriority { return raiseThread(clockRTPriority) }

func raiseThread(rtPrio int) programPriority {
	runtime.LockOSThread()
	switch {
	case raiseDenied.Load():
	case !realTimeDenied.Load() && setScheduler(syscall.Gettid(), schedRR, rtPrio) == nil:
		return realTime
	case syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), max(ordinaryNice()-programNice, -20)) == nil:
		return raisedNice
	}
	runtime.UnlockOSThread()
	return atProcessPriority
}

// Linux scheduling policies (sched(7)).
const (
	schedOther = 0
	schedRR    = 2
)

// setScheduler sets a thread's scheduling policy and real-time priority
// (sched_setscheduler(2); 0 for SCHED_OTHER).
func setScheduler(tid, policy, prio int) error {
	param := struct{ priority int32 }{int32(prio)}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(policy), uintptr(unsafe.Pointer(&param))); e != 0 {
		return e
	}
	return nil
}

// dropProgramThread puts a thread raised by raiseProgramThread back at the
// process's priority and policy (always allowed) and unlocks its goroutine.
func dropProgramThread() {
	_ = setScheduler(syscall.Gettid(), schedOther, 0)
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), ordinaryNice())
	runtime.UnlockOSThread()
}

// onProgramThread runs f on a raised thread (raiseProgramThread), so the
// threads f starts — an encoder's — start raised.
func onProgramThread(f func()) {
	if raiseProgramThread() != atProcessPriority {
		defer dropProgramThread()
	}
	f()
}

// raiseDenied makes restoreThreadPriority and raiseProgramThread fail, as
// they do without privileges; realTimeDenied makes raiseProgramThread fall
// back to nice, as it does without the right to real time (tests' switches).
var raiseDenied, realTimeDenied atomic.Bool // read by threads that outlive a test

// watchReturns watches the calling thread's returns from C (av.WatchReturns)
// where it runs in real time (p): coming back from a cgo or system call the
// runtime can hold it spinning while an ordinary thread on its CPU finishes
// scanning its goroutine's stack, for as long as the kernel leaves that
// thread behind it. Nil otherwise; Close it before dropProgramThread.
func watchReturns(p programPriority) *av.ReturnWatch {
	if p != realTime {
		return nil
	}
	return av.WatchReturns()
}

// threadID is the calling thread's id (for its /proc schedstat).
func threadID() int32 { return int32(syscall.Gettid()) }
