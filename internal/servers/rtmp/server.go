// Package rtmp runs Switchyard's RTMP server: it accepts publishers (OBS,
// hardware encoders, ffmpeg) and publishes their H.264, H.265 and AAC into
// the ingest registry, and plays the program and every source of the path
// table (output/serve) to players. go-rtmp is its connection layer, reading
// through internal/protocols/rtmp's chunk reader. Spec: Adobe RTMP Specification 1.0,
// https://rtmp.veriskope.com/docs/spec/
package rtmp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	gortmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"switchyard/ingest"
	"switchyard/internal/connlimit"
	"switchyard/internal/protocols/rtmp"
	"switchyard/output/serve"
)

// App is the RTMP application name publishers use: rtmp://HOST:1935/live/NAME.
const App = "live"

// Server accepts RTMP publishers.
type Server struct {
	// Address to listen on, e.g. ":1935".
	Address string
	// Registry the publishers publish into.
	Registry *ingest.Registry
	// Paths are what players play; nil refuses them.
	Paths *serve.Table
	// ReadKey, when set, is the key players give ("program?key=…") for
	// the program, the preview and every source without its own read_key
	// (ingest.Registry.ReadKey).
	ReadKey string
	// Log is the component logger.
	Log *slog.Logger
	// HandshakeTimeout bounds the handshake and connect phase; defaults to 10s.
	HandshakeTimeout time.Duration
	// ReadTimeout closes a publisher that sends nothing for this long; defaults to 10s.
	ReadTimeout time.Duration
	// WriteTimeout bounds every write to a peer; defaults to 5s.
	WriteTimeout time.Duration
	// MaxConnections caps the RTMP connections open at once; those over it
	// are closed as they come, counted (Refused) and logged once a second
	// at most. Defaults to 256.
	MaxConnections int

	ln    *connlimit.Listener
	srv   *gortmp.Server
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	wg    sync.WaitGroup
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	if s.HandshakeTimeout == 0 {
		s.HandshakeTimeout = 10 * time.Second
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = 10 * time.Second
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = 5 * time.Second
	}
	s.Log = s.Log.With("component", "ingest.rtmp")
	ln, err := connlimit.Listen("rtmp", s.Address, s.MaxConnections, s.Log)
	if err != nil {
		return err
	}
	s.MaxConnections, s.ln = ln.Max, ln
	s.conns = map[*trackedConn]struct{}{}
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	s.srv = gortmp.NewServer(&gortmp.ServerConfig{
		OnConnect: func(c net.Conn) (io.ReadWriteCloser, *gortmp.ConnConfig) {
			tc := s.track(c)
			// Bound the handshake: a peer that connects and says nothing is cut.
			_ = c.SetDeadline(time.Now().Add(s.HandshakeTimeout))
			h := &handler{s: s, conn: tc, log: s.Log.With("remote", c.RemoteAddr().String())}
			return tc, &gortmp.ConnConfig{
				Handler: h,
				ControlState: gortmp.StreamControlStateConfig{
					DefaultBandwidthWindowSize: 6 * 1024 * 1024 / 8,
				},
				Logger: quiet,
			}
		},
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln)
	}()
	s.Log.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Refused returns how many connections were refused over MaxConnections.
func (s *Server) Refused() uint64 { return s.ln.Refused() }

// Close stops listening, closes every connection and waits for them.
func (s *Server) Close() {
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	// go-rtmp closes the listener only once its Serve has taken it: a Close
	// right after Start would leave Serve accepting for ever.
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// trackedConn lets the server close and wait for connections go-rtmp
// serves, and puts a deadline on every write.
type trackedConn struct {
	net.Conn
	s    *Server
	in   io.Reader // what go-rtmp reads: the chunk stream with type-3 extended timestamps fixed
	once sync.Once
	rtmp *gortmp.Conn // set once served
}

func (c *trackedConn) Read(b []byte) (int, error) { return c.in.Read(b) }

func (c *trackedConn) Write(b []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.s.WriteTimeout))
	return c.Conn.Write(b)
}

func (s *Server) track(c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, s: s, in: rtmp.NewChunkReader(c)}
	s.mu.Lock()
	s.conns[tc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	return tc
}

// endGracefully ends the connection after what was written: it stops
// writing (the peer reads the last status message, then the end) and lets
// go-rtmp's loop read on until the peer closes, within linger, then close.
// Closed at once with the peer's bytes unread, the kernel would reset the
// connection and a player could lose the message that says why.
func (c *trackedConn) endGracefully(linger time.Duration) {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = c.Conn.SetReadDeadline(time.Now().Add(linger))
		return
	}
	_ = c.Close()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.wg.Done()
	})
	return err
}

type handler struct {
	gortmp.DefaultHandler
	s    *Server
	conn *trackedConn
	log  *slog.Logger
	app  string

	playCancel context.CancelFunc
	playDone   chan struct{}

	pub   *ingest.Publisher
	name  string
	ended bool // FCUnpublish or deleteStream came
	tags  *rtmp.Receiver

	scratch bytes.Buffer // reused by readPayload
}

// readPayload copies a media message out of go-rtmp (which recycles its
// buffers) into a slice of exactly its size: read into a reused buffer first,
// since go-rtmp's reader does not tell the length and io.ReadAll would grow
// a slice by doubling, several times the payload in garbage per message.
func (h *handler) readPayload(payload io.Reader) ([]byte, error) {
	h.scratch.Reset()
	if _, err := h.scratch.ReadFrom(payload); err != nil {
		return nil, err
	}
	return bytes.Clone(h.scratch.Bytes()), nil
}

func (h *handler) OnServe(c *gortmp.Conn) { h.conn.rtmp = c }

func (h *handler) OnConnect(_ uint32, cmd *rtmpmsg.NetConnectionConnect) error {
	h.app = strings.Trim(cmd.Command.App, "/")
	return nil
}

// ParseStreamName splits "cam2?key=s3cret" into name and key.
func ParseStreamName(s string) (name, key string) {
	name, query, _ := strings.Cut(s, "?")
	for _, kv := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "key" {
			key = v
		}
	}
	return name, key
}

func (h *handler) OnPublish(_ *gortmp.StreamContext, _ uint32, cmd *rtmpmsg.NetStreamPublish) error {
	if h.pub != nil {
		return errors.New("already publishing")
	}
	name, key, err := h.stream("publish", cmd.PublishingName, "NAME")
	if err != nil {
		return err
	}
	pub, err := h.s.Registry.Publish(name, key, "rtmp")
	if err != nil {
		h.log.Warn("publish refused", "source", name, "err", err)
		return err
	}
	pub.OnKick(func() { _ = h.conn.Close() }) // taken over or removed: the connection ends
	h.pub, h.name = pub, name
	h.log = h.log.With("source", name)
	h.tags = rtmp.NewReceiver(pub, h.log)
	return nil
}

// stream splits what a publish or a play asks for into the stream's name
// and the key given with it ("cam2?key=…"; OBS puts the key in the app for
// some services: "live?key=…" is taken too), refusing an application that
// is not App; example names the stream in the refusal's advice.
func (h *handler) stream(verb, requested, example string) (name, key string, err error) {
	name, key = ParseStreamName(requested)
	app, appKey := ParseStreamName(h.app)
	if key == "" {
		key = appKey
	}
	if app != App {
		err := fmt.Errorf("%s refused: application %q is not %q (use rtmp://HOST:PORT/%s/%s)", verb, app, App, App, example)
		h.log.Warn(verb+" refused", "err", err)
		return "", "", err
	}
	return name, key, nil
}

func (h *handler) OnVideo(timestamp uint32, payload io.Reader) error {
	return h.onMedia(timestamp, payload, (*rtmp.Receiver).Video)
}

func (h *handler) OnAudio(timestamp uint32, payload io.Reader) error {
	return h.onMedia(timestamp, payload, (*rtmp.Receiver).Audio)
}

// onMedia hands a publisher's media message to its receiver; before a
// publish, media is ignored.
func (h *handler) onMedia(timestamp uint32, payload io.Reader, take func(*rtmp.Receiver, uint32, []byte) error) error {
	if h.pub == nil {
		return nil
	}
	h.keepAlive()
	b, err := h.readPayload(payload)
	if err != nil {
		return err
	}
	return take(h.tags, timestamp, b)
}

func (h *handler) keepAlive() {
	_ = h.conn.SetDeadline(time.Now().Add(h.s.ReadTimeout))
}

// OnFCUnpublish and OnDeleteStream end a publish cleanly (OBS and
// GStreamer send both before they close; ffmpeg sends deleteStream): the
// source goes offline at once, and the publisher closes its connection.
func (h *handler) OnFCUnpublish(_ uint32, cmd *rtmpmsg.NetStreamFCUnpublish) error {
	if name, _ := ParseStreamName(cmd.StreamName); name == h.name {
		h.endPublish("FCUnpublish")
	}
	return nil
}

// OnDeleteStream: see OnFCUnpublish.
func (h *handler) OnDeleteStream(_ uint32, _ *rtmpmsg.NetStreamDeleteStream) error {
	h.endPublish("deleteStream")
	return nil
}

func (h *handler) endPublish(how string) {
	if h.pub == nil || h.ended {
		return
	}
	h.ended = true
	h.pub.Close()
	h.log.Info("publisher ended", "by", how)
}

func (h *handler) OnClose() {
	if h.playCancel != nil {
		h.playCancel()
		<-h.playDone
		h.log.Info("player disconnected")
	}
	if h.pub != nil && !h.ended {
		h.pub.Close()
		h.log.Info("publisher disconnected")
	}
}
