// Package rtsp runs Switchyard's RTSP server (RFC 2326): it accepts publishers
// (ANNOUNCE/RECORD on /live/NAME) into the ingest registry and serves readers
// (DESCRIBE/SETUP/PLAY) the paths of the path table (output/serve): the
// program, the preview and every source. Built on gortsplib, whose streams
// it owns.
package rtsp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"

	"switchyard/ingest"
	"switchyard/internal/connlimit"
	"switchyard/internal/protocols/rtsp"
	"switchyard/output/serve"
)

// Server is the RTSP server.
type Server struct {
	// Address to listen on, e.g. ":8554".
	Address string
	// UDPRTPAddress and UDPRTCPAddress, both set (e.g. ":8000" and ":8001",
	// an even port and the next), take RTP and RTCP over UDP from
	// publishers and send it to readers; both empty: TCP only.
	UDPRTPAddress, UDPRTCPAddress string
	// Registry the publishers publish into.
	Registry *ingest.Registry
	// ReadKey, when set, is the password readers give (any user, basic or
	// digest) for the program, the preview and every source without its
	// own read_key (ingest.Registry.ReadKey).
	ReadKey string
	// Paths are what readers play; nil serves none.
	Paths *serve.Table
	// Log is the component logger.
	Log *slog.Logger
	// ReadTimeout and WriteTimeout default to 10s.
	ReadTimeout, WriteTimeout time.Duration
	// MaxConnections caps the RTSP connections open at once; those over it
	// are closed as they come, counted (Refused) and logged once a second
	// at most. Defaults to 256.
	MaxConnections int

	srv      *gortsplib.Server
	ln       *connlimit.Listener
	feeds    *feeds
	unlisten func()
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	if s.ReadTimeout == 0 {
		s.ReadTimeout = 10 * time.Second
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = 10 * time.Second
	}
	root := s.Log
	s.Log = root.With("component", "ingest.rtsp")
	ln, err := connlimit.Listen("rtsp", s.Address, s.MaxConnections, s.Log)
	if err != nil {
		return err
	}
	s.MaxConnections, s.ln = ln.Max, ln
	s.srv = &gortsplib.Server{
		Handler:        &handler{s: s},
		RTSPAddress:    s.Address,
		UDPRTPAddress:  s.UDPRTPAddress,
		UDPRTCPAddress: s.UDPRTCPAddress,
		ReadTimeout:    s.ReadTimeout,
		WriteTimeout:   s.WriteTimeout,
		Listen: func(string, string) (net.Listener, error) {
			return &guardedListener{Listener: ln, timeout: s.ReadTimeout}, nil
		},
	}
	if err := s.srv.Start(); err != nil {
		ln.Close()
		s.srv = nil // not started: nothing for Close to stop
		if s.UDPRTPAddress != "" {
			return fmt.Errorf("rtsp start (udp %s and %s): %w", s.UDPRTPAddress, s.UDPRTCPAddress, err)
		}
		return fmt.Errorf("rtsp start: %w", err)
	}
	if s.Paths == nil {
		s.Paths = serve.NewTable()
	}
	s.feeds = newFeeds(s.srv, root.With("component", "output.serve"))
	s.unlisten = s.Paths.Listen(s.feeds)
	if s.UDPRTPAddress != "" {
		s.Log.Info("listening", "addr", ln.Addr().String(), "udp_rtp", s.UDPRTPAddress, "udp_rtcp", s.UDPRTCPAddress)
	} else {
		s.Log.Info("listening", "addr", ln.Addr().String(), "udp", "off")
	}
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Refused returns how many connections were refused over MaxConnections.
func (s *Server) Refused() uint64 { return s.ln.Refused() }

// ServerStream returns the gortsplib stream served at path, once it has
// video.
func (s *Server) ServerStream(path string) (*gortsplib.ServerStream, error) {
	p, err := s.Paths.Get(path)
	if err != nil {
		return nil, err
	}
	return s.feeds.serverStream(p)
}

// Readers returns how many readers play path now, and how many of its units
// were packetized for RTSP readers so far.
func (s *Server) Readers(path string) (readers int, unitsServed uint64) {
	p, err := s.Paths.Get(path)
	if err != nil {
		return 0, 0
	}
	if fd := s.feeds.get(p); fd != nil {
		unitsServed = fd.served.Load()
	}
	return p.Watchers(), unitsServed
}

// Close stops serving the paths (their readers are disconnected), then the
// server and every session.
func (s *Server) Close() {
	if s.unlisten != nil {
		s.unlisten()
	}
	if s.srv != nil {
		s.srv.Close()
	}
}

// PublishPath returns the source name of a publish path "live/NAME".
func PublishPath(path string) (string, bool) {
	path = strings.Trim(path, "/")
	name, ok := strings.CutPrefix(path, "live/")
	return name, ok && name != "" && !strings.Contains(name, "/")
}

type handler struct {
	s *Server
}

// publisher is the state of one RECORD session: the source it announced
// to and the key it gave, and its units' receiver.
type publisher struct {
	name string
	key  string
	pub  *ingest.Publisher // set once it records
	log  *slog.Logger
	rx   *rtsp.Receiver
}

// watcher is the state of one PLAY session: it stops watching its path
// when the session closes.
type watcher struct{ stop func() }

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	switch d := ctx.Session.UserData().(type) {
	case *publisher:
		if d.pub != nil { // it recorded
			d.pub.Close()
			d.log.Info("publisher disconnected", "err", ctx.Error)
		}
	case *watcher:
		d.stop()
	}
}

// connState is what the server keeps of one RTSP connection: the source
// whose publish key it was asked for (a 401 challenge) and has not given.
type connState struct {
	mu         sync.Mutex
	challenged *ingest.Source
}

func stateOf(sc *gortsplib.ServerConn) *connState {
	cs, _ := sc.UserData().(*connState)
	return cs
}

func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	ctx.Conn.SetUserData(&connState{})
}

// OnConnClose counts a publisher that was asked for its key and left
// without giving it (no key at all): the first 401 is the normal start of
// the digest handshake, not a refusal, but leaving after it is.
func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	cs := stateOf(ctx.Conn)
	if cs == nil {
		return
	}
	cs.mu.Lock()
	src := cs.challenged
	cs.challenged = nil
	cs.mu.Unlock()
	if src != nil {
		src.Refuse()
		h.s.Log.Warn("publish refused", "remote", ctx.Conn.NetConn().RemoteAddr().String(), "source", src.Name(),
			"err", fmt.Errorf("no publish key given: %w", ingest.ErrBadKey))
	}
}

func (cs *connState) challenge(src *ingest.Source) {
	if cs == nil {
		return
	}
	cs.mu.Lock()
	cs.challenged = src
	cs.mu.Unlock()
}

// checkKey tells whether a request carries want as its password (any user
// name, basic or digest), and whether it carries credentials at all. A
// basic password is compared in constant time; a digest response is a
// hash of the key salted with the connection's nonce, which gortsplib
// checks (and VerifyCredentials also makes the nonce that a 401's
// challenge carries).
func checkKey(sc *gortsplib.ServerConn, req *base.Request, want string) (ok, given bool) {
	hdr := req.Header["Authorization"]
	var auth headers.Authorization
	if hdr == nil || auth.Unmarshal(hdr) != nil {
		sc.VerifyCredentials(req, "switchyard", want) // only for the nonce
		return false, hdr != nil
	}
	if auth.Method == headers.AuthMethodBasic {
		return subtle.ConstantTimeCompare([]byte(auth.BasicPass), []byte(want)) == 1, true
	}
	user := auth.Username
	if user == "" {
		user = "switchyard"
	}
	return sc.VerifyCredentials(req, user, want), true
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if res, err := h.readable(ctx.Conn, ctx.Request, ctx.Path); err != nil {
		return res, nil, err
	}
	return h.play(ctx.Path)
}

// readable checks a reader's key for path (DESCRIBE and SETUP, as a client
// may SETUP without DESCRIBE): without one, a 401 with the challenge; with
// a wrong one, a 401 and a log line (the key itself is never logged), and
// gortsplib closes the connection.
func (h *handler) readable(sc *gortsplib.ServerConn, req *base.Request, path string) (*base.Response, error) {
	path = strings.Trim(path, "/")
	stream := strings.TrimPrefix(path, "live/")
	want := h.s.Registry.ReadKey(stream, h.s.ReadKey)
	if want == "" {
		return nil, nil
	}
	ok, given := checkKey(sc, req, want)
	if ok {
		return nil, nil
	}
	if given {
		h.s.Log.Warn("read refused", "remote", sc.NetConn().RemoteAddr().String(), "path", path, "err", ErrBadReadKey)
	}
	return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
}

// ErrBadReadKey refuses a reader whose password is not the read key.
var ErrBadReadKey = errors.New("wrong read key")

func (h *handler) play(path string) (*base.Response, *gortsplib.ServerStream, error) {
	st, err := h.s.ServerStream(strings.Trim(path, "/"))
	if err != nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	log := h.s.Log.With("remote", ctx.Conn.NetConn().RemoteAddr().String())
	name, ok := PublishPath(ctx.Path)
	if !ok {
		err := fmt.Errorf("publish refused: path %q is not live/NAME", ctx.Path)
		log.Warn("publish refused", "err", err)
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	src, ok := h.s.Registry.Get(name)
	if !ok {
		err := fmt.Errorf("publish to %q: %w", name, ingest.ErrUnknownSource)
		log.Warn("publish refused", "source", name, "err", err)
		return &base.Response{StatusCode: base.StatusNotFound}, err
	}
	key := ""
	if want := src.Config().PublishKey; want != "" {
		// The key is the RTSP password; any user name is accepted.
		ok, given := checkKey(ctx.Conn, ctx.Request, want)
		switch {
		case ok:
			stateOf(ctx.Conn).challenge(nil)
			key = want
		case given: // a wrong key: counted; gortsplib closes the connection
			stateOf(ctx.Conn).challenge(nil)
			src.Refuse()
			log.Warn("publish refused", "source", name, "err", ingest.ErrBadKey)
			return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
		default: // no key yet: the challenge, counted only if the client leaves without one
			stateOf(ctx.Conn).challenge(src)
			return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
		}
	}
	rx, err := rtsp.NewReceiver(ctx.Description, log.With("source", name))
	if err != nil {
		err = fmt.Errorf("publish to %q refused: %w", name, err)
		log.Warn("publish refused", "err", err)
		return &base.Response{StatusCode: base.StatusUnsupportedMediaType}, err
	}
	// The source is claimed at RECORD: an ANNOUNCE that never records takes
	// nothing (and is no "publisher connected").
	ctx.Session.SetUserData(&publisher{name: name, key: key, log: log.With("source", name), rx: rx})
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	if res, err := h.readable(ctx.Conn, ctx.Request, ctx.Path); err != nil {
		return res, nil, err
	}
	return h.play(ctx.Path)
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	release(ctx.Conn)
	// a PLAY after a PAUSE is the same reader; the path is the one SETUP
	// found a stream at, whatever URL form the PLAY used
	if _, ok := ctx.Session.UserData().(*watcher); !ok {
		stop := func() {} // a path no longer served has nothing to packetize
		if p, err := h.s.Paths.Get(strings.Trim(ctx.Session.Path(), "/")); err == nil {
			stop = p.Watch()
		}
		ctx.Session.SetUserData(&watcher{stop: stop})
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRequest: every complete request earns a connection that does not play or
// record yet another read timeout (see guardedListener).
func (h *handler) OnRequest(sc *gortsplib.ServerConn, _ *base.Request) {
	if g, ok := sc.NetConn().(*guardedConn); ok {
		g.extend(h.s.ReadTimeout)
	}
}

func release(sc *gortsplib.ServerConn) {
	if g, ok := sc.NetConn().(*guardedConn); ok {
		g.release()
	}
}

func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	p, ok := ctx.Session.UserData().(*publisher)
	if !ok {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("RECORD without ANNOUNCE")
	}
	if p.pub != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("RECORD twice")
	}
	pub, err := h.s.Registry.Publish(p.name, p.key, "rtsp")
	if err != nil {
		p.log.Warn("publish refused", "err", err)
		code := base.StatusForbidden
		if errors.Is(err, ingest.ErrBusy) || errors.Is(err, ingest.ErrDraining) {
			code = base.StatusServiceUnavailable
		}
		return &base.Response{StatusCode: code}, err
	}
	pub.OnKick(ctx.Session.Close) // taken over or removed: the session ends
	release(ctx.Conn)
	p.pub = pub
	p.rx.Claim(pub)
	p.rx.Attach(rtsp.BySenderReports(ctx.Session))
	p.log.Info("recording", "transport", ctx.Session.Transport().Protocol.String())
	return &base.Response{StatusCode: base.StatusOK}, nil
}
