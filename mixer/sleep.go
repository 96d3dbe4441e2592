package mixer

import "time"

// timerSleep waits d on t (the runtime's timers), or until done closes
// (false).
func timerSleep(done <-chan struct{}, t *time.Timer, d time.Duration) bool {
	t.Reset(d)
	select {
	case <-done:
		return false
	case <-t.C:
		return true
	}
}
