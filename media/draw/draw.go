// Package draw is the one home of pixel operations on I420 av frames: solid
// rectangles, colour bars and anti-aliased text (golang.org/x/image/font/opentype
// with the embedded Go fonts), fitting a picture into a box with its aspect
// kept and letterboxing it, the transitions (mix, dip, fade, wipe) and the
// blending of keyers' premultiplied YUVA layers (media/color.Layer) onto a
// frame. media/av keeps codecs, scaling and the SIMD blend kernel this package
// calls. Generators and the mixer share it; it sits below both.
package draw

import (
	"image"
	stdcolor "image/color"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"switchyard/media/av"
	"switchyard/media/color"
)

// YUV is a colour in BT.601 limited range (media/color's type).
type YUV = color.YUV

// FromRGB, ParseColor and ParseRGB are media/color's, for the generators in
// ingest/gen that still name them here.
var (
	FromRGB    = color.FromRGB
	ParseColor = color.ParseColor
	ParseRGB   = color.ParseRGB
)

// FillRect paints r (clipped to the frame, snapped to even coordinates) one colour.
func FillRect(f *av.Frame, r av.Rect, c YUV) {
	r = Clip(r, f.Width, f.Height)
	for y := r.Y; y < r.Y+r.H; y++ {
		row := f.Y[y*f.StrideY+r.X : y*f.StrideY+r.X+r.W]
		for i := range row {
			row[i] = c.Y
		}
	}
	for y := r.Y / 2; y < (r.Y+r.H)/2; y++ {
		u := f.U[y*f.StrideC+r.X/2 : y*f.StrideC+(r.X+r.W)/2]
		v := f.V[y*f.StrideC+r.X/2 : y*f.StrideC+(r.X+r.W)/2]
		for i := range u {
			u[i] = c.U
			v[i] = c.V
		}
	}
}

// Clip limits r to a w×h frame with even coordinates and sizes: the part of
// r inside the frame, its corners snapped down to even pixels (4:2:0 chroma
// covers 2×2 luma pixels). What is left of a rectangle wholly outside the
// frame is the empty rectangle at (0, 0). Sizes near the integer limits do
// not overflow.
func Clip(r av.Rect, w, h int) av.Rect {
	x0, x1 := clipSpan(r.X, r.W, w)
	y0, y1 := clipSpan(r.Y, r.H, h)
	if x1 <= x0 || y1 <= y0 {
		return av.Rect{}
	}
	return av.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// clipSpan returns the part [lo, hi) of [at, at+size) inside [0, limit),
// its start snapped down to an even pixel (the span moves left by one when
// at is odd) and its length rounded down to an even number, computed
// without overflowing.
func clipSpan(at, size, limit int) (lo, hi int) {
	if size <= 0 || limit <= 0 || at >= limit {
		return 0, 0
	}
	lo = at
	if at < 0 {
		if size <= -at { // ends before the frame
			return 0, 0
		}
		size, lo = size+at, 0
	}
	lo &^= 1
	size = min(size, limit-lo) &^ 1
	if size <= 0 {
		return 0, 0
	}
	return lo, lo + size
}

// Bars paints 75 % colour bars (white, yellow, cyan, green, magenta, red, blue)
// over the top two thirds and a black/white/black pluge strip below.
func Bars(f *av.Frame) {
	bars := [][3]uint8{{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0}, {191, 0, 191}, {191, 0, 0}, {0, 0, 191}}
	top := f.Height * 2 / 3
	for i, c := range bars {
		x0 := f.Width * i / len(bars)
		x1 := f.Width * (i + 1) / len(bars)
		FillRect(f, av.Rect{X: x0, Y: 0, W: x1 - x0 + 1, H: top}, FromRGB(c[0], c[1], c[2]))
	}
	FillRect(f, av.Rect{X: 0, Y: top, W: f.Width, H: f.Height - top}, FromRGB(16, 16, 16))
	FillRect(f, av.Rect{X: f.Width / 3, Y: top, W: f.Width / 3, H: f.Height - top}, FromRGB(235, 235, 235))
}

var (
	fontOnce sync.Once
	fontErr  error
	boldFont *opentype.Font
)

// Face returns the embedded Go Bold font at size pixels.
func Face(size float64) (font.Face, error) {
	fontOnce.Do(func() { boldFont, fontErr = opentype.Parse(gobold.TTF) })
	if fontErr != nil {
		return nil, fontErr
	}
	return opentype.NewFace(boldFont, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}

// TextWidth measures s in pixels.
func TextWidth(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}

// Text draws s with its baseline at (x, y), blended with anti-aliasing.
func Text(f *av.Frame, face font.Face, x, y int, s string, c YUV) {
	m := face.Metrics()
	w := TextWidth(face, s)
	h := (m.Ascent + m.Descent).Ceil()
	mask := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: mask, Src: image.NewUniform(stdcolor.Alpha{A: 255}), Face: face,
		Dot: fixed.Point26_6{X: 0, Y: m.Ascent}}
	d.DrawString(s)
	BlendMask(f, mask, x, y-m.Ascent.Ceil(), c)
}

// TextCentered draws s centred horizontally on the frame with its baseline at y.
func TextCentered(f *av.Frame, face font.Face, y int, s string, c YUV) {
	Text(f, face, (f.Width-TextWidth(face, s))/2, y, s, c)
}

// BlendMask paints colour c through an alpha mask placed at (x0, y0).
func BlendMask(f *av.Frame, mask *image.Alpha, x0, y0 int, c YUV) {
	b := mask.Bounds()
	for my := 0; my < b.Dy(); my++ {
		y := y0 + my
		if y < 0 || y >= f.Height {
			continue
		}
		for mx := 0; mx < b.Dx(); mx++ {
			x := x0 + mx
			if x < 0 || x >= f.Width {
				continue
			}
			a := int(mask.Pix[my*mask.Stride+mx])
			if a == 0 {
				continue
			}
			p := &f.Y[y*f.StrideY+x]
			*p = byte((int(*p)*(255-a) + int(c.Y)*a + 127) / 255)
			if x&1 == 0 && y&1 == 0 {
				// chroma from the top-left luma sample of each 2×2 block
				i := (y/2)*f.StrideC + x/2
				f.U[i] = byte((int(f.U[i])*(255-a) + int(c.U)*a + 127) / 255)
				f.V[i] = byte((int(f.V[i])*(255-a) + int(c.V)*a + 127) / 255)
			}
		}
	}
}
