//go:build !linux

package rtmp

// Elsewhere SO_RCVLOWAT does not hold back the poller's readiness alike
// (or at all): the socket is left as it is.
const lowWaterSupported = false

func setLowWater(uintptr, int) error { return nil }
