package av

/*
#include "av.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Picture is a read-only view of a decoded picture (any pixel format) or of a Frame.
type Picture struct {
	f *C.AVFrame
}

// Width of the picture in pixels.
func (p Picture) Width() int { return int(p.f.width) }

// Height of the picture in pixels.
func (p Picture) Height() int { return int(p.f.height) }

// Picture returns a view of the frame for use as a scaling source.
func (f *Frame) Picture() Picture { return Picture{f: f.f} }

// Rect is a rectangle in pixels.
type Rect struct{ X, Y, W, H int }

// Scaler converts and scales pictures into I420 rectangles. It caches its
// libswscale context across calls of the same geometry. Not safe for concurrent use.
type Scaler struct {
	ctx *C.struct_SwsContext
}

// Scale draws src into r of dst. r is clipped to even coordinates inside dst.
func (s *Scaler) Scale(src Picture, dst *Frame, r Rect) error {
	r.X &^= 1
	r.Y &^= 1
	r.W &^= 1
	r.H &^= 1
	if r.X < 0 || r.Y < 0 || r.W <= 0 || r.H <= 0 || r.X+r.W > dst.Width || r.Y+r.H > dst.Height {
		return fmt.Errorf("scale: rectangle %+v outside %dx%d", r, dst.Width, dst.Height)
	}
	y := unsafe.Pointer(&dst.Y[r.Y*dst.StrideY+r.X])
	u := unsafe.Pointer(&dst.U[(r.Y/2)*dst.StrideC+r.X/2])
	v := unsafe.Pointer(&dst.V[(r.Y/2)*dst.StrideC+r.X/2])
	inC.Add(1)
	defer inC.Add(-1)
	code := C.sy_scale(&s.ctx, src.f, (*C.uint8_t)(y), (*C.uint8_t)(u), (*C.uint8_t)(v),
		C.int(dst.StrideY), C.int(dst.StrideC), C.int(dst.StrideC), C.int(r.W), C.int(r.H))
	return avErr("scale", code)
}

// Close frees the scaler's context.
func (s *Scaler) Close() {
	if s.ctx != nil {
		C.sws_freeContext(s.ctx)
		s.ctx = nil
	}
}
