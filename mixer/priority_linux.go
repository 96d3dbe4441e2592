//go:build linux

package mixer

import (
	"runtime"
	"syscall"
)

// decodeNice is the nice value of the threads that decode sources: the
// program tick and its encoder run at the process's own priority and come
// first when the machine is short of CPU (a source's picture can wait in its
// jitter buffer; a program frame cannot be late).
const decodeNice = 5

// lowerDecodePriority locks the calling goroutine to its OS thread for the
// rest of its life (the thread exits with it, its priority with it) and
// lowers that thread's priority. Linux keeps nice per thread; on failure the
// thread simply keeps the process's priority.
func lowerDecodePriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), decodeNice)
}
