package av

/*
#include "av.h"
*/
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// Frame is an I420 picture in C memory. Its planes are visible as Go slices.
// A Frame from a pool is reference counted: Retain before sharing it, Release
// when done; the last Release returns it to its pool.
type Frame struct {
	f             *C.AVFrame
	Width, Height int
	Y, U, V       []byte
	StrideY       int
	StrideC       int

	refs atomic.Int32
	pool *FramePool
}

// NewFrame allocates a w×h I420 frame outside any pool. Free it with Free.
func NewFrame(w, h int) (*Frame, error) {
	var code C.int
	f := C.sy_frame_new(C.int(w), C.int(h), &code)
	if f == nil {
		return nil, avErr("allocate frame", code)
	}
	fr := &Frame{f: f, Width: w, Height: h, StrideY: int(f.linesize[0]), StrideC: int(f.linesize[1])}
	ch := (h + 1) / 2
	fr.Y = unsafe.Slice((*byte)(unsafe.Pointer(f.data[0])), fr.StrideY*h)
	fr.U = unsafe.Slice((*byte)(unsafe.Pointer(f.data[1])), fr.StrideC*ch)
	fr.V = unsafe.Slice((*byte)(unsafe.Pointer(f.data[2])), fr.StrideC*ch)
	fr.refs.Store(1)
	liveFrames.Add(1)
	return fr, nil
}

var liveFrames atomic.Int64

// LiveFrames is how many frames are allocated and not yet freed, pooled
// ones included: a leak check for tests and metrics.
func LiveFrames() int64 { return liveFrames.Load() }

// Free releases a frame's C memory. Only for frames made with NewFrame.
func (f *Frame) Free() {
	if f.f != nil {
		liveFrames.Add(-1)
		C.av_frame_free(&f.f)
		f.Y, f.U, f.V = nil, nil, nil
	}
}

// Retain adds a reference.
func (f *Frame) Retain() { f.refs.Add(1) }

// Release drops a reference; the last one returns the frame to its pool.
func (f *Frame) Release() {
	if f.refs.Add(-1) == 0 {
		if f.pool != nil {
			f.pool.idle.put(f)
		} else {
			f.Free()
		}
	}
}

// Fill paints the whole frame one colour.
func (f *Frame) Fill(y, u, v byte) {
	fill(f.Y, y)
	fill(f.U, u)
	fill(f.V, v)
}

func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// CopyFrom copies src's pixels; both frames must be the same size.
func (f *Frame) CopyFrom(src *Frame) {
	copy(f.Y, src.Y)
	copy(f.U, src.U)
	copy(f.V, src.V)
}

// FramePool hands out frames of one size and takes them back on Release.
type FramePool struct {
	Width, Height int

	idle freeList[*Frame]
}

// NewFramePool returns a pool of w×h frames.
func NewFramePool(w, h int) *FramePool {
	return &FramePool{Width: w, Height: h}
}

// Get returns a frame holding one reference. Its pixels are whatever its last
// user left.
func (p *FramePool) Get() (*Frame, error) {
	if f, ok := p.idle.get(); ok {
		f.refs.Store(1)
		return f, nil
	}
	f, err := NewFrame(p.Width, p.Height)
	if err != nil {
		return nil, err
	}
	f.pool = p
	return f, nil
}

// destroy frees a pooled frame's C memory (the pool is closed).
func (f *Frame) destroy() { f.Free() }

// Close frees the idle frames; frames still in use are freed on their last Release.
func (p *FramePool) Close() { p.idle.close() }
