package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Frame times are exact at fractional rates, and FrameOf inverts them.
func TestRateFrameTimes(t *testing.T) {
	ntsc := Rate{Num: 30000, Den: 1001}
	require.Equal(t, 33366666*time.Nanosecond, ntsc.FrameDuration())
	require.Equal(t, 1001*time.Second, ntsc.FrameTime(30000), "30000 frames are exactly 1001 s")
	r30 := Rate{Num: 30, Den: 1}
	require.Equal(t, time.Second, r30.FrameTime(30))
	for _, r := range []Rate{ntsc, r30, {Num: 25, Den: 1}, {Num: 60000, Den: 1001}} {
		for _, n := range []int64{0, 1, 2, 29, 30, 1799, 107892} {
			require.Equal(t, n, r.FrameOf(r.FrameTime(n)), "%v frame %d", r, n)
		}
		require.Equal(t, int64(1), r.FrameOf(time.Nanosecond), "%v: the first frame at or after pts", r)
	}
}
