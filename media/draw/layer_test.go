package draw

import (
	"image"
	stdcolor "image/color"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/media/av"
	"switchyard/media/color"
)

// blendFormula is the blend written out per sample: d = fg·o + d·(1 − α·o)
// with o = op/256, in integers scaled by 255·256, rounded to nearest; a
// fully transparent sample leaves d alone.
func blendFormula(d, fg, al byte, op int) byte {
	switch {
	case al == 0:
		return d
	case op >= 256:
		return byte((int(fg)*255 + int(d)*(255-int(al)) + 127) / 255)
	default:
		return byte((int(fg)*op*255 + int(d)*(65280-int(al)*op) + 32640) / 65280)
	}
}

// TestBlendMatchesTheFormula: the vectorised blend gives exactly the
// formula's result for every (foreground, alpha) pair of the luma plane over
// random picture samples, and for random chroma, at full and partial
// opacities, and touches nothing outside the layer's rectangle. (The exact
// division by 255 it relies on was checked for every product it can meet.)
func TestBlendMatchesTheFormula(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, op := range []int{256, 255, 200, 128, 1} {
		// a 256×256 layer holds every (fg, α) pair at full opacity: row fg, column α
		l := color.NewLayer(256, 256)
		for y := range 256 {
			for x := range 256 {
				l.Y[y*256+x], l.A[y*256+x] = byte(y), byte(x)
			}
		}
		for i := range l.U {
			l.U[i], l.V[i], l.AC[i] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))
		}
		dst, err := av.NewFrame(320, 300)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range [][]byte{dst.Y, dst.U, dst.V} {
			for i := range p {
				p[i] = byte(rng.IntN(256))
			}
		}
		before := [3][]byte{append([]byte(nil), dst.Y...), append([]byte(nil), dst.U...), append([]byte(nil), dst.V...)}
		const x0, y0 = 34, 20
		Blend(dst, l, x0, y0, op)
		check := func(name string, got, was, fg, a []byte, stride, lw, x0, y0, w, h int) {
			for y := range len(was) / stride {
				for x := range stride {
					want := was[y*stride+x]
					if lx, ly := x-x0, y-y0; lx >= 0 && ly >= 0 && lx < w && ly < h {
						want = blendFormula(want, fg[ly*lw+lx], a[ly*lw+lx], op)
					}
					if got[y*stride+x] != want {
						t.Fatalf("op %d %s (%d,%d): got %d, want %d", op, name, x, y, got[y*stride+x], want)
					}
				}
			}
		}
		check("Y", dst.Y, before[0], l.Y, l.A, dst.StrideY, 256, x0, y0, 256, 256)
		check("U", dst.U, before[1], l.U, l.AC, dst.StrideC, 128, x0/2, y0/2, 128, 128)
		check("V", dst.V, before[2], l.V, l.AC, dst.StrideC, 128, x0/2, y0/2, 128, 128)
		dst.Free()
	}
}

// TestBlendClipsAtTheEdges: a layer hanging over any edge blends only its
// visible part, as the formula does there.
func TestBlendClipsAtTheEdges(t *testing.T) {
	l := color.NewLayer(64, 64)
	for i := range l.Y {
		l.Y[i], l.A[i] = 100, 200
	}
	for i := range l.U {
		l.U[i], l.V[i], l.AC[i] = 90, 160, 200
	}
	for _, at := range [][2]int{{-20, -30}, {100, 90}, {-64, 0}, {0, 200}} {
		dst, err := av.NewFrame(128, 120)
		if err != nil {
			t.Fatal(err)
		}
		dst.Fill(16, 128, 128)
		Blend(dst, l, at[0], at[1], 256)
		for y := range 120 {
			for x := range 128 {
				want := byte(16)
				if lx, ly := x-at[0], y-at[1]; lx >= 0 && ly >= 0 && lx < 64 && ly < 64 {
					want = blendFormula(16, 100, 200, 256)
				}
				if got := dst.Y[y*dst.StrideY+x]; got != want {
					t.Fatalf("layer at %v, (%d,%d): got %d, want %d", at, x, y, got, want)
				}
			}
		}
		dst.Free()
	}
}

func TestBlendOpacityAndAlpha(t *testing.T) {
	f, err := av.NewFrame(16, 16)
	require.NoError(t, err)
	defer f.Free()
	bg := color.FromRGB(0, 0, 255)
	f.Fill(bg.Y, bg.U, bg.V)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	// left half opaque red, right half red at 50 % (premultiplied)
	for y := range 8 {
		for x := range 8 {
			c := stdcolor.RGBA{R: 255, A: 255}
			if x >= 4 {
				c = stdcolor.RGBA{R: 128, A: 128}
			}
			img.SetRGBA(x, y, c)
		}
	}
	l := color.FromRGBA(img)
	red := color.FromRGB(255, 0, 0)
	Blend(f, l, 4, 4, 256)
	require.Equal(t, bg.Y, f.Y[0], "outside the rect untouched")
	require.Equal(t, bg.Y, f.Y[15*f.StrideY+15], "outside the rect untouched")
	require.InDelta(t, red.Y, f.Y[5*f.StrideY+5], 1, "opaque part")
	require.InDelta(t, (int(red.Y)+int(bg.Y))/2, f.Y[5*f.StrideY+10], 2, "half-alpha part")
	require.InDelta(t, red.V, f.V[3*f.StrideC+3], 1, "opaque chroma")

	f.Fill(bg.Y, bg.U, bg.V)
	Blend(f, l, 4, 4, 128)
	require.InDelta(t, (int(red.Y)+int(bg.Y))/2, f.Y[5*f.StrideY+5], 2, "opacity 0.5")
	require.InDelta(t, (int(red.U)+int(bg.U))/2, f.U[3*f.StrideC+3], 2, "opacity 0.5 chroma")

	// clipped at the frame's edges, no panic, nothing outside written
	f.Fill(bg.Y, bg.U, bg.V)
	Blend(f, l, 12, -4, 256)
	require.InDelta(t, red.Y, f.Y[0*f.StrideY+13], 1)
	require.Equal(t, bg.Y, f.Y[5*f.StrideY+13])
	Blend(f, l, 100, 100, 256)
	Blend(f, l, -100, 0, 256)
}
