//go:build !linux

package mixer

// lowerDecodePriority: per-thread priority is a Linux feature; elsewhere
// decoding runs at the process's priority.
func lowerDecodePriority() {}
