package rtsp

import (
	"net"
	"sync"
	"time"
)

// gortsplib's server gives a connection that has not started to play or
// record its IdleTimeout (60 s) to send each request, so a few hundred that
// send half a request, or nothing, hold the server's connections for a
// minute. guardedListener gives each connection a shorter deadline until it
// starts to play or record: every complete request extends it by the read
// timeout, and PLAY or RECORD hands the connection over to gortsplib's own
// session and media timeouts.
type guardedListener struct {
	net.Listener
	timeout time.Duration
}

func (l *guardedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g := &guardedConn{Conn: c}
	g.extend(l.timeout)
	return g, nil
}

type guardedConn struct {
	net.Conn
	mu       sync.Mutex
	guard    time.Time
	released bool
}

// SetReadDeadline keeps the guard when gortsplib asks for a later deadline,
// or none.
func (c *guardedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	if !c.released && (t.IsZero() || t.After(c.guard)) {
		t = c.guard
	}
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// extend gives the connection another d to send its next request.
func (c *guardedConn) extend(d time.Duration) {
	c.mu.Lock()
	if c.released {
		c.mu.Unlock()
		return
	}
	c.guard = time.Now().Add(d)
	g := c.guard
	c.mu.Unlock()
	_ = c.Conn.SetReadDeadline(g)
}

// release ends the guard: the connection plays or records.
func (c *guardedConn) release() {
	c.mu.Lock()
	c.released = true
	c.mu.Unlock()
	_ = c.Conn.SetReadDeadline(time.Time{})
}
