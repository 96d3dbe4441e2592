package keyer

import (
	"image"

	"switchyard/media/av"
)

// Layer is a keyer's rendered picture in premultiplied YUVA 4:2:0: each
// Y/U/V sample is already multiplied by its alpha (including the video
// offsets 16 and 128), so blending is dst = fg + dst × (1 − α). A Layer is
// immutable once published: the tick reads it without a lock.
type Layer struct {
	W, H int    // even
	Y, A []byte // W × H
	U, V []byte // W/2 × H/2
	AC   []byte // chroma-resolution alpha (the mean of each 2×2 block)
}

// NewLayer returns a transparent w×h layer (sizes rounded down to even).
func NewLayer(w, h int) *Layer {
	w, h = w&^1, h&^1
	return &Layer{W: w, H: h, Y: make([]byte, w*h), A: make([]byte, w*h),
		U: make([]byte, w*h/4), V: make([]byte, w*h/4), AC: make([]byte, w*h/4)}
}

// FromRGBA converts a premultiplied RGBA picture (Go's image.RGBA) to a
// layer with BT.601 limited-range colour, as the rest of the mixer uses.
// Premultiplication is linear, so the conversion and the 2×2 chroma average
// apply to the premultiplied values directly.
func FromRGBA(img *image.RGBA) *Layer {
	b := img.Bounds()
	l := NewLayer(b.Dx(), b.Dy())
	for y := 0; y < l.H; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*l.W]
		for x := 0; x < l.W; x++ {
			r, g, bl, a := int(row[4*x]), int(row[4*x+1]), int(row[4*x+2]), int(row[4*x+3])
			// ×1/256 fixed point of 16α/255 + (65.481R + 128.553G + 24.966B)/255
			l.Y[y*l.W+x] = clip8((4112*a + 16829*r + 33039*g + 6416*bl + 32768) >> 16)
			l.A[y*l.W+x] = byte(a)
		}
	}
	cw := l.W / 2
	for y := 0; y < l.H/2; y++ {
		r0 := img.Pix[2*y*img.Stride:]
		r1 := img.Pix[(2*y+1)*img.Stride:]
		for x := 0; x < cw; x++ {
			var r, g, bl, a int
			for _, p := range [4][]byte{r0[8*x:], r0[8*x+4:], r1[8*x:], r1[8*x+4:]} {
				r, g, bl, a = r+int(p[0]), g+int(p[1]), bl+int(p[2]), a+int(p[3])
			}
			// sums of four: the >>18 averages them
			l.U[y*cw+x] = clip8((32897*a - 9714*r - 19070*g + 28784*bl + 131072) >> 18)
			l.V[y*cw+x] = clip8((32897*a + 28784*r - 24103*g - 4681*bl + 131072) >> 18)
			l.AC[y*cw+x] = byte((a + 2) >> 2)
		}
	}
	return l
}

func clip8(v int) byte {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// Blend composites l over dst with its top-left corner at (x0, y0), scaled
// by opacity op (0..256). Only the layer's rectangle, clipped to the frame,
// is touched. It does not allocate.
func Blend(dst *av.Frame, l *Layer, x0, y0, op int) {
	if op <= 0 || l == nil {
		return
	}
	x0, y0 = x0&^1, y0&^1
	xa, ya := max(0, -x0), max(0, -y0) // first visible layer column and row
	xb, yb := min(l.W, dst.Width-x0), min(l.H, dst.Height-y0)
	if xa >= xb || ya >= yb {
		return
	}
	ys, us := dst.StrideY, dst.StrideC
	cw := l.W / 2
	av.BlendPlane(dst.Y[(y0+ya)*ys+x0+xa:], ys, l.Y[ya*l.W+xa:], l.A[ya*l.W+xa:], l.W, xb-xa, yb-ya, op)
	ca, cb := ya/2, yb/2
	if ca >= cb {
		return
	}
	d := (y0/2+ca)*us + x0/2 + xa/2
	s := ca*cw + xa/2
	av.BlendPlane(dst.U[d:], us, l.U[s:], l.AC[s:], cw, xb/2-xa/2, cb-ca, op)
	av.BlendPlane(dst.V[d:], us, l.V[s:], l.AC[s:], cw, xb/2-xa/2, cb-ca, op)
}

// BlendFrame composites the opaque frame src (its whole picture) over dst at
// (x0, y0) with opacity op (0..256); at full opacity it is a copy.
func BlendFrame(dst, src *av.Frame, x0, y0, op int) {
	if op <= 0 {
		return
	}
	x0, y0 = x0&^1, y0&^1
	w, h := min(src.Width, dst.Width-x0), min(src.Height, dst.Height-y0)
	if x0 < 0 || y0 < 0 || w <= 0 || h <= 0 {
		return
	}
	mix := func(d, s []byte) {
		if op >= 256 {
			copy(d, s)
			return
		}
		for i := range d {
			d[i] = byte((int(s[i])*op + int(d[i])*(256-op) + 128) >> 8)
		}
	}
	for y := range h {
		mix(dst.Y[(y0+y)*dst.StrideY+x0:(y0+y)*dst.StrideY+x0+w], src.Y[y*src.StrideY:y*src.StrideY+w])
	}
	for y := range h / 2 {
		d := (y0/2+y)*dst.StrideC + x0/2
		s := y * src.StrideC
		mix(dst.U[d:d+w/2], src.U[s:s+w/2])
		mix(dst.V[d:d+w/2], src.V[s:s+w/2])
	}
}
