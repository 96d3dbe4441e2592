//go:build linux

package mixer

import (
	"time"

	"switchyard/media/av"
)

// sleepUntil waits d for the program clock's next frame, or until done
// closes (false). On a thread raised to real time (rt) it sleeps in
// nanosleep(2) on that thread, so the kernel wakes the clock's own thread
// at the frame's time, ahead of everything else on the machine. A runtime
// timer fires on whichever P it was set on, and the goroutine it wakes
// waits for that P's thread — an ordinary one — to run it: under load the
// clock woke 34–110 ms late while its own thread never waited for a CPU
// (late frames of cause "clock" with clock_run_delay_ms 0). Coming back
// from the call the goroutine takes an idle P (the process keeps spare
// ones: sysmon's hold raises GOMAXPROCS above the CPUs). With rw (the
// thread in real time and watched, av.ReturnWatch) the sleep is in C, so a
// return the runtime holds is let go; without, in syscall.Nanosleep. Close is seen within a frame: done is
// looked at before each sleep.
func sleepUntil(done <-chan struct{}, t *time.Timer, d time.Duration, rt bool, rw *av.ReturnWatch) bool {
	if !rt {
		return timerSleep(done, t, d)
	}
	select {
	case <-done:
		return false
	default:
	}
	rw.Sleep(d) // a nil watch (raised by nice only) sleeps in nanosleep(2) all the same
	return true
}
