//go:build !linux

package sysmon

import "time"

const supported = false

func sleepInSyscall(time.Duration) {}
