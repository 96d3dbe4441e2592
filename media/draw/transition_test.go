package draw

import (
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/media/av"
	"switchyard/media/color"
)

func solid(t *testing.T, c color.YUV) *av.Frame {
	f, err := av.NewFrame(64, 32)
	require.NoError(t, err)
	t.Cleanup(f.Free)
	f.Fill(c.Y, c.U, c.V)
	return f
}

func yuvAt(f *av.Frame, x, y int) color.YUV {
	return color.YUV{Y: f.Y[y*f.StrideY+x], U: f.U[(y/2)*f.StrideC+x/2], V: f.V[(y/2)*f.StrideC+x/2]}
}

var (
	red  = color.FromRGB(255, 0, 0)
	blue = color.FromRGB(0, 0, 255)
)

func near(t *testing.T, want, got color.YUV, msg string) {
	t.Helper()
	require.InDelta(t, int(want.Y), int(got.Y), 2, msg)
	require.InDelta(t, int(want.U), int(got.U), 2, msg)
	require.InDelta(t, int(want.V), int(got.V), 2, msg)
}

func TestMixMidpointIsTheAverage(t *testing.T) {
	a, b, dst := solid(t, red), solid(t, blue), solid(t, color.Black)
	Mix(dst, a, b, 0.5)
	avg := color.YUV{Y: byte((int(red.Y) + int(blue.Y) + 1) / 2), U: byte((int(red.U) + int(blue.U) + 1) / 2), V: byte((int(red.V) + int(blue.V) + 1) / 2)}
	near(t, avg, yuvAt(dst, 10, 10), "midpoint")
	Mix(dst, a, b, 0)
	near(t, red, yuvAt(dst, 10, 10), "start")
	Mix(dst, a, b, 1)
	near(t, blue, yuvAt(dst, 10, 10), "end")
}

func TestDipGoesThroughTheColour(t *testing.T) {
	a, b, dst := solid(t, red), solid(t, blue), solid(t, color.Black)
	white := color.FromRGB(255, 255, 255)
	Dip(dst, a, b, 0.5, white)
	near(t, white, yuvAt(dst, 5, 5), "midpoint is the dip colour")
	Dip(dst, a, b, 0.25, white)
	mid := color.YUV{Y: byte((int(red.Y) + int(white.Y) + 1) / 2), U: byte((int(red.U) + int(white.U) + 1) / 2), V: byte((int(red.V) + int(white.V) + 1) / 2)}
	near(t, mid, yuvAt(dst, 5, 5), "a quarter in: halfway from a to the colour")
	Dip(dst, a, b, 1, white)
	near(t, blue, yuvAt(dst, 5, 5), "end")
}

func TestWipeEdgeMovesTheRightWay(t *testing.T) {
	a, b, dst := solid(t, red), solid(t, blue), solid(t, color.Black)
	for _, c := range []struct {
		dir      string
		bAt, aAt [2]int // a point that shows b, and one that still shows a, at p = 0.5
	}{
		{wipeLeft, [2]int{8, 16}, [2]int{56, 16}},
		{wipeRight, [2]int{56, 16}, [2]int{8, 16}},
		{wipeDown, [2]int{32, 4}, [2]int{32, 28}},
		{wipeUp, [2]int{32, 28}, [2]int{32, 4}},
		{wipeCircle, [2]int{32, 16}, [2]int{0, 0}},
	} {
		t.Run(c.dir, func(t *testing.T) {
			Wipe(dst, a, b, 0.5, c.dir, 4)
			near(t, blue, yuvAt(dst, c.bAt[0], c.bAt[1]), "the new picture's side")
			near(t, red, yuvAt(dst, c.aAt[0], c.aAt[1]), "the old picture's side")
			Wipe(dst, a, b, 0, c.dir, 4)
			near(t, red, yuvAt(dst, c.bAt[0], c.bAt[1]), "nothing revealed at 0")
			Wipe(dst, a, b, 1, c.dir, 4)
			near(t, blue, yuvAt(dst, c.aAt[0], c.aAt[1]), "all revealed at 1")
		})
	}
	// a soft edge: left of it b (blue, low V), right of it a (red, high V),
	// and the pixels across it step from one to the other
	Wipe(dst, a, b, 0.5, wipeLeft, 16)
	prev, steps := -1, 0
	for x := 16; x < 48; x++ {
		v := int(yuvAt(dst, x, 0).V)
		if prev >= 0 {
			require.GreaterOrEqual(t, v, prev-1, "monotonic across the edge (x=%d)", x)
			if v > prev {
				steps++
			}
		}
		prev = v
	}
	require.Greater(t, steps, 4, "a soft edge, not a hard one")
}

func TestFade(t *testing.T) {
	a, dst := solid(t, red), solid(t, red)
	Fade(dst, a, 1, color.Black)
	near(t, color.Black, yuvAt(dst, 3, 3), "fully faded")
	Fade(dst, a, 0, color.Black)
	near(t, red, yuvAt(dst, 3, 3), "not faded")
}

// A hard wipe (softness 0) at p has its edge exactly at p × the frame,
// between two pixels, in luma and chroma alike, every direction.
func TestHardWipeEdgeIsExact(t *testing.T) {
	a, b, dst := solid(t, red), solid(t, blue), solid(t, color.Black) // 64×32
	for _, c := range []struct {
		dir     string
		p       float64
		isB     func(x, y int) bool
		explain string
	}{
		{wipeLeft, 0.5, func(x, _ int) bool { return x < 32 }, "left half"},
		{wipeLeft, 0.25, func(x, _ int) bool { return x < 16 }, "left quarter"},
		{wipeRight, 0.25, func(x, _ int) bool { return x >= 48 }, "right quarter"},
		{wipeDown, 0.5, func(_, y int) bool { return y < 16 }, "top half"},
		{wipeUp, 0.75, func(_, y int) bool { return y >= 8 }, "bottom three quarters"},
		{wipeLeft, 0, func(int, int) bool { return false }, "nothing at 0"},
		{wipeLeft, 1, func(int, int) bool { return true }, "everything at 1"},
	} {
		Wipe(dst, a, b, c.p, c.dir, 0)
		for y := 0; y < 32; y++ {
			for x := 0; x < 64; x++ {
				want := red
				if c.isB(x, y) {
					want = blue
				}
				got := yuvAt(dst, x, y)
				require.Equal(t, want.Y, got.Y, "%s %s: luma at %d,%d", c.dir, c.explain, x, y)
				require.Equal(t, [2]byte{want.U, want.V}, [2]byte{got.U, got.V}, "%s %s: chroma at %d,%d", c.dir, c.explain, x, y)
			}
		}
	}
}
