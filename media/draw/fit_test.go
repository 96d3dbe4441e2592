package draw

import (
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/media/av"
)

func TestFit(t *testing.T) {
	for _, c := range []struct {
		name      string
		w, h      int
		box, want av.Rect
	}{
		{"same aspect", 1920, 1080, av.Rect{W: 1280, H: 720}, av.Rect{W: 1280, H: 720}},
		{"4:3 pillarbox", 640, 480, av.Rect{W: 1280, H: 720}, av.Rect{X: 160, W: 960, H: 720}},
		{"tall letterbox", 1280, 400, av.Rect{W: 1280, H: 720}, av.Rect{Y: 160, W: 1280, H: 400}},
		{"offset box", 320, 240, av.Rect{X: 100, Y: 50, W: 320, H: 240}, av.Rect{X: 100, Y: 50, W: 320, H: 240}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, Fit(c.w, c.h, c.box))
		})
	}
}

func TestLetterbox(t *testing.T) {
	f, err := av.NewFrame(64, 32)
	require.NoError(t, err)
	defer f.Free()
	f.Fill(200, 100, 100)
	box := av.Rect{W: 64, H: 32}
	inner := Fit(32, 32, box)
	Letterbox(f, box, inner)
	require.EqualValues(t, 16, f.Y[0])                // left border black
	require.EqualValues(t, 16, f.Y[63])               // right border black
	require.EqualValues(t, 200, f.Y[16*f.StrideY+32]) // inside untouched
	require.EqualValues(t, 128, f.U[0])
}
