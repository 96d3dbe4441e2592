//go:build !linux

package mixer

// lowerThreadPriority: per-thread priority is a Linux feature; elsewhere
// decoding runs at the process's priority (false: nothing lowered).
func lowerThreadPriority() bool { return false }

// restoreThreadPriority: nothing was lowered.
func restoreThreadPriority() bool { return false }
