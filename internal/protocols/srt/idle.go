package srt

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// IdleReader reads a connection and notes when it last gave bytes.
type IdleReader struct {
	R    io.Reader
	last atomic.Int64 // unix nanoseconds
}

func (r *IdleReader) Read(b []byte) (int, error) {
	n, err := r.R.Read(b)
	if n > 0 {
		r.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// IdleWatch closes a connection that gave nothing for a while: gosrt has
// no read deadline, and SRT's keep-alives hold a silent peer's connection
// open.
type IdleWatch struct {
	fired  atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
}

// WatchIdle closes c when in has given nothing for timeout, after telling
// onIdle (nil: nobody) how long it was silent; Stop ends the watch and
// waits for it.
func WatchIdle(c io.Closer, in *IdleReader, timeout time.Duration, onIdle func(idle time.Duration)) *IdleWatch {
	in.last.Store(time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	w := &IdleWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(max(timeout/4, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if idle := time.Since(time.Unix(0, in.last.Load())); idle > timeout {
					w.fired.Store(true)
					if onIdle != nil {
						onIdle(idle)
					}
					_ = c.Close()
					return
				}
			}
		}
	}()
	return w
}

// Fired reports whether the watch closed the connection.
func (w *IdleWatch) Fired() bool { return w.fired.Load() }

// Stop ends the watch and waits for it.
func (w *IdleWatch) Stop() {
	w.cancel()
	<-w.done
}
