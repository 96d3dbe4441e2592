package av

/*
#include "av.h"
*/
import "C"

import (
	"errors"
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
		r.pool.idle.put(r)
	}
}

// PicturePool recycles PictureRef holders, so holding the latest picture of a
// source allocates nothing per frame. Its zero value is ready.
type PicturePool struct {
	idle freeList[*PictureRef]
}

// Ref returns a holder with one reference to p's picture.
func (pp *PicturePool) Ref(p Picture) (*PictureRef, error) {
	r, ok := pp.idle.get()
	if !ok {
		f := C.av_frame_alloc()
		if f == nil {
			return nil, errors.New("allocate picture holder: out of memory")
		}
		r = &PictureRef{f: f, pool: pp}
	}
	if err := avErr("reference picture", C.av_frame_ref(r.f, p.f)); err != nil {
		pp.idle.put(r)
		return nil, err
	}
	r.refs.Store(1)
	return r, nil
}

// destroy frees the holder (its picture is already unreferenced).
func (r *PictureRef) destroy() { C.av_frame_free(&r.f) }

// Close frees idle holders; holders in use are freed on their last Release.
func (pp *PicturePool) Close() { pp.idle.close() }
