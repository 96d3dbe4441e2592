// Package connlimit caps how many connections a listener holds open at
// once: the media servers' defence against a flood that would take every
// file descriptor the process has (HTTP, recordings and the show's own
// cameras included). A connection over the cap is closed as soon as it is
// accepted, counted, and logged once a second at most.
package connlimit

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMax is the cap of a server whose setting is 0.
const DefaultMax = 256

// Listen listens on the TCP address addr with at most max connections open
// at once (0: DefaultMax); protocol names the server in the error and in the
// refusal line.
func Listen(protocol, addr string, max int, log *slog.Logger) (*Listener, error) {
	if max == 0 {
		max = DefaultMax
	}
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listen %s: %w", protocol, addr, err)
	}
	return &Listener{Listener: tcp, Max: max, Log: log, Protocol: protocol}, nil
}

// Listener accepts at most Max connections open at once.
type Listener struct {
	net.Listener
	// Max is the cap (at least 1).
	Max int
	// Log gets the refusal line; Protocol names the server in it.
	Log      *slog.Logger
	Protocol string

	open    atomic.Int64
	refused atomic.Uint64

	mu      sync.Mutex
	lastLog time.Time
	since   uint64 // refused since the last line
}

// Accept returns the next connection under the cap; those over it are
// closed and counted here.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= int64(l.Max) {
			return &conn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.refuse() // counted before the peer can see the close
		_ = c.Close()
	}
}

// Refused returns how many connections were refused so far.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

// Open returns how many accepted connections are open now.
func (l *Listener) Open() int { return int(l.open.Load()) }

func (l *Listener) refuse() {
	total := l.refused.Add(1)
	l.mu.Lock()
	l.since++
	now := time.Now()
	if now.Sub(l.lastLog) < time.Second {
		l.mu.Unlock()
		return
	}
	n := l.since
	l.lastLog, l.since = now, 0
	l.mu.Unlock()
	if l.Log != nil {
		l.Log.Warn("connections refused: the cap of open connections is reached; raise "+l.Protocol+".max_connections if this is not a flood",
			"max_connections", l.Max, "refused", n, "refused_total", total)
	}
}

// conn gives its place back when closed (once, however often Close is called).
type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}

// CloseWrite half-closes the connection where the network can (TCP): what
// was written still reaches the peer, which then sees the end.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
