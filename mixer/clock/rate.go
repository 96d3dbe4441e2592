package clock

import "time"

// Rate is the program's frame rate, Num/Den frames a second (30/1,
// 30000/1001, …). Frame n's time is exactly n × Den / Num seconds.
type Rate struct{ Num, Den int }

// FrameDuration returns the duration of frame n+1 minus frame n on average.
func (r Rate) FrameDuration() time.Duration {
	return time.Duration(int64(time.Second) * int64(r.Den) / int64(r.Num))
}

// FrameTime returns the exact time of frame n: n × Den / Num seconds.
func (r Rate) FrameTime(n int64) time.Duration {
	return time.Duration(n * int64(r.Den) * int64(time.Second) / int64(r.Num))
}

// FrameOf returns the index of the frame whose timestamp is pts: the inverse
// of FrameTime (the first frame at or after pts).
func (r Rate) FrameOf(pts time.Duration) int64 {
	d := int64(r.Den) * int64(time.Second)
	return (int64(pts)*int64(r.Num) + d - 1) / d
}

// FramesIn returns how many frames last d, rounded to the nearest.
func (r Rate) FramesIn(d time.Duration) int64 {
	return int64(d.Seconds()*float64(r.Num)/float64(r.Den) + 0.5)
}
