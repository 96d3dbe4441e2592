//go:build linux

package clock

import (
	"strconv"
	"syscall"
)

func isFutex(nr int) bool { return nr == syscall.SYS_FUTEX }

// syscallName names the system calls a program thread is found in.
func syscallName(nr int) string {
	switch nr {
	case syscall.SYS_FUTEX:
		return "futex"
	case syscall.SYS_READ:
		return "read"
	case syscall.SYS_WRITE:
		return "write"
	case syscall.SYS_NANOSLEEP:
		return "nanosleep"
	case syscall.SYS_CLOCK_NANOSLEEP:
		return "clock_nanosleep"
	case syscall.SYS_EPOLL_PWAIT:
		return "epoll_pwait"
	case syscall.SYS_MMAP:
		return "mmap"
	case syscall.SYS_MUNMAP:
		return "munmap"
	case syscall.SYS_MADVISE:
		return "madvise"
	case syscall.SYS_MPROTECT:
		return "mprotect"
	case syscall.SYS_BRK:
		return "brk"
	case syscall.SYS_SCHED_YIELD:
		return "sched_yield"
	}
	return "system call " + strconv.Itoa(nr)
}
