package av

/*
#include "av.h"
*/
import "C"

import (
	"errors"
	"sync"
	"sync/atomic"
)

// PictureRef holds a reference to a decoded picture without copying its
// pixels. It is reference counted like Frame; the last Release drops the
// reference and returns the holder to its pool.
type PictureRef struct {
	f    *C.AVFrame
	refs atomic.Int32
	pool *PicturePool
}

// Picture returns a view of the held picture.
func (r *PictureRef) Picture() Picture { return Picture{f: r.f} }

// Retain adds a reference.
func (r *PictureRef) Retain() { r.refs.Add(1) }

// Release drops a reference.
func (r *PictureRef) Release() {
	if r.refs.Add(-1) == 0 {
		C.av_frame_unref(r.f)
		r.pool.put(r)
	}
}

// PicturePool recycles PictureRef holders, so holding the latest picture of a
// source allocates nothing per frame.
type PicturePool struct {
	mu     sync.Mutex
	free   []*PictureRef
	closed bool
}

// Ref returns a holder with one reference to p's picture.
func (pp *PicturePool) Ref(p Picture) (*PictureRef, error) {
	pp.mu.Lock()
	var r *PictureRef
	if n := len(pp.free); n > 0 {
		r = pp.free[n-1]
		pp.free = pp.free[:n-1]
	}
	pp.mu.Unlock()
	if r == nil {
		f := C.av_frame_alloc()
		if f == nil {
			return nil, errors.New("allocate picture holder: out of memory")
		}
		r = &PictureRef{f: f, pool: pp}
	}
	if err := avErr("reference picture", C.av_frame_ref(r.f, p.f)); err != nil {
		pp.put(r)
		return nil, err
	}
	r.refs.Store(1)
	return r, nil
}

func (pp *PicturePool) put(r *PictureRef) {
	pp.mu.Lock()
	if pp.closed {
		pp.mu.Unlock()
		C.av_frame_free(&r.f)
		return
	}
	pp.free = append(pp.free, r)
	pp.mu.Unlock()
}

// Close frees idle holders; holders in use are freed on their last Release.
func (pp *PicturePool) Close() {
	pp.mu.Lock()
	pp.closed = true
	free := pp.free
	pp.free = nil
	pp.mu.Unlock()
	for _, r := range free {
		C.av_frame_free(&r.f)
	}
}
