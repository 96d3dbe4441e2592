package draw

import (
	"math"

	"switchyard/media/av"
	"switchyard/media/color"
)

// Blends take weights in 1/256ths so the per-pixel work is integer only.

// Mix writes the dissolve of a into b at position p (0: a, 1: b) to dst.
// dst may be a. All frames are the same size.
func Mix(dst, a, b *av.Frame, p float64) {
	w := weight(p)
	mixPlane(dst.Y, a.Y, b.Y, w)
	mixPlane(dst.U, a.U, b.U, w)
	mixPlane(dst.V, a.V, b.V, w)
}

func weight(p float64) int {
	return int(math.Round(math.Min(math.Max(p, 0), 1) * 256))
}

func mixPlane(dst, a, b []byte, w int) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		dst[i] = byte((int(a[i])*(256-w) + int(b[i])*w + 128) >> 8)
	}
}

// Fade writes a faded towards colour c by p (0: a, 1: c) to dst.
func Fade(dst, a *av.Frame, p float64, c color.YUV) {
	w := weight(p)
	fadePlane(dst.Y, a.Y, c.Y, w)
	fadePlane(dst.U, a.U, c.U, w)
	fadePlane(dst.V, a.V, c.V, w)
}

func fadePlane(dst, a []byte, c byte, w int) {
	a = a[:len(dst)]
	cw := int(c) * w
	for i := range dst {
		dst[i] = byte((int(a[i])*(256-w) + cw + 128) >> 8)
	}
}

// Dip goes from a to colour c over the first half and from c to b over the second.
func Dip(dst, a, b *av.Frame, p float64, c color.YUV) {
	if p < 0.5 {
		Fade(dst, a, p*2, c)
	} else {
		Fade(dst, b, (1-p)*2, c)
	}
}

// Wipe directions, as a transition names them (mixer/bus validates them).
const (
	wipeLeft   = "left"   // the new picture enters from the left edge
	wipeRight  = "right"  // from the right edge
	wipeUp     = "up"     // from the bottom edge, moving up
	wipeDown   = "down"   // from the top edge, moving down
	wipeCircle = "circle" // a circle growing from the centre
)

// Wipe reveals b over a at position p with a soft edge of soft pixels, in
// direction dir: left, right, up, down or circle (anything else: left).
// Luma is blended per pixel; chroma per 2×2 block, at the block's centre.
func Wipe(dst, a, b *av.Frame, p float64, dir string, soft int) {
	p = math.Min(math.Max(p, 0), 1)
	W, H := float64(dst.Width), float64(dst.Height)
	// The edge travels from just outside one side to just outside the
	// other, over the frame and its soft width: a hard wipe (soft 0) at p
	// has its edge at p × the frame, exactly between two pixels when that
	// is whole. Pixel i covers [i, i+1); the ramp across the edge is soft
	// pixels wide, and at least one (a hard edge anti-aliased by area).
	w := float64(max(soft, 0))
	s := max(w, 1)
	var edge, r, cx, cy float64
	switch dir {
	case wipeRight:
		edge = W - p*(W+w) + w/2
	case wipeUp:
		edge = H - p*(H+w) + w/2
	case wipeDown:
		edge = p*(H+w) - w/2
	case wipeCircle:
		cx, cy = W/2, H/2
		r = p*(math.Hypot(cx, cy)+w) - w/2
	default:
		dir = wipeLeft
		edge = p*(W+w) - w/2
	}
	// alpha of b (0..256) at (x, y): a ramp across the soft edge
	alpha := func(x, y float64) int {
		var d float64 // distance into b's side
		switch dir {
		case wipeLeft:
			d = edge - x
		case wipeRight:
			d = x - edge
		case wipeUp:
			d = y - edge
		case wipeDown:
			d = edge - y
		default:
			d = r - math.Hypot(x-cx, y-cy)
		}
		v := (d/s + 0.5) * 256
		if v <= 0 {
			return 0
		}
		if v >= 256 {
			return 256
		}
		return int(v)
	}
	blendRows(dst.Y, a.Y, b.Y, dst.StrideY, dst.Width, dst.Height, 1, alpha)
	blendRows(dst.U, a.U, b.U, dst.StrideC, dst.Width/2, dst.Height/2, 2, alpha)
	blendRows(dst.V, a.V, b.V, dst.StrideC, dst.Width/2, dst.Height/2, 2, alpha)
}

// blendRows blends a plane whose pixels stand for step×step luma pixels; it
// asks alpha once per row when the edge is vertical or horizontal and per
// pixel only near it.
func blendRows(dst, a, b []byte, stride, w, h, step int, alpha func(x, y float64) int) {
	half := float64(step) / 2 // a plane pixel's centre, in luma pixels
	for y := 0; y < h; y++ {
		fy := float64(y*step) + half
		o := y * stride
		rd, ra, rb := dst[o:o+w], a[o:o+w], b[o:o+w]
		for x := range rd {
			wgt := alpha(float64(x*step)+half, fy)
			switch wgt {
			case 0:
				rd[x] = ra[x]
			case 256:
				rd[x] = rb[x]
			default:
				rd[x] = byte((int(ra[x])*(256-wgt) + int(rb[x])*wgt + 128) >> 8)
			}
		}
	}
}
