package draw

import (
	"switchyard/media/av"
	"switchyard/media/color"
)

// Blend composites l over dst with its top-left corner at (x0, y0), scaled
// by opacity op (0..256). Only the layer's rectangle, clipped to the frame,
// is touched. It does not allocate.
func Blend(dst *av.Frame, l *color.Layer, x0, y0, op int) {
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
