package av

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// jpegTestFrame is a 320×180 full-range picture: black and white blocks
// (the ends of the range), a horizontal ramp and a blue patch.
func jpegTestFrame(t *testing.T) *Frame {
	f, err := NewFrame(320, 180)
	require.NoError(t, err)
	f.Fill(0, 128, 128)
	for y := range 180 {
		for x := range 320 {
			var v byte
			switch {
			case x < 80:
				v = 0
			case x < 160:
				v = 255
			default:
				v = byte((x - 160) * 255 / 159)
			}
			f.Y[y*f.StrideY+x] = v
		}
	}
	for y := 100 / 2; y < 160/2; y++ { // a blue patch under the ramp
		for x := 200 / 2; x < 280/2; x++ {
			f.U[y*f.StrideC+x], f.V[y*f.StrideC+x] = 255, 107
		}
	}
	return f
}

func lumaPSNR(f *Frame, img *image.YCbCr) float64 {
	var se float64
	for y := range f.Height {
		for x := range f.Width {
			d := float64(f.Y[y*f.StrideY+x]) - float64(img.Y[y*img.YStride+x])
			se += d * d
		}
	}
	return 10 * math.Log10(255*255/(se/float64(f.Width*f.Height)))
}

// TestJPEGEncoder: the FFmpeg encoder's JPEGs decode with Go's image/jpeg at
// the frame's size, keep the full range (black 0, white 255, not video
// levels) and the colour, get better and larger with the quality, and
// refuse a frame of another size or a quality off the scale.
func TestJPEGEncoder(t *testing.T) {
	f := jpegTestFrame(t)
	defer f.Free()
	type result struct {
		size int
		psnr float64
	}
	encode := func(q int) (*image.YCbCr, result) {
		enc, err := NewJPEGEncoder(320, 180, q)
		require.NoError(t, err)
		defer enc.Close()
		prefix := []byte("--frame\r\n")
		out, err := enc.Append(prefix, f)
		require.NoError(t, err)
		require.Equal(t, prefix, out[:len(prefix)], "Append keeps what dst held")
		img, err := jpeg.Decode(bytes.NewReader(out[len(prefix):]))
		require.NoError(t, err)
		ycc, ok := img.(*image.YCbCr)
		require.True(t, ok, "a %T, want 4:2:0 YCbCr", img)
		require.Equal(t, image.Rect(0, 0, 320, 180), ycc.Bounds())
		require.Equal(t, image.YCbCrSubsampleRatio420, ycc.SubsampleRatio)
		return ycc, result{len(out) - len(prefix), lumaPSNR(f, ycc)}
	}
	img, q75 := encode(75)
	black, white := img.YCbCrAt(40, 90), img.YCbCrAt(120, 90)
	require.LessOrEqual(t, black.Y, uint8(3), "black is 0 in full range")
	require.GreaterOrEqual(t, white.Y, uint8(252), "white is 255 in full range")
	blue := img.YCbCrAt(240, 130)
	require.InDelta(t, 255, int(blue.Cb), 12)
	require.InDelta(t, 107, int(blue.Cr), 12)
	require.Greater(t, q75.psnr, 38.0, "quality 75")
	_, q30 := encode(30)
	_, q95 := encode(95)
	require.Less(t, q30.size, q75.size)
	require.Less(t, q75.size, q95.size)
	require.Less(t, q30.psnr, q75.psnr)
	require.Less(t, q75.psnr, q95.psnr)

	enc, err := NewJPEGEncoder(160, 90, 75)
	require.NoError(t, err)
	defer enc.Close()
	_, err = enc.Append(nil, f)
	require.ErrorContains(t, err, "320x180 frame for a 160x90 encoder")
	for _, q := range []int{0, 101} {
		_, err := NewJPEGEncoder(320, 180, q)
		require.ErrorContains(t, err, "not between 1 and 100")
	}
}

// TestJPEGQScale follows libjpeg's scale: best at the top, coarsest (31)
// at the bottom, never rising as the quality falls, 6 at the default 75.
func TestJPEGQScale(t *testing.T) {
	require.Equal(t, 1, JPEGQScale(100))
	require.Equal(t, 6, JPEGQScale(75))
	require.Equal(t, 31, JPEGQScale(1))
	for q := 2; q <= 100; q++ {
		require.LessOrEqual(t, JPEGQScale(q), JPEGQScale(q-1), "quality %d", q)
	}
}
