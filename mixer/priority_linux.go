//go:build linux

package mixer

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
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

// lowerThreadPriority locks the calling goroutine to its OS thread for the
// rest of its life (the thread exits with it, its priority with it) and
// lowers that thread's priority; it reports true (the goroutine is locked).
// Linux keeps nice per thread; on failure the thread simply keeps the
// process's priority.
func lowerThreadPriority() bool {
	runtime.LockOSThread()
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

// restoreThreadPriority puts the calling goroutine's lowered thread back at
// the process's priority and unlocks it, when the process may raise a
// thread's priority (root, CAP_SYS_NICE, RLIMIT_NICE); it reports whether it
// did. Otherwise the thread stays lowered and locked, to end with its
// goroutine: a thread that ends is a hazard of its own (a child process
// started from it with a parent-death signal gets that signal), so it is
// kept when it can be.
func restoreThreadPriority() bool {
	if raiseDenied || syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), processNice()) != nil {
		return false
	}
	runtime.UnlockOSThread()
	return true
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

// raiseProgramThread locks the calling goroutine to its thread and gives
// the thread the program's priority: real time (programRTPriority) where
// the process may, else programNice above the process where it may, else
// the goroutine is unlocked again and runs at the process's priority. It
// reports which; a thread it raised is put back with dropProgramThread
// before its goroutine ends (not ended with it: the runtime cannot end the
// main thread, which would stay raised and idle for good).
func raiseProgramThread() programPriority {
	runtime.LockOSThread()
	switch {
	case raiseDenied:
	case !realTimeDenied && setScheduler(syscall.Gettid(), schedRR, programRTPriority) == nil:
		return realTime
	case syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), max(processNice()-programNice, -20)) == nil:
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
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), processNice())
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
var raiseDenied, realTimeDenied bool

// threadID is the calling thread's id (for its /proc schedstat).
func threadID() int32 { return int32(syscall.Gettid()) }
