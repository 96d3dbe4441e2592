//go:build !linux

package clock

import "strconv"

func isFutex(int) bool { return false }

func syscallName(nr int) string { return "system call " + strconv.Itoa(nr) }
