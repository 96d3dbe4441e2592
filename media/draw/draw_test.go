package draw

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/media/av"
)

func TestClip(t *testing.T) {
	const w, h = 64, 48
	for _, c := range []struct {
		name     string
		in, want av.Rect
	}{
		{"inside", av.Rect{X: 10, Y: 4, W: 20, H: 10}, av.Rect{X: 10, Y: 4, W: 20, H: 10}},
		{"odd corner snaps down, odd size rounds down", av.Rect{X: 11, Y: 5, W: 21, H: 11}, av.Rect{X: 10, Y: 4, W: 20, H: 10}},
		{"negative origin keeps what is inside", av.Rect{X: -10, Y: -6, W: 20, H: 16}, av.Rect{X: 0, Y: 0, W: 10, H: 10}},
		{"negative odd", av.Rect{X: -3, Y: 0, W: 8, H: 2}, av.Rect{X: 0, Y: 0, W: 4, H: 2}},
		{"past the right and bottom", av.Rect{X: 60, Y: 40, W: 20, H: 20}, av.Rect{X: 60, Y: 40, W: 4, H: 8}},
		{"the whole frame and more", av.Rect{X: -5, Y: -5, W: 1000, H: 1000}, av.Rect{X: 0, Y: 0, W: 64, H: 48}},
		{"wholly right of the frame", av.Rect{X: 64, Y: 0, W: 10, H: 10}, av.Rect{}},
		{"wholly below", av.Rect{X: 0, Y: 100, W: 10, H: 10}, av.Rect{}},
		{"wholly left", av.Rect{X: -20, Y: 0, W: 20, H: 10}, av.Rect{}},
		{"zero size", av.Rect{X: 4, Y: 4, W: 0, H: 10}, av.Rect{}},
		{"negative size", av.Rect{X: 4, Y: 4, W: -8, H: 10}, av.Rect{}},
		{"one pixel wide rounds to nothing", av.Rect{X: 4, Y: 4, W: 1, H: 10}, av.Rect{}},
		{"a size that would overflow X+W", av.Rect{X: 10, Y: 10, W: math.MaxInt, H: math.MaxInt}, av.Rect{X: 10, Y: 10, W: 54, H: 38}},
		{"an origin that would overflow W+X", av.Rect{X: math.MinInt, Y: 0, W: math.MaxInt, H: 4}, av.Rect{}},
	} {
		require.Equal(t, c.want, Clip(c.in, w, h), c.name)
	}
}

// FillRect paints exactly the clipped rectangle, whatever it is given, in
// both luma and chroma, and nothing else.
func TestFillRectPaintsExactlyTheClippedRect(t *testing.T) {
	const w, h = 64, 48
	f, err := av.NewFrame(w, h)
	require.NoError(t, err)
	defer f.Free()
	red := FromRGB(255, 0, 0)
	for _, r := range []av.Rect{
		{X: 11, Y: 5, W: 21, H: 11}, {X: -10, Y: -6, W: 20, H: 16}, {X: 60, Y: 40, W: 20, H: 20},
		{X: 64, Y: 48, W: 10, H: 10}, {X: 200, Y: 200, W: 2, H: 2}, {X: 10, Y: 10, W: math.MaxInt, H: math.MaxInt},
		{X: -math.MaxInt, Y: -math.MaxInt, W: math.MaxInt, H: math.MaxInt},
	} {
		f.Fill(16, 128, 128)
		FillRect(f, r, red)
		c := Clip(r, w, h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				in := x >= c.X && x < c.X+c.W && y >= c.Y && y < c.Y+c.H
				want := byte(16)
				if in {
					want = red.Y
				}
				require.Equal(t, want, f.Y[y*f.StrideY+x], "rect %+v: luma at %d,%d", r, x, y)
				if x%2 == 0 && y%2 == 0 {
					wantU, wantV := byte(128), byte(128)
					if in {
						wantU, wantV = red.U, red.V
					}
					i := y/2*f.StrideC + x/2
					require.Equal(t, [2]byte{wantU, wantV}, [2]byte{f.U[i], f.V[i]}, "rect %+v: chroma at %d,%d", r, x, y)
				}
			}
		}
	}
}

func FuzzClip(f *testing.F) {
	f.Add(11, 5, 21, 11, 64, 48)
	f.Add(-10, -6, 20, 16, 64, 48)
	f.Add(math.MaxInt, 0, math.MaxInt, 1, 1920, 1080)
	f.Fuzz(func(t *testing.T, x, y, rw, rh, w, h int) {
		if w < 0 || h < 0 || w > 1<<16 || h > 1<<16 {
			return
		}
		c := Clip(av.Rect{X: x, Y: y, W: rw, H: rh}, w, h)
		if c == (av.Rect{}) {
			return
		}
		if c.X < 0 || c.Y < 0 || c.W <= 0 || c.H <= 0 || c.X+c.W > w || c.Y+c.H > h ||
			c.X%2 != 0 || c.Y%2 != 0 || c.W%2 != 0 || c.H%2 != 0 {
			t.Fatalf("Clip(%d,%d %dx%d, %dx%d) = %+v: outside the frame or odd", x, y, rw, rh, w, h, c)
		}
	})
}

// The bars: seven columns over the top two thirds, the pluge below.
func TestBars(t *testing.T) {
	f, err := av.NewFrame(140, 90)
	require.NoError(t, err)
	defer f.Free()
	Bars(f)
	for i, c := range [][3]uint8{{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0}, {191, 0, 191}, {191, 0, 0}, {0, 0, 191}} {
		x, y := 140*i/7+10, 30
		require.Equal(t, FromRGB(c[0], c[1], c[2]).Y, f.Y[y*f.StrideY+x], "bar %d", i)
	}
	require.Equal(t, FromRGB(235, 235, 235).Y, f.Y[80*f.StrideY+70], "the white patch of the pluge")
	require.Equal(t, FromRGB(16, 16, 16).Y, f.Y[80*f.StrideY+10], "the black of the pluge")
}
