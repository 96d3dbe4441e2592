//go:build !linux

package mixer

import (
	"time"

	"switchyard/media/av"
)

// lowerThreadPriority: per-thread priority is a Linux feature; elsewhere
// decoding runs at the process's priority (false: nothing lowered).
func lowerThreadPriority() bool { return false }

// lockDecodeThread: decoding runs at the process's priority here.
func lockDecodeThread() {}

// releaseDecodeThread: nothing was locked.
func releaseDecodeThread() {}

// restoreThreadPriority: nothing was lowered.
func restoreThreadPriority() bool { return false }

// programPriority is what the program's threads got: the process's, here.
type programPriority int

const atProcessPriority programPriority = 0

func (programPriority) String() string { return "process" }

// encodersRTPrio: no encoder's thread runs in real time here.
func (programPriority) encodersRTPrio() int32 { return 0 }

// runtimeNice: no thread is raised here.
const runtimeNice = 0

// raiseRuntimeThreads: the runtime's threads run at the process's priority.
func raiseRuntimeThreads() bool { return false }

// raiseProgramThread: the program's threads run at the process's priority.
func raiseProgramThread() programPriority { return atProcessPriority }

// raiseClockThread: the clock runs at the process's priority.
func raiseClockThread() programPriority { return atProcessPriority }

// dropProgramThread: nothing was raised.
func dropProgramThread() {}

// onProgramThread runs f.
func onProgramThread(f func()) { f() }

// watchReturns: no thread runs in real time here.
func watchReturns(programPriority) *av.ReturnWatch { return nil }

// threadID is 0 where threads have no /proc schedstat.
func threadID() int32 { return 0 }

// sleepUntil waits on a timer until the program clock's next frame.
func sleepUntil(done <-chan struct{}, t *time.Timer, d time.Duration, _ bool, _ *av.ReturnWatch) bool {
	return timerSleep(done, t, d)
}
