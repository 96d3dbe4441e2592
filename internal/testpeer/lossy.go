package testpeer

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Impairment is what a LossyUDP relay does to every datagram, in each
// direction on its own: what the open internet does to an SRT link.
type Impairment struct {
	// Loss is the share of datagrams dropped, 0 to 1.
	Loss float64
	// Delay is added to every datagram that passes (one way).
	Delay time.Duration
	// Jitter varies the delay by up to this much either way (uniformly);
	// datagrams keep their order, as on most paths.
	Jitter time.Duration
	// Reorder is the share of datagrams, 0 to 1, held back ReorderBy more
	// than the rest, so that those sent after them overtake them.
	Reorder float64
	// ReorderBy is how much longer a reordered datagram takes; defaults
	// to 30 ms.
	ReorderBy time.Duration
	// Shape, when set, looks at each datagram first (up: from a client
	// towards the target): it may drop it (counted as dropped), or hold
	// it back extra, apart from the others (it then arrives out of
	// order). It is called from the relay's readers, one per direction
	// and client, so it must be safe for concurrent use.
	Shape func(b []byte, up bool) (drop bool, extra time.Duration)
	// Seed makes the losses and the jitter repeatable.
	Seed uint64
}

// LossyUDP relays UDP datagrams between the clients that send to Addr
// and a target (one upstream socket per client, as a NAT would), with an
// Impairment in both directions. It stops with the test.
type LossyUDP struct {
	imp    Impairment
	target *net.UDPAddr
	front  *net.UDPConn
	done   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*net.UDPConn // by client address
	seeds    uint64                  // handed to each session's directions

	passed, dropped atomic.Uint64
}

// StartLossyUDP starts a relay on a loopback port in front of target.
func StartLossyUDP(t testing.TB, target string, imp Impairment) *LossyUDP {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	l := &LossyUDP{imp: imp, target: to, front: front, done: make(chan struct{}), sessions: map[string]*net.UDPConn{}, seeds: imp.Seed}
	l.wg.Add(1)
	go l.fromClients()
	t.Cleanup(l.Close)
	return l
}

// Addr is where clients send (IP:port).
func (l *LossyUDP) Addr() string { return l.front.LocalAddr().String() }

// Counts returns the datagrams passed on and dropped, both directions.
func (l *LossyUDP) Counts() (passed, dropped uint64) { return l.passed.Load(), l.dropped.Load() }

// Close stops relaying and waits for the relay's goroutines.
func (l *LossyUDP) Close() {
	select {
	case <-l.done:
		return
	default:
	}
	close(l.done)
	_ = l.front.Close()
	l.mu.Lock()
	for _, c := range l.sessions {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// datagram is one datagram on its way, due at at.
type datagram struct {
	at time.Time
	b  []byte
}

// line is one direction of the relay: it drops, delays and jitters, and
// writes what passes in order; what is held back extra (Reorder, Shape)
// goes by a slow lane of its own and arrives after what overtook it.
type line struct {
	l     *LossyUDP
	up    bool
	rng   *rand.Rand
	queue chan datagram
	slow  chan datagram
	write func([]byte)
}

func (l *LossyUDP) newLine(up bool, write func([]byte)) *line {
	l.seeds++
	ln := &line{l: l, up: up, rng: rand.New(rand.NewPCG(l.seeds, 0x5eed)),
		queue: make(chan datagram, 8192), slow: make(chan datagram, 8192), write: write}
	l.wg.Add(2)
	go ln.deliver(ln.queue)
	go ln.deliver(ln.slow)
	return ln
}

// take decides on one datagram read now (called from its reader only).
func (ln *line) take(b []byte) {
	imp := ln.l.imp
	var extra time.Duration
	if imp.Shape != nil {
		var drop bool
		if drop, extra = imp.Shape(b, ln.up); drop {
			ln.l.dropped.Add(1)
			return
		}
	}
	if ln.rng.Float64() < imp.Loss {
		ln.l.dropped.Add(1)
		return
	}
	d := imp.Delay
	if imp.Jitter > 0 {
		d += time.Duration(ln.rng.Int64N(int64(2*imp.Jitter)+1)) - imp.Jitter
	}
	if imp.Reorder > 0 && ln.rng.Float64() < imp.Reorder {
		by := imp.ReorderBy
		if by == 0 {
			by = 30 * time.Millisecond
		}
		extra += by
	}
	q := ln.queue
	if extra > 0 {
		q, d = ln.slow, d+extra
	}
	select {
	case q <- datagram{at: time.Now().Add(d), b: append([]byte(nil), b...)}:
	default: // more than the line holds: the queue of a router that is full
		ln.l.dropped.Add(1)
	}
}

func (ln *line) deliver(queue chan datagram) {
	defer ln.l.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var dg datagram
		select {
		case dg = <-queue:
		case <-ln.l.done:
			return
		}
		if wait := time.Until(dg.at); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-ln.l.done:
				return
			}
		}
		ln.write(dg.b)
		ln.l.passed.Add(1)
	}
}

// fromClients reads what clients send and hands it to their sessions.
func (l *LossyUDP) fromClients() {
	defer l.wg.Done()
	lines := map[string]*line{}
	b := make([]byte, 65536)
	for {
		n, from, err := l.front.ReadFromUDP(b)
		if err != nil {
			return // closed
		}
		ln := lines[from.String()]
		if ln == nil {
			up, err := net.DialUDP("udp", nil, l.target)
			if err != nil {
				continue
			}
			l.mu.Lock()
			select {
			case <-l.done:
				l.mu.Unlock()
				_ = up.Close()
				return
			default:
			}
			l.sessions[from.String()] = up
			l.mu.Unlock()
			ln = l.newLine(true, func(p []byte) { _, _ = up.Write(p) })
			lines[from.String()] = ln
			back := l.newLine(false, func(p []byte) { _, _ = l.front.WriteToUDP(p, from) })
			l.wg.Add(1)
			go l.fromTarget(up, back)
		}
		ln.take(b[:n])
	}
}

// fromTarget reads what the target answers a client and hands it back.
func (l *LossyUDP) fromTarget(up *net.UDPConn, back *line) {
	defer l.wg.Done()
	b := make([]byte, 65536)
	for {
		n, err := up.Read(b)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue // ICMP port unreachable, while the target is not there
		}
		back.take(b[:n])
	}
}
