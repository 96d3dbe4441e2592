package mixer

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// The program, its renditions and the preview are one list of targets,
// encoded in that order: renditions join before the preview, are shared by
// bitrate, and leave when their last user does. Every program frame goes out
// on each, the preview's from the preview bus.
func TestTargetsAreOneList(t *testing.T) {
	e, err := New(Config{Width: 320, Height: 180, FPSNum: 30, FPSDen: 1, VideoBitrateBPS: 500_000, AudioBitrateBPS: 128_000,
		PreviewBitrateBPS: 200_000}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer e.Close()
	bitrates := func() (out []int) {
		for _, t := range e.targets.load() {
			out = append(out, t.bps)
		}
		return out
	}
	require.Equal(t, []int{500_000, 200_000}, bitrates(), "the program, then the preview")
	r1, err := e.targets.AcquireRendition(300_000)
	require.NoError(t, err)
	r2, err := e.targets.AcquireRendition(100_000)
	require.NoError(t, err)
	again, err := e.targets.AcquireRendition(300_000)
	require.NoError(t, err)
	require.Same(t, r1, again, "one encode a bitrate")
	require.Equal(t, []int{500_000, 300_000, 100_000, 200_000}, bitrates())
	v, a := e.targets.ProgramTracks()
	require.Equal(t, a, r1.Tracks()[1], "a rendition carries the program's sound")
	require.NotSame(t, v, r1.Tracks()[0], "its own video track")
	require.Len(t, e.targets.PreviewStream().Tracks(), 1, "the preview is video only")

	e.tick(0)
	for _, st := range []interface{ UnitsWritten() uint64 }{e.targets.Program(), r1, r2, e.targets.PreviewStream()} {
		require.NotZero(t, st.UnitsWritten(), "every target encodes the frame")
	}
	e.targets.ReleaseRendition(300_000)
	require.Equal(t, []int{500_000, 300_000, 100_000, 200_000}, bitrates(), "a user is left")
	e.targets.ReleaseRendition(300_000)
	require.Equal(t, []int{500_000, 100_000, 200_000}, bitrates())
	e.targets.ReleaseRendition(100_000)
	require.Equal(t, []int{500_000, 200_000}, bitrates())
}

// A rendition of another height is the program scaled, at the program's
// aspect: its own encode, shared by height and bitrate; the program's
// height is the program's size.
func TestScaledRendition(t *testing.T) {
	e, err := New(Config{Width: 320, Height: 180, FPSNum: 30, FPSDen: 1, VideoBitrateBPS: 500_000, AudioBitrateBPS: 128_000},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer e.Close()
	small, err := e.targets.AcquireScaledRendition(90, 100_000)
	require.NoError(t, err)
	require.Equal(t, 160, small.Tracks()[0].Width)
	require.Equal(t, 90, small.Tracks()[0].Height)
	again, err := e.targets.AcquireScaledRendition(90, 100_000)
	require.NoError(t, err)
	require.Same(t, small, again, "one encode a height and bitrate")
	full, err := e.targets.AcquireScaledRendition(180, 100_000)
	require.NoError(t, err)
	require.NotSame(t, small, full)
	plain, err := e.targets.AcquireRendition(100_000)
	require.NoError(t, err)
	require.Same(t, full, plain, "the program's height is the program's size")
	require.Equal(t, 320, full.Tracks()[0].Width)
	for _, bad := range []int{91, 8, 360} {
		_, err := e.targets.AcquireScaledRendition(bad, 100_000)
		require.ErrorContains(t, err, "height", "height %d", bad)
	}

	e.tick(0)
	require.NotZero(t, small.UnitsWritten(), "the scaled rendition encodes the frame")
	require.NotZero(t, full.UnitsWritten())
	e.targets.ReleaseScaledRendition(90, 100_000)
	e.targets.ReleaseScaledRendition(90, 100_000)
	e.targets.ReleaseRendition(100_000)
	e.targets.ReleaseScaledRendition(180, 100_000)
	require.Len(t, e.targets.load(), 1, "only the program is left")
}
