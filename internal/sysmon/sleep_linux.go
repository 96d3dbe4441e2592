package sysmon

import (
	"syscall"
	"time"
)

const supported = true

// sleepInSyscall sleeps in nanosleep(2) through syscall.Nanosleep, which
// enters the runtime's system-call state (the P stays with the call).
func sleepInSyscall(d time.Duration) {
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	_ = syscall.Nanosleep(&ts, nil)
}
