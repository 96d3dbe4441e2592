package testpeer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"
)

// Camera stands in for an IP camera: an RTSP server (gortsplib) whose one
// stream, /stream, is fed by a publisher (ffmpeg pushing to PublishURL) and
// read by whoever pulls URL. With User set, readers must authenticate.
// Stop takes the camera off the network; Start brings it back on the same
// port (its feed must be published again).
type Camera struct {
	Port       int
	User, Pass string

	t      testing.TB
	mu     sync.Mutex
	srv    *gortsplib.Server
	stream *gortsplib.ServerStream
	pub    *gortsplib.ServerSession
}

// StartCamera starts a camera on a free loopback port.
func StartCamera(t testing.TB, user, pass string) *Camera {
	t.Helper()
	c := &Camera{Port: FreePort(t), User: user, Pass: pass, t: t}
	c.Start()
	t.Cleanup(c.Stop)
	return c
}

// URL is what a switcher pulls, with the credentials when set.
func (c *Camera) URL() string {
	if c.User != "" {
		return fmt.Sprintf("rtsp://%s:%s@127.0.0.1:%d/stream", c.User, c.Pass, c.Port)
	}
	return fmt.Sprintf("rtsp://127.0.0.1:%d/stream", c.Port)
}

// PublishURL is where the test's ffmpeg pushes the camera's picture.
func (c *Camera) PublishURL() string { return fmt.Sprintf("rtsp://127.0.0.1:%d/feed", c.Port) }

// Fed reports whether the feed is being published.
func (c *Camera) Fed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stream != nil
}

// Start (re)starts the server.
func (c *Camera) Start() {
	c.t.Helper()
	srv := &gortsplib.Server{Handler: &cameraHandler{c}, RTSPAddress: fmt.Sprintf("127.0.0.1:%d", c.Port)}
	if err := srv.Start(); err != nil {
		c.t.Fatalf("camera: %v", err)
	}
	c.mu.Lock()
	c.srv = srv
	c.mu.Unlock()
}

// Stop closes the server and every session.
func (c *Camera) Stop() {
	c.mu.Lock()
	srv, st := c.srv, c.stream
	c.srv, c.stream, c.pub = nil, nil, nil
	c.mu.Unlock()
	if st != nil {
		st.Close()
	}
	if srv != nil {
		srv.Close()
	}
}

type cameraHandler struct{ c *Camera }

func (h *cameraHandler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pub == ctx.Session { // the feed ended: so does the camera's stream
		c.stream.Close()
		c.stream, c.pub = nil, nil
	}
}

func (h *cameraHandler) readable(ctx *gortsplib.ServerHandlerOnDescribeCtx) error {
	c := h.c
	if c.User == "" {
		return nil
	}
	// VerifyCredentials also makes the nonce the 401's challenge carries
	if !ctx.Conn.VerifyCredentials(ctx.Request, c.User, c.Pass) {
		return liberrors.ErrServerAuth{}
	}
	return nil
}

func (h *cameraHandler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if err := h.readable(ctx); err != nil {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, err
	}
	h.c.mu.Lock()
	st := h.c.stream
	h.c.mu.Unlock()
	if st == nil || strings.Trim(ctx.Path, "/") != "stream" {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, errors.New("no feed")
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *cameraHandler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream != nil || strings.Trim(ctx.Path, "/") != "feed" {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("feed busy")
	}
	c.stream = &gortsplib.ServerStream{Server: c.srv, Desc: ctx.Description}
	if err := c.stream.Initialize(); err != nil {
		c.stream = nil
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	c.pub = ctx.Session
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *cameraHandler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	h.c.mu.Lock()
	st := h.c.stream
	h.c.mu.Unlock()
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, errors.New("no feed")
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *cameraHandler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *cameraHandler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	h.c.mu.Lock()
	st := h.c.stream
	h.c.mu.Unlock()
	ctx.Session.OnPacketRTPAny(func(m *description.Media, _ format.Format, pkt *rtp.Packet) {
		_ = st.WritePacketRTP(m, pkt)
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}
