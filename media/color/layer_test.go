package color

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLayerColoursMatchTheMixer(t *testing.T) {
	for _, c := range [][3]uint8{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {0, 0, 0}, {30, 140, 200}} {
		img := image.NewRGBA(image.Rect(0, 0, 4, 4))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c[0], c[1], c[2], 255
		}
		l := FromRGBA(img)
		want := FromRGB(c[0], c[1], c[2])
		require.InDelta(t, want.Y, l.Y[0], 1, "%v", c)
		require.InDelta(t, want.U, l.U[0], 1, "%v", c)
		require.InDelta(t, want.V, l.V[0], 1, "%v", c)
		require.EqualValues(t, 255, l.AC[0])
	}
}
