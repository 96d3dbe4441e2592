package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Ways keeps the last pictures' pieces, without allocating as it notes
// them, and gives their medians.
func TestWays(t *testing.T) {
	var w Ways
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for i := range 300 {
		taken := ms(float64(i) * 33)
		p := PictureWay{Taken: taken, Decoded: taken + ms(4), Due: taken + ms(66), Fresh: true}
		frame := p.Due + ms(10)
		w.Note(p, frame, frame+ms(2), frame+ms(9))
	}
	got := w.Pieces()
	require.Equal(t, Pieces{Pictures: 256, DecodeMs: 4, BufferMs: 62, TickMs: 10, ComposeMs: 2, EncodeMs: 7, TotalMs: 85}, got)
	p := PictureWay{Taken: 1, Decoded: 2, Due: 3, Fresh: true}
	require.Zero(t, testing.AllocsPerRun(100, func() { w.Note(p, 4, 5, 6) }), "the encode loop notes each frame")
	w.Reset()
	require.Equal(t, Pieces{}, w.Pieces())
}
