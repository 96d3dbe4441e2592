// Package srt runs Switchyard's SRT listener: publishers (hardware encoders,
// OBS, Larix, ffmpeg) send MPEG-TS into the ingest registry, and readers get
// the program, the preview or any source of the path table (output/serve)
// as MPEG-TS. What a caller wants is its stream id (streamid.go). gosrt is
// the SRT stack; internal/protocols/mpegts maps the transport stream.
// Spec: https://datatracker.ietf.org/doc/html/draft-sharabayko-srt
package srt

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"switchyard/ingest"
	"switchyard/internal/connlimit"
	"switchyard/internal/protocols/mpegts"
	link "switchyard/internal/protocols/srt"
	"switchyard/output/serve"
)

// Passphrase lengths SRT takes (the SRTO_PASSPHRASE option: 10 to 79
// characters).
const (
	MinPassphrase = 10
	MaxPassphrase = 79
)

// ErrBadReadKey refuses a reader whose key is not the read key.
var ErrBadReadKey = errors.New("wrong or missing read key")

// DefaultMaxConnections caps the connections of a server whose setting is 0.
const DefaultMaxConnections = connlimit.DefaultMax

// Server is the SRT listener.
type Server struct {
	// Address to listen on (UDP), e.g. ":8890"; a host must be an IP address.
	Address string
	// Latency is the receiver's and the peer's latency the listener offers
	// (SRT takes the larger of both sides'); defaults to 120ms.
	Latency time.Duration
	// Passphrase, when set (10 to 79 characters), is required of every
	// caller, which then encrypts (AES); callers without it are refused.
	Passphrase string
	// Registry the publishers publish into.
	Registry *ingest.Registry
	// Paths are what readers read; nil refuses them.
	Paths *serve.Table
	// ReadKey, when set, is the key readers give (read:NAME:KEY) for the
	// program, the preview and every source without its own read_key
	// (ingest.Registry.ReadKey).
	ReadKey string
	// Log is the component logger.
	Log *slog.Logger
	// ReadTimeout cuts a publisher that sends no media for this long (SRT
	// keeps a silent connection alive); defaults to 10s.
	ReadTimeout time.Duration
	// MaxConnections caps the SRT connections open at once; those over it
	// are refused (REJX_OVERLOAD), counted (Refused) and logged once a
	// second at most. Defaults to 256.
	MaxConnections int

	ln     gosrt.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[gosrt.Conn]*connInfo

	gate connlimit.Gate // MaxConnections
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	if s.Latency == 0 {
		s.Latency = 120 * time.Millisecond
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = 10 * time.Second
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = DefaultMaxConnections
	}
	if n := len(s.Passphrase); n != 0 && (n < MinPassphrase || n > MaxPassphrase) {
		return fmt.Errorf("srt passphrase: %d characters; SRT takes %d to %d", n, MinPassphrase, MaxPassphrase)
	}
	s.Log = s.Log.With("component", "ingest.srt")
	s.gate = connlimit.Gate{Max: s.MaxConnections, Log: s.Log, Protocol: "srt"}
	cfg := gosrt.DefaultConfig()
	cfg.ReceiverLatency, cfg.PeerLatency = s.Latency, s.Latency
	ln, err := gosrt.Listen("srt", s.Address, cfg)
	if err != nil {
		return fmt.Errorf("srt listen %s: %w", s.Address, err)
	}
	s.ln = ln
	s.conns = map[gosrt.Conn]*connInfo{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	s.Log.Info("listening", "addr", ln.Addr().String(), "latency", s.Latency.String(), "encrypted", s.Passphrase != "")
	return nil
}

// Addr returns the listening address (UDP).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Refused returns how many connections were refused over MaxConnections.
func (s *Server) Refused() uint64 { return s.gate.Refused() }

// Close stops listening, ends every connection and waits for them. Safe
// twice.
func (s *Server) Close() {
	if s.ln == nil {
		return
	}
	s.cancel()
	s.ln.Close() // ends Accept2 and every connection it made
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		req, err := s.ln.Accept2()
		if err != nil {
			if !errors.Is(err, gosrt.ErrListenerClosed) {
				s.Log.Error("listener stopped", "err", err)
			}
			return
		}
		if !s.gate.Enter() {
			req.Reject(gosrt.REJX_OVERLOAD) // counted before the caller sees it
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.gate.Leave()
			s.handle(req)
		}()
	}
}

// handle decides on one caller: its stream id, its passphrase, then its
// publish or read.
func (s *Server) handle(req gosrt.ConnRequest) {
	log := s.Log.With("remote", req.RemoteAddr().String())
	if req.Version() < 5 {
		log.Warn("connection refused", "err", "an SRT v4 handshake carries no stream id: use SRT 1.3 or later")
		req.Reject(gosrt.REJ_VERSION)
		return
	}
	raw := req.StreamId()
	id, err := ParseStreamID(raw)
	if err != nil {
		log.Warn("connection refused", "stream_id", redactRaw(raw), "err", err)
		req.Reject(gosrt.REJX_BAD_REQUEST)
		return
	}
	log = log.With("stream_id", id.Redacted())
	if reason, err := s.secret(req); err != nil {
		if src, ok := s.Registry.Get(id.Name); ok && id.Mode == ModePublish {
			src.Refuse()
		}
		log.Warn(string(id.Mode)+" refused", "err", err)
		req.Reject(reason)
		return
	}
	if id.Mode == ModePublish {
		s.publish(req, id, log)
		return
	}
	s.read(req, id, log)
}

// secret checks the caller's encryption against srt.passphrase.
func (s *Server) secret(req gosrt.ConnRequest) (gosrt.RejectionReason, error) {
	switch {
	case s.Passphrase == "" && req.IsEncrypted():
		return gosrt.REJ_UNSECURE, errors.New("the caller encrypts, and this listener has no srt.passphrase: connect without a passphrase")
	case s.Passphrase == "":
		return 0, nil
	case !req.IsEncrypted():
		return gosrt.REJ_UNSECURE, errors.New("no passphrase: this listener takes encrypted callers only (give the passphrase set in srt.passphrase)")
	}
	if err := req.SetPassphrase(s.Passphrase); err != nil {
		return gosrt.REJ_BADSECRET, errors.New("wrong passphrase")
	}
	return 0, nil
}

// connInfo is what the listener knows of a connection it accepted.
type connInfo struct {
	remote string
	id     StreamID
	path   string
	since  time.Time
	// link reads the connection's link: a publisher's through its
	// Reader (which counts what the receiver gave up); nil: StatsOf.
	link atomic.Pointer[func() link.Stats]
}

// Connections lists the listener's open connections, publishers and
// readers, oldest first, each with its link now.
func (s *Server) Connections() []link.Connection {
	type open struct {
		c  gosrt.Conn
		in *connInfo
	}
	s.mu.Lock()
	list := make([]open, 0, len(s.conns))
	for c, in := range s.conns {
		list = append(list, open{c, in})
	}
	s.mu.Unlock()
	out := make([]link.Connection, 0, len(list))
	for _, o := range list { // outside the lock: each takes its connection's
		var l link.Stats
		if f := o.in.link.Load(); f != nil {
			l = (*f)()
		} else {
			l = link.StatsOf(o.c)
		}
		out = append(out, link.Connection{Remote: o.in.remote, StreamID: o.in.id.Redacted(), Direction: string(o.in.id.Mode),
			Path: o.in.path, Since: o.in.since, SRT: l})
	}
	slices.SortFunc(out, func(a, b link.Connection) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.Remote, b.Remote)
	})
	return out
}

// accepted accepts a request for path and tracks its connection until done.
func (s *Server) accepted(req gosrt.ConnRequest, id StreamID, path string) (gosrt.Conn, *connInfo, func(), error) {
	c, err := req.Accept()
	if err != nil {
		return nil, nil, nil, err
	}
	s.mu.Lock()
	if s.ctx.Err() != nil { // closing: Close may have passed the map already
		s.mu.Unlock()
		_ = c.Close()
		return nil, nil, nil, errors.New("the server is closing")
	}
	in := &connInfo{remote: req.RemoteAddr().String(), id: id, path: path, since: time.Now()}
	s.conns[c] = in
	s.mu.Unlock()
	return c, in, func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}, nil
}

// rejection is the SRT rejection for an ingest refusal.
func rejection(err error) gosrt.RejectionReason {
	switch {
	case errors.Is(err, ingest.ErrUnknownSource):
		return gosrt.REJX_NOTFOUND
	case errors.Is(err, ingest.ErrBadKey):
		return gosrt.REJX_UNAUTHORIZED
	case errors.Is(err, ingest.ErrBusy):
		return gosrt.REJX_CONFLICT
	case errors.Is(err, ingest.ErrDraining): // 1503: the service is going down
		return gosrt.REJX_DOWN
	}
	return gosrt.REJX_FORBIDDEN
}

func (s *Server) publish(req gosrt.ConnRequest, id StreamID, log *slog.Logger) {
	pub, err := s.Registry.Publish(id.Name, id.Key, "srt")
	if err != nil {
		log.Warn("publish refused", "source", id.Name, "err", err)
		req.Reject(rejection(err))
		return
	}
	defer pub.Close()
	log = log.With("source", id.Name)
	c, info, done, err := s.accepted(req, id, "live/"+id.Name)
	if err != nil {
		log.Warn("publish failed", "err", err)
		return
	}
	defer done()
	pub.OnKick(func() { _ = c.Close() }) // taken over or removed: the connection ends
	r := &link.Reader{Conn: c}
	stats := r.Stats
	info.link.Store(&stats)
	pub.SetLink(stats)
	in := &link.IdleReader{R: r}
	idle := link.WatchIdle(c, in, s.ReadTimeout, func(idle time.Duration) {
		log.Warn("publisher cut: no data", "for", idle.Round(time.Millisecond).String())
	})
	defer idle.Stop()
	rx, err := mpegts.NewReceiver(in, log)
	if err != nil {
		log.Warn("publish refused", "err", err)
		return
	}
	log.Info("publishing", "codecs", rx.Codecs())
	err = rx.Run(pub)
	if errors.Is(err, io.EOF) || s.ctx.Err() != nil {
		log.Info("publisher disconnected", "malformed", rx.Malformed())
		return
	}
	log.Warn("publisher cut", "err", err, "malformed", rx.Malformed())
}

// readPath is the path a reader's name reads: program and preview are the
// buses, any other name a source.
func readPath(name string) string {
	if name == "program" || name == "preview" {
		return name
	}
	return "live/" + name
}

func (s *Server) read(req gosrt.ConnRequest, id StreamID, log *slog.Logger) {
	if want := s.Registry.ReadKey(id.Name, s.ReadKey); want != "" && subtle.ConstantTimeCompare([]byte(id.Key), []byte(want)) != 1 {
		log.Warn("read refused", "stream", id.Name, "err", fmt.Errorf("%w (give it as read:%s:KEY)", ErrBadReadKey, id.Name))
		req.Reject(gosrt.REJX_UNAUTHORIZED)
		return
	}
	if s.Paths == nil {
		log.Warn("read refused", "err", "nothing is served over SRT")
		req.Reject(gosrt.REJX_NOTFOUND)
		return
	}
	p, err := s.Paths.Get(readPath(id.Name))
	if err != nil {
		log.Warn("read refused", "stream", id.Name, "err", fmt.Errorf("%s: %w (read program, preview or a source)", id.Name, serve.ErrNoStream))
		req.Reject(gosrt.REJX_NOTFOUND)
		return
	}
	c, _, done, err := s.accepted(req, id, p.Name())
	if err != nil {
		log.Warn("read failed", "err", err)
		return
	}
	defer done()
	stopWatch := p.Watch()
	defer stopWatch()
	log.Info("reader connected", "path", p.Name())
	snd := &mpegts.Sender{W: c, OnSoundNotCarried: func(err error) {
		log.Warn("sound not carried to the reader; the picture goes on", "err", err)
	}}
	// A reader sends nothing: a read ends when it hangs up (or is cut),
	// which ends the sender too, even while the path has nothing to send.
	ctx, hungUp := context.WithCancel(s.ctx)
	defer hungUp()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		defer hungUp()
		b := make([]byte, 1500)
		for {
			if _, err := c.Read(b); err != nil {
				return
			}
		}
	}()
	err = snd.Run(ctx, p.Stream())
	_ = c.Close() // ends the read above, if the sender ended first
	<-gone
	if s.ctx.Err() == nil {
		log.Info("reader stopped", "err", err)
	}
}
