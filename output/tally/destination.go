package tally

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"switchyard/internal/backoff"
)

// Reconnection of a TCP destination: from retryMin doubling to retryMax.
const (
	retryMin    = 500 * time.Millisecond
	retryMax    = 10 * time.Second
	dialTimeout = 3 * time.Second
	// sendBuffer is a TCP connection's send buffer: a tally state is a
	// few kilobytes at most.
	sendBuffer = 64 << 10
)

// destination is one receiver: its goroutine sends the latest lamps it was
// offered; offer never waits for it.
type destination struct {
	cfg          Config
	writeTimeout time.Duration
	dialTimeout  time.Duration
	log          *slog.Logger
	wake         chan struct{}
	// cancel stops the goroutine, which closes done when it returns; both
	// nil until it starts.
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	latest []Lamp
	st     DestinationStatus
}

func newDestination(cfg Config, o Options, log *slog.Logger) *destination {
	d := &destination{cfg: cfg, writeTimeout: o.WriteTimeout, dialTimeout: o.DialTimeout, log: log, wake: make(chan struct{}, 1)}
	d.st = DestinationStatus{Config: cfg, State: "connecting"}
	if cfg.Transport == UDP {
		d.st.State = "sending"
	}
	return d
}

// offer hands the destination the lamps to send: they replace any it has
// not sent yet.
func (d *destination) offer(lamps []Lamp) {
	d.mu.Lock()
	d.latest = lamps
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *destination) status() DestinationStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.st
	st.Skipped = slices.Clone(st.Skipped)
	return st
}

// take returns the latest lamps offered.
func (d *destination) take() []Lamp {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.latest
}

// packets turns the lamps into this destination's messages, each ready to
// write, and names the sources it cannot address.
func (d *destination) packets(lamps []Lamp) (out [][]byte, skipped []string) {
	bright := *d.cfg.Brightness
	switch d.cfg.Protocol {
	case TSL31:
		for _, l := range lamps {
			if l.Index < 0 || l.Index > MaxAddress31 {
				skipped = append(skipped, l.Name)
				continue
			}
			out = append(out, Packet31(Display{Index: l.Index, Color: l.code, Text: l.Label}, bright))
		}
	case TSL5:
		displays := make([]Display, 0, len(lamps))
		for _, l := range lamps {
			if l.Index < 0 || l.Index > MaxIndex5 {
				skipped = append(skipped, l.Name)
				continue
			}
			displays = append(displays, Display{Index: l.Index, Color: l.code, Text: l.Label})
		}
		out = Packets5(d.cfg.Screen, bright, displays)
		if d.cfg.Transport == TCP || d.cfg.Wrap {
			for i, p := range out {
				out[i] = Wrap(p)
			}
		}
	}
	return out, skipped
}

func (d *destination) sent(skipped []string) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Sent++
	d.st.LastSentAt = &now
	d.st.Skipped = skipped
}

func (d *destination) failed(err error, state string, attempt int, next time.Duration) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.LastError, d.st.LastErrorAt = err.Error(), &now
	d.st.State, d.st.Attempt = state, attempt
	d.st.NextTryAt = nil
	if next > 0 {
		at := now.Add(next)
		d.st.NextTryAt = &at
	}
}

func (d *destination) setState(state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.State = state
	if state == "connected" {
		d.st.Attempt, d.st.NextTryAt = 0, nil
	}
}

func (d *destination) run(ctx context.Context) {
	if d.cfg.Transport == TCP {
		d.runTCP(ctx)
		return
	}
	d.runUDP(ctx)
}

// runUDP sends each state as datagrams. A send that fails (no route, the
// receiver's port closed) is reported in the status; the next state goes
// out as usual.
func (d *destination) runUDP(ctx context.Context) {
	var conn net.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		lamps := d.take()
		if conn == nil {
			c, err := net.Dial("udp", d.cfg.Address)
			if err != nil {
				d.failed(fmt.Errorf("udp %s: %w", d.cfg.Address, err), "sending", 0, 0)
				continue
			}
			conn = c
		}
		pkts, skipped := d.packets(lamps)
		var err error
		for _, p := range pkts {
			if err = conn.SetWriteDeadline(time.Now().Add(d.writeTimeout)); err == nil {
				_, err = conn.Write(p)
			}
			if err != nil {
				break
			}
		}
		if err != nil {
			d.failed(err, "sending", 0, 0)
			continue
		}
		d.sent(skipped)
	}
}

// runTCP keeps a connection to the receiver, dialling again with backoff
// when it fails or the receiver closes it.
func (d *destination) runTCP(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		d.setState("connecting")
		dialer := net.Dialer{Timeout: d.dialTimeout}
		conn, err := dialer.DialContext(ctx, "tcp", d.cfg.Address)
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetWriteBuffer(sendBuffer) // a receiver that stops reading holds this much, then meets the deadline
			}
			attempt = 0
			d.setState("connected")
			d.log.Info("tally receiver connected")
			err = d.serve(ctx, conn)
		}
		if ctx.Err() != nil {
			return
		}
		attempt++
		wait := backoff.Delay(attempt, retryMin, retryMax)
		d.failed(err, "retrying", attempt, wait)
		if attempt == 1 {
			d.log.Warn("tally receiver lost; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// errClosed is a receiver that closed the connection.
var errClosed = errors.New("the receiver closed the connection")

// serve sends the latest state at once (a receiver that connects late
// catches up), then each one offered. TSL 5.0 receivers send nothing back;
// what they do send is read and dropped, which is how a close is noticed.
func (d *destination) serve(ctx context.Context, conn net.Conn) error {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = io.Copy(io.Discard, conn)
	}()
	// A stop (the destination removed or changed, the Sender closed)
	// closes the connection: a write blocked on a receiver that stopped
	// reading returns at once, not at the write deadline.
	unhook := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer func() {
		unhook()
		_ = conn.Close()
		<-closed
	}()
	lamps := d.take()
	for {
		if lamps != nil {
			pkts, skipped := d.packets(lamps)
			for _, p := range pkts {
				if err := conn.SetWriteDeadline(time.Now().Add(d.writeTimeout)); err != nil {
					return err
				}
				if _, err := conn.Write(p); err != nil {
					return fmt.Errorf("tcp %s: %w", d.cfg.Address, err)
				}
			}
			d.sent(skipped)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return fmt.Errorf("tcp %s: %w", d.cfg.Address, errClosed)
		case <-d.wake:
			lamps = d.take()
		}
	}
}
