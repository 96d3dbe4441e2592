package srt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gosrt "github.com/datarhei/gosrt"
)

// Passphrase lengths SRT takes (libsrt's SRTO_PASSPHRASE: 10 to 79
// characters).
const (
	MinPassphrase = 10
	MaxPassphrase = 79
)

// MaxLatency is the longest latency= a URL may ask for. It is in
// milliseconds, as libsrt and srt-live-transmit take it; ffmpeg's own srt://
// option is in microseconds, and a URL copied from an ffmpeg command line
// (latency=200000) would otherwise ask for minutes.
const MaxLatency = 10 * time.Second

// Target is a remote SRT listener to call: a remote venue's encoder a
// source pulls, or a platform or relay an output sends to.
type Target struct {
	// Addr is host:port (UDP).
	Addr string
	// StreamID is sent in the handshake (the remote's stream and key, in
	// whatever form it takes: "publish:NAME:KEY", "#!::r=NAME,m=publish").
	StreamID string
	// Passphrase encrypts the link (AES, with the key length the remote
	// listener announces); empty leaves it in clear.
	Passphrase string
	// Latency is the SRT latency both ways; 0 is gosrt's default (120 ms).
	Latency time.Duration
}

// takes are the query parameters an srt:// URL may have.
const takes = "streamid, passphrase, latency (ms) and mode=caller"

// ParseURL reads srt://HOST:PORT?streamid=…&passphrase=…&latency=…&mode=caller.
// Errors never quote the passphrase, the stream id or anything that could
// be a piece of them (a passphrase with an unescaped & in it).
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, errors.New("not a URL: an SRT address is HOST:PORT after srt://, then ?streamid=…&passphrase=…")
	}
	if u.Scheme != "srt" {
		return Target{}, fmt.Errorf("scheme %q is not srt", u.Scheme)
	}
	if u.User != nil {
		return Target{}, errors.New("SRT has no user name or password in the address: give the passphrase as ?passphrase=")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return Target{}, errors.New("the URL has a # in it: write it %23 inside a stream id or passphrase")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return Target{}, errors.New("an SRT address needs a host and a UDP port: HOST:PORT after srt://")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return Target{}, fmt.Errorf("port %q is not a UDP port", port)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return Target{}, errors.New("an SRT address has no path: give the stream as ?streamid=")
	}
	t := Target{Addr: u.Host}
	for _, part := range strings.Split(u.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Target{}, fmt.Errorf("a query parameter without a value (write & as %%26 inside a passphrase or stream id); srt:// takes %s", takes)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return Target{}, errors.New("a query value is not URL-escaped correctly")
		}
		switch k {
		case "streamid":
			t.StreamID = val
		case "passphrase":
			if n := len(val); n < MinPassphrase || n > MaxPassphrase {
				return Target{}, fmt.Errorf("passphrase: %d characters; SRT takes %d to %d", n, MinPassphrase, MaxPassphrase)
			}
			t.Passphrase = val
		case "pbkeylen":
			// gosrt takes the key length the listener announces in the
			// handshake, and one set here that differs from a libsrt
			// listener's default breaks the handshake (gosrt v0.11.0)
			return Target{}, errors.New("pbkeylen is not taken: the key length is the remote listener's, announced in the handshake; leave it out")
		case "latency":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return Target{}, fmt.Errorf("latency %q must be a number of milliseconds", val)
			}
			if d := time.Duration(n) * time.Millisecond; d > MaxLatency {
				return Target{}, fmt.Errorf("latency %d is in milliseconds here, at most %d (ffmpeg's srt:// latency is in microseconds: divide it by 1000)", n, MaxLatency.Milliseconds())
			} else {
				t.Latency = d
			}
		case "mode":
			switch val {
			case "caller", "client":
			case "listener", "server", "rendezvous":
				return Target{}, fmt.Errorf("mode=%s is not taken: Switchyard calls the remote (mode=caller, the default). A remote that calls in sends to Switchyard's SRT listener (srt.listen, streamid publish:NAME) or reads from it (streamid read:program)", val)
			default:
				return Target{}, fmt.Errorf("mode %q: only caller is taken", val)
			}
		default:
			return Target{}, fmt.Errorf("a query parameter srt:// does not take; it takes %s", takes)
		}
	}
	return t, nil
}

// Dial calls t, the handshake bounded by timeout (gosrt's Dial cannot be
// cancelled, so the timeout is also how long a stop may wait for it). The
// error says why the remote refused the call, in words, never quoting the
// passphrase or the stream id.
func Dial(t Target, timeout time.Duration) (gosrt.Conn, error) {
	cfg := gosrt.DefaultConfig()
	cfg.StreamId = t.StreamID
	cfg.Passphrase = t.Passphrase
	hs := &handshakeLog{}
	cfg.Logger = hs
	if t.Latency > 0 {
		cfg.Latency = t.Latency
	}
	if timeout > 0 {
		cfg.ConnectionTimeout = timeout
	}
	c, err := gosrt.Dial("srt", t.Addr, cfg)
	if err != nil {
		return nil, dialError(t, cfg.ConnectionTimeout, err, hs.last())
	}
	return c, nil
}

// DialContext is Dial that returns as soon as ctx ends: gosrt's call
// cannot be cancelled, so it goes on in the background for at most timeout
// and the connection, if it is made, is closed there. A stop (a source or
// output removed or changed, the show closing) never waits for a handshake
// with a remote that does not answer.
func DialContext(ctx context.Context, t Target, timeout time.Duration) (gosrt.Conn, error) {
	type result struct {
		c   gosrt.Conn
		err error
	}
	var (
		mu        sync.Mutex
		abandoned bool
	)
	ch := make(chan result, 1)
	go func() {
		c, err := Dial(t, timeout)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if c != nil {
				c.Close()
			}
			return
		}
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		mu.Lock()
		abandoned = true
		mu.Unlock()
		select {
		case r := <-ch: // it came in the meantime
			if r.c != nil {
				r.c.Close()
			}
		default:
		}
		return nil, ctx.Err()
	}
}

// rejected is how gosrt's caller words a refusal: the code in base 32.
var rejected = regexp.MustCompile(`connection rejected: REJECT \(([0-9a-v]+)\)`)

// dialError explains a failed call; unread is gosrt's complaint about the
// last handshake packet it could not read, if any.
func dialError(t Target, timeout time.Duration, err error, unread string) error {
	msg := err.Error()
	if m := rejected.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.ParseUint(m[1], 32, 32)
		return &RejectedError{Addr: t.Addr, Code: gosrt.RejectionReason(code)}
	}
	if strings.Contains(msg, "connection timeout") && unread != "" {
		return fmt.Errorf("srt call %s: the remote answered, but its handshake could not be read (%s)", t.Addr, unread)
	}
	if strings.Contains(msg, "connection timeout") {
		return fmt.Errorf("srt call %s: no answer within %s: is an SRT listener on that UDP port (and the firewall open)?", t.Addr, timeout)
	}
	return fmt.Errorf("srt call %s: %w", t.Addr, err)
}

// RejectedError is a call the remote refused in the handshake.
type RejectedError struct {
	Addr string
	Code gosrt.RejectionReason
}

func (e *RejectedError) Error() string {
	why := ""
	switch e.Code {
	case gosrt.REJ_BADSECRET:
		why = "wrong passphrase: the remote's passphrase is another (check passphrase= in the url)"
	case gosrt.REJ_UNSECURE:
		why = "encryption mismatch: the remote wants a passphrase and none was given, or it has none and one was given"
	case gosrt.REJX_UNAUTHORIZED:
		why = "the remote refused the stream id's key (check streamid= in the url)"
	case gosrt.REJX_NOTFOUND:
		why = "the remote has no such stream (check streamid= in the url)"
	case gosrt.REJX_FORBIDDEN, gosrt.REJX_BAD_REQUEST:
		why = "the remote refused the stream id (check streamid= in the url)"
	case gosrt.REJX_CONFLICT:
		why = "the remote's stream is already taken by another caller"
	case gosrt.REJX_OVERLOAD, gosrt.REJ_BACKLOG, gosrt.REJ_RESOURCE:
		why = "the remote is overloaded"
	case gosrt.REJ_VERSION:
		why = "the remote's SRT version is too old"
	default:
		why = "the remote refused the call"
	}
	return fmt.Sprintf("srt call %s: %s (SRT rejection %d)", e.Addr, why, uint32(e.Code))
}

// handshakeLog is the caller's gosrt logger: it keeps the last handshake
// packet gosrt could not read, which gosrt only logs before it times out.
type handshakeLog struct {
	mu  sync.Mutex
	msg string
}

const topicUnread = "handshake:recv:error"

func (l *handshakeLog) HasTopic(topic string) bool { return topic == topicUnread }

func (l *handshakeLog) Print(topic string, _ uint32, _ int, message func() string) {
	if topic != topicUnread {
		return
	}
	m := message()
	l.mu.Lock()
	l.msg = m
	l.mu.Unlock()
}

func (l *handshakeLog) Listen() <-chan gosrt.Log { return nil }

func (l *handshakeLog) Close() {}

func (l *handshakeLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msg
}
