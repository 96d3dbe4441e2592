package control

import (
	"net"
	"sync"
	"time"
)

// Guessing tokens is slowed to a stop: an address that has presented
// maxTokenFailures wrong credentials (a login, a bearer token, ?token=, a
// session cookie) within tokenWindow is refused every further attempt,
// right or wrong, with 429 and Retry-After until the window has passed. Tokens are long
// random strings; this keeps a script from trying them at the API's speed,
// and a panel's mistyped token costs its user a minute at most.
const (
	maxTokenFailures = 20
	tokenWindow      = time.Minute
	// maxThrottled bounds the addresses remembered; past it the oldest
	// window is forgotten (a flood from many addresses stays bounded in
	// memory; each address still gets at most maxTokenFailures a window).
	maxThrottled = 4096
)

type throttle struct {
	mu    sync.Mutex
	now   func() time.Time
	fails map[string]*failures
}

type failures struct {
	since time.Time // the window's start
	n     int
}

func newThrottle() *throttle { return &throttle{now: time.Now, fails: map[string]*failures{}} }

// host is the address a request came from (the connection's, never a
// header a client could set).
func host(remoteAddr string) string {
	h, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return h
}

// blocked reports whether addr may not try a token now, and for how long.
func (t *throttle) blocked(addr string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.fails[addr]
	if f == nil {
		return 0, false
	}
	left := f.since.Add(tokenWindow).Sub(t.now())
	if left <= 0 {
		delete(t.fails, addr)
		return 0, false
	}
	return left, f.n >= maxTokenFailures
}

// failed counts a wrong token from addr.
func (t *throttle) failed(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.fails[addr]
	if f == nil || now.Sub(f.since) >= tokenWindow {
		if f == nil && len(t.fails) >= maxThrottled {
			t.forgetOldest(now)
		}
		f = &failures{since: now}
		t.fails[addr] = f
	}
	f.n++
}

// forgetOldest drops the windows that have passed, or else the oldest one.
func (t *throttle) forgetOldest(now time.Time) {
	var oldest string
	for a, f := range t.fails {
		if now.Sub(f.since) >= tokenWindow {
			delete(t.fails, a)
			continue
		}
		if oldest == "" || f.since.Before(t.fails[oldest].since) {
			oldest = a
		}
	}
	if len(t.fails) >= maxThrottled {
		delete(t.fails, oldest)
	}
}
