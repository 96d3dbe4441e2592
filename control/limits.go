package control

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Caps on what clients hold open. A request past a cap on connections is
// refused with 503 and Retry-After; one past a cap on the show's contents
// (sources, generators, keyers) with 409. Each refusal is counted in
// switchyard_limit_refused_total{limit}.
const (
	MaxEventClients     = 64
	MaxMultiviewViewers = 8
)

// limitKey carries, through gin, the limit a request was refused by.
const limitKey = "switchyard.limit"

// gate counts the holders of a capped resource.
type gate struct {
	max int64
	n   atomic.Int64
}

func (g *gate) acquire() bool {
	if g.n.Add(1) > g.max {
		g.n.Add(-1)
		return false
	}
	return true
}

func (g *gate) release()     { g.n.Add(-1) }
func (g *gate) inUse() int64 { return g.n.Load() }

type limits struct {
	events    gate
	multiview gate
}

func newLimits() *limits {
	return &limits{events: gate{max: MaxEventClients}, multiview: gate{max: MaxMultiviewViewers}}
}

// refuseBusy answers a request past a cap on connections.
func refuseBusy(c *gin.Context, limit, msg string) {
	c.Set(limitKey, limit)
	c.Header("Retry-After", "10")
	fail(c, &APIError{Status: http.StatusServiceUnavailable, Msg: msg})
}

// streamWriter writes a long answer (events, the multiview) with a deadline
// on every write: a client that stops reading is dropped once what it does
// not read fills the connection's buffers and WriteTimeout passes.
type streamWriter struct {
	w       gin.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// StreamSendBuffer caps the socket send buffer of a stream (events, the
// multiview): what a client on a slow link has not read yet stays a few
// pictures, not the megabytes the kernel's autotuning grows to — so it
// sees the wall live, and a client that stops reading meets WriteTimeout
// within a second or two of stopping rather than once megabytes filled.
const StreamSendBuffer = 256 << 10

// connKey is the context key of a request's connection (see withConn).
type connKey struct{}

// withConn keeps each connection in its requests' context
// (http.Server.ConnContext), for the stream handlers' send buffer.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// newStreamWriter also lifts the request's read deadline (ReadTimeout),
// which would otherwise end the stream: its request is read; and caps the
// connection's send buffer (StreamSendBuffer).
func newStreamWriter(c *gin.Context, timeout time.Duration) *streamWriter {
	if tc, ok := c.Request.Context().Value(connKey{}).(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(StreamSendBuffer) // best effort: without it the kernel's default holds more
	}
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Time{})
	return &streamWriter{w: c.Writer, rc: rc, timeout: timeout}
}

// write writes and flushes p within WriteTimeout.
func (sw *streamWriter) write(p ...[]byte) error {
	if err := sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout)); err != nil {
		return fmt.Errorf("no write deadline: %w", err)
	}
	for _, b := range p {
		if _, err := sw.w.Write(b); err != nil {
			return err
		}
	}
	return sw.rc.Flush()
}
