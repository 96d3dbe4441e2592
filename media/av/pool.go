package av

import "sync"

// freeList is the one shape of the package's pools (FramePool,
// PicturePool): a stack of idle holders under a lock. Once closed, it frees
// what comes back instead of keeping it. Its zero value is ready.
type freeList[T interface{ destroy() }] struct {
	mu     sync.Mutex
	free   []T
	closed bool
}

// get returns an idle holder, or false when there is none.
func (l *freeList[T]) get() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var v T
	n := len(l.free)
	if n == 0 {
		return v, false
	}
	v = l.free[n-1]
	l.free = l.free[:n-1]
	return v, true
}

// put keeps v for the next get, or frees it when the list is closed.
func (l *freeList[T]) put(v T) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		v.destroy()
		return
	}
	l.free = append(l.free, v)
	l.mu.Unlock()
}

// close frees the idle holders; those in use are freed when they come back.
func (l *freeList[T]) close() {
	l.mu.Lock()
	l.closed = true
	free := l.free
	l.free = nil
	l.mu.Unlock()
	for _, v := range free {
		v.destroy()
	}
}
