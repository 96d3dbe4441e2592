// Package connlimit caps how many connections a media server holds open at
// once: the media servers' defence against a flood that would take every
// file descriptor the process has (HTTP, recordings and the show's own
// cameras included). A connection over the cap is closed as soon as it is
// accepted (Listener, for TCP) or asked for (Gate, which SRT answers with a
// rejection), counted, and logged once a second at most.
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
	return &Listener{Listener: tcp, Gate: Gate{Max: max, Log: log, Protocol: protocol}}, nil
}

// Gate counts the connections a server holds open against a cap: one over
// it is refused, counted, and logged once a second at most. Listener keeps
// a TCP server's; a server that accepts by other means (SRT's connection
// requests, answered with a rejection) enters and leaves it itself.
type Gate struct {
	// Max is the cap (at least 1).
	Max int
	// Log gets the refusal line; Protocol names the server in it (and its
	// setting, PROTOCOL.max_connections).
	Log      *slog.Logger
	Protocol string

	open    atomic.Int64
	refused atomic.Uint64

	mu      sync.Mutex
	lastLog time.Time
	since   uint64 // refused since the last line
}

// Enter takes a place for a new connection. Over the cap it takes none,
// counts and logs the refusal and returns false: the caller then refuses the
// connection (after the count, so a peer that sees the refusal finds it
// counted). Each true is given back with one Leave.
func (g *Gate) Enter() bool {
	if g.open.Add(1) > int64(g.Max) {
		g.open.Add(-1)
		g.refuse()
		return false
	}
	return true
}

// Leave gives back the place of a connection that ended.
func (g *Gate) Leave() { g.open.Add(-1) }

// Refused returns how many connections were refused so far.
func (g *Gate) Refused() uint64 { return g.refused.Load() }

// Open returns how many accepted connections are open now.
func (g *Gate) Open() int { return int(g.open.Load()) }

func (g *Gate) refuse() {
	total := g.refused.Add(1)
	g.mu.Lock()
	g.since++
	now := time.Now()
	if now.Sub(g.lastLog) < time.Second {
		g.mu.Unlock()
		return
	}
	n := g.since
	g.lastLog, g.since = now, 0
	g.mu.Unlock()
	if g.Log != nil {
		g.Log.Warn("connections refused: the cap of open connections is reached; raise "+g.Protocol+".max_connections if this is not a flood",
			"max_connections", g.Max, "refused", n, "refused_total", total)
	}
}

// Listener accepts at most Max connections open at once.
type Listener struct {
	net.Listener
	Gate
}

// Accept returns the next connection under the cap; those over it are
// closed and counted here.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.Enter() {
			return &conn{Conn: c, l: l}, nil
		}
		_ = c.Close() // counted before the peer can see the close
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
	c.once.Do(c.l.Leave)
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
