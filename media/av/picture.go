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
// pixels. It is reference counted like Frame; the last Release hands the
// holder back to its pool, which drops the picture's reference on its
// owner's next Ref (see PicturePool).
type PictureRef struct {
	f    *C.AVFrame
	refs atomic.Int32
	pool *PicturePool
	next *PictureRef // on its pool's stack of holders released
}

// Picture returns a view of the held picture.
func (r *PictureRef) Picture() Picture { return Picture{f: r.f} }

// Retain adds a reference.
func (r *PictureRef) Retain() { r.refs.Add(1) }

// Release drops a reference. It never blocks, calls into FFmpeg or
// allocates: the program's clock releases pictures on a real-time thread.
func (r *PictureRef) Release() {
	if r.refs.Add(-1) == 0 {
		r.pool.released(r)
	}
}

// PicturePool recycles PictureRef holders, so holding the latest picture of a
// source allocates nothing per frame. Its zero value is ready.
//
// Its owner — the one goroutine that calls Ref, a source's decoder — is
// the one that gives a picture back to FFmpeg (av_frame_unref): a holder's
// last Release, on whatever thread, only puts it on a lock-free stack, and
// the owner's next Ref (or Close) drops the pictures there. Giving a
// picture back takes the lock of the decoder's buffer pool, which the
// decoder's thread — lowered below everything else when the source is
// quiet — takes for each picture it decodes; the program's clock, in real
// time, waited up to 47 ms there for a quiet decoder the kernel had taken
// off the CPU while it held that lock (a late program frame; runtime trace
// of the 12 × 1080p30 scale run). The pictures wait at most until the
// decoder's next picture: no more of them are held than before.
type PicturePool struct {
	idle     freeList[*PictureRef]
	returned atomic.Pointer[PictureRef] // holders released, their pictures not yet dropped
	closed   atomic.Bool
}

// released takes back a holder whose last reference went (any thread).
func (pp *PicturePool) released(r *PictureRef) {
	for {
		head := pp.returned.Load()
		r.next = head
		if pp.returned.CompareAndSwap(head, r) {
			break
		}
	}
	if pp.closed.Load() { // the owner is gone: nobody else will
		pp.reap()
	}
}

// reap drops the pictures of the holders released since the last reap and
// keeps the holders (frees them once the pool is closed).
func (pp *PicturePool) reap() {
	for r := pp.returned.Swap(nil); r != nil; {
		next := r.next
		r.next = nil
		C.av_frame_unref(r.f)
		pp.idle.put(r)
		r = next
	}
}

// Ref returns a holder with one reference to p's picture.
func (pp *PicturePool) Ref(p Picture) (*PictureRef, error) {
	pp.reap()
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

// Close drops the pictures released, frees the idle holders; holders in
// use are freed on their last Release (on the releasing thread: the owner
// is gone).
func (pp *PicturePool) Close() {
	pp.closed.Store(true)
	pp.reap()
	pp.idle.close()
}

// bufferRefs is how many references the picture's first buffer has (tests).
func (p Picture) bufferRefs() int { return int(C.av_buffer_get_ref_count(p.f.buf[0])) }
