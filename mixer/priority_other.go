//go:build !linux

package mixer

// lowerThreadPriority: per-thread priority is a Linux feature; elsewhere
// decoding runs at the process's priority (false: nothing lowered).
func lowerThreadPriority() bool { return false }

// restoreThreadPriority: nothing was lowered.
func restoreThreadPriority() bool { return false }

// raiseProgramThread: the program's threads run at the process's priority.
func raiseProgramThread() bool { return false }

// dropProgramThread: nothing was raised.
func dropProgramThread() {}

// onProgramThread runs f.
func onProgramThread(f func()) { f() }
