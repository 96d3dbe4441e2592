// Package backoff spaces out reconnection attempts: outputs to platforms and
// pulled cameras both retry forever, and many of them must not retry in step.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Delay returns the wait before attempt n (1, 2, …): minD·2^(n−1) capped at
// maxD, with ±20 % jitter.
func Delay(n int, minD, maxD time.Duration) time.Duration {
	d := minD
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
