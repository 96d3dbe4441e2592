package color

import "image"

// Layer is a keyer's rendered picture in premultiplied YUVA 4:2:0: each
// Y/U/V sample is already multiplied by its alpha (including the video
// offsets 16 and 128), so blending (media/draw.Blend) is
// dst = fg + dst × (1 − α). A Layer is plain byte planes, no cgo; it is
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
// layer with BT.601 limited-range colour, as FromRGB makes.
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
