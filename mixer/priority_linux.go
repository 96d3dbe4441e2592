//go:build linux

package mixer

import (
	"runtime"
	"syscall"
)

// decodeNice is the nice value of the threads that decode sources: the
// program tick and its encoder run at the process's own priority and come
// first when the machine is short of CPU (a source's picture can wait in its
// jitter buffer; a program frame cannot be late). At 10 (a weight of 110
// against the encoder threads' 1 024) x264's slice threads take a core from
// a decoder as they wake: 10 × 1080p30 sources into a 1080p program on a
// 2-core VM had 0, 1 and 0 late frames in three 45 s runs, 1080p encodes up
// to 28–44 ms; at nice 5 (weight 335) 0–18 late in five runs, encodes up to
// 34–50 ms. SCHED_IDLE decoders did better still (0 late at 10, encodes up
// to 23 ms), but they would starve behind any other busy process on the
// machine, and an unprivileged thread cannot leave that class again.
const decodeNice = 10

// lowerDecodePriority locks the calling goroutine to its OS thread for the
// rest of its life (the thread exits with it, its priority with it) and
// lowers that thread's priority. Linux keeps nice per thread; on failure the
// thread simply keeps the process's priority.
func lowerDecodePriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), decodeNice)
}
