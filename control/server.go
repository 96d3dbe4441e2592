// Package control is Switchyard's control surface: the REST API under
// /api/v1, /healthz, and (later) events, metrics and the panel. It drives the
// other parts only through their exported methods.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchyard/ingest"
	"switchyard/internal/assets"
	"switchyard/internal/macro"
	"switchyard/internal/show"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
	"switchyard/mixer/keyer"
	"switchyard/output/push"
	"switchyard/output/record"
)

// Server is the HTTP control server.
type Server struct {
	// Address to listen on, e.g. "127.0.0.1:8080".
	Address  string
	Registry Registry
	// Sources changes the sources at runtime; nil leaves them as configured.
	Sources Sources
	// Players and Clips: clip sources' transport and the clips folder
	// (docs/clips.md); nil serves neither.
	Players Players
	Clips   ClipLibrary
	Mixer   Mixer
	// Outputs and Recorder may be nil: no outputs routes, no recording routes.
	Outputs  Outputs
	Recorder Recorder
	// Tally, when set, serves GET /api/v1/tally, the web tally page
	// /tally/{source} and the event stream's "tally".
	Tally Tally
	// Format is the program's size and rate (for the state).
	Format Format
	// RecordDefaults fill what a recording start request leaves out.
	RecordDefaults RecordDefaults
	// Store keeps runtime changes in show.json; nil keeps nothing.
	Store *show.Store
	// Assets is the folder keyer images are uploaded to.
	Assets *assets.Dir
	// Token, when set, is an admin token named "admin" (http.token).
	Token string
	// Tokens are the API's credentials, each with a role (http.tokens);
	// with none (and no Token), the API is open to whoever reaches it.
	Tokens []Token
	// Hosts are Host names a loopback listener answers to besides
	// 127.0.0.1, localhost and [::1] (http.hosts).
	Hosts []string
	// AllowedOrigins may change the show from their pages besides the
	// panel's own origin, e.g. "http://companion.local:8000" (http.allowed_origins).
	AllowedOrigins []string
	// ReadTimeout, IdleTimeout and WriteTimeout default to the constants
	// of the same names.
	ReadTimeout, IdleTimeout, WriteTimeout time.Duration
	Log                                    *slog.Logger
	// MediaRefused reports the media connections refused over each
	// protocol's cap, by protocol (for /metrics); nil reports none.
	MediaRefused func() map[string]uint64
	// SRT is the SRT listener, for its connections; nil when SRT is off.
	SRT SRTListener
	// Macros are the macros the show starts with (the show file's, with
	// show.json's on top); the API changes them from there.
	Macros []macro.Macro
	// Replay is the instant replay (POST /replay, mark-in/out, GET
	// /replays); nil: those routes answer that replay is off.
	Replay Replay
	// WebRTC is the WHIP ingest at /whip/ and the guest page /guest/; nil
	// serves neither (webrtc.udp empty).
	WebRTC WebRTC
	// HLS is the LL-HLS origin at /hls/ and its /watch page; nil serves neither.
	HLS HLS
	// ShowName is the show's name (show.name): /metrics carries it in
	// switchyard_show_info{show="…"}.
	ShowName string

	ln      net.Listener
	http    *http.Server
	done    chan struct{}
	metrics *metrics
	events  *hub
	watch   *watcher
	ctx     context.Context
	cancel  context.CancelFunc
	watched chan struct{}
	routes  []gin.RouteInfo
	auth    *auth
	// draining is set by Drain: readiness off, changes refused.
	draining atomic.Bool
	// loopback is set when the listener is on a loopback address: only
	// loopback names (and Hosts) are served then; listenIP is its address.
	loopback bool
	listenIP string
	limits   *limits
	macros   *macroSet
	engine   *gin.Engine // what a macro's steps are served by
}

// HTTP server limits: a client gets this long to send its request
// headers, its whole request, and between requests on a kept-alive
// connection; request headers are at most MaxHeaderBytes.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 64 << 10
	// WriteTimeout bounds each write of an event or a multiview picture: a
	// client that stops reading is dropped when its write cannot go out
	// within it.
	WriteTimeout = 10 * time.Second
)

// Start listens and serves in the background.
func (s *Server) Start() error {
	s.Log = s.Log.With("component", "control")
	ln, err := net.Listen("tcp", s.Address)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", s.Address, err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: min(ReadHeaderTimeout, s.ReadTimeout), ReadTimeout: s.ReadTimeout,
		IdleTimeout: s.IdleTimeout, MaxHeaderBytes: MaxHeaderBytes, ConnContext: withConn}
	s.done = make(chan struct{})
	s.watched = make(chan struct{})
	s.watch.listen()
	go s.watch.run(s.ctx, s.watched)
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error("http server stopped", "err", err)
		}
	}()
	s.Log.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close shuts the server down, waiting up to 5s for requests in flight.
func (s *Server) Close() {
	if s.http == nil {
		return
	}
	s.cancel() // ends event streams, which Shutdown would otherwise wait for
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	<-s.done
	<-s.watched
	s.macros.wg.Wait() // runs end at their next step or wait
}

// Handler builds the routes.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	s.metrics = newMetrics(s)
	s.events = newHub(4096, historyBytes)
	s.watch = &watcher{s: s, sources: map[string]sourceEvent{}, outputs: map[string]outputEvent{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&s.ReadTimeout, ReadTimeout}, {&s.IdleTimeout, IdleTimeout}, {&s.WriteTimeout, WriteTimeout}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	tokens := s.Tokens
	if s.Token != "" {
		tokens = append([]Token{{Name: "admin", Secret: s.Token, Role: RoleAdmin}}, tokens...)
	}
	s.auth = newAuth(tokens)
	s.limits = newLimits()
	s.loadMacros()
	if s.ln != nil {
		if a, ok := s.ln.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
			s.loopback, s.listenIP = true, a.IP.String()
		}
	}
	r := gin.New()
	r.Use(s.logRequests, gin.CustomRecovery(func(c *gin.Context, v any) {
		s.Log.Error("handler panic", "panic", v, "method", c.Request.Method, "path", c.Request.URL.Path, "stack", string(debug.Stack()))
		fail(c, fmt.Errorf("internal error"))
	}), s.guard, s.refuseWhileDraining, s.authorize, s.requireBodyType)
	r.NoRoute(func(c *gin.Context) { fail(c, notFound("no route %s %s", c.Request.Method, c.Request.URL.Path)) })
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	files := s.panelRoutes(r)
	s.hlsRoutes(r, files)
	s.webrtcRoutes(r, files)
	r.GET("/multiview.mjpeg", s.multiview)
	api := r.Group("/api/v1")
	s.sessionRoutes(api)
	api.GET("/openapi.json", s.openAPI)
	api.GET("/state", s.getState)
	api.GET("/events", s.getEvents)
	s.sourceRoutes(api)
	s.clipRoutes(api)
	api.POST("/program", s.setBus(s.Mixer.SetProgram))
	api.POST("/preview", s.setBus(s.Mixer.SetPreview))
	api.POST("/cut", s.cut)
	api.POST("/auto", s.auto)
	api.PUT("/transition", s.putTransition)
	api.POST("/transition/position", s.transitionPosition)
	api.POST("/ftb", s.fadeToBlack)
	s.audioRoutes(api)
	s.keyerRoutes(api)
	s.outputRoutes(api)
	s.tallyRoutes(r, api)
	api.GET("/srt/connections", s.getSRTConnections)
	if s.Recorder != nil {
		s.recordingRoutes(api)
	}
	s.macroRoutes(api)
	s.replayRoutes(api)
	s.routes = r.Routes()
	s.engine = r
	return r
}

// Routes lists the registered routes (for the OpenAPI test).
func (s *Server) Routes() []gin.RouteInfo { return s.routes }

// logRequests counts every request, logs it at debug (errors at error), and
// writes an audit line for every change asked of the API, made or
// refused: who (the token's name), method, route, status.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	s.metrics.request(route, c.Writer.Status())
	if lim, ok := c.Get(limitKey); ok {
		s.metrics.refused(lim.(string))
	}
	lvl := slog.LevelDebug
	if c.Writer.Status() == http.StatusInternalServerError { // a 503 (no picture yet, busy) is routine
		lvl = slog.LevelError
	}
	if !probeRoutes[route] {
		s.Log.Log(c.Request.Context(), lvl, "request", "method", c.Request.Method, "path", route,
			"status", c.Writer.Status(), "ms", time.Since(start).Milliseconds())
	}
	if changes(c.Request.Method) {
		who := "anonymous"
		if v, ok := c.Get(whoKey); ok {
			who = v.(string)
		}
		if route == "" {
			route = "unmatched"
		}
		s.Log.Info("audit", "who", who, "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"remote", c.Request.RemoteAddr)
	}
}

// State is the whole show for GET /api/v1/state.
type State struct {
	Program    string              `json:"program"`
	Preview    string              `json:"preview"`
	Transition bus.TransitionState `json:"transition"`
	FTB        bool                `json:"ftb"`
	Audio      audio.State         `json:"audio"`
	Keyers     []keyer.Status      `json:"keyers"`
	Recording  *record.Info        `json:"recording,omitempty"` // the running session
	Sources    []ingest.Status     `json:"sources"`
	Outputs    []push.Status       `json:"outputs"`
	Mixer      clock.Stats         `json:"mixer"`
	Format     Format              `json:"format"`
	Macros     []MacroStatus       `json:"macros"`
}

// Format is the program format.
type Format struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
}

func (s *Server) sources() []ingest.Status {
	list := s.Registry.List()
	out := make([]ingest.Status, 0, len(list))
	for _, src := range list {
		out = append(out, s.sourceStatus(src))
	}
	return out
}

// sourceStatus is the registry's view of a source plus the mixer's.
func (s *Server) sourceStatus(src *ingest.Source) ingest.Status {
	st := src.Status()
	ms := s.Mixer.SourceStats(st.Name)
	st.DecodeErrors, st.AudioLateS, st.PicturesLate, st.PicturesSkipped = ms.DecodeErrors, ms.SoundLate.Seconds(), ms.PicturesLate, ms.PicturesSkipped
	st.JitterBufferMS = int(ms.JitterBuffer / time.Millisecond)
	if st.State == ingest.StateLive {
		// the mixer's windows move with the source's media: a source that
		// sends nothing (stale, offline) had nothing in them lately, and
		// its last figures would read as now
		st.TransitJitterMS = float64(ms.Transit.Microseconds()) / 1000
		st.DecodeWaitMS = float64(ms.DecodeWait.Microseconds()) / 1000
		if ms.BehindOffAir > 0 {
			behind := fmt.Sprintf("off air its decoder is %d ms behind its media: the machine is short of CPU for every source, "+
				"and a cut to it repeats its last picture until it catches up, skipping to its next key frame (fewer sources, or a GPU's decode)", ms.BehindOffAir.Milliseconds())
			st.Warning = strings.TrimPrefix(st.Warning+"; "+behind, "; ")
		}
	}
	st.JitterBufferAuto, st.JitterNeedMS = ms.JitterAuto, float64(ms.JitterNeed.Microseconds())/1000
	return st
}

func (s *Server) state() State {
	buses := s.Mixer.State()
	st := State{Program: buses.Program, Preview: buses.Preview, Transition: buses.Transition, FTB: buses.FTB, Audio: s.Mixer.Audio(), Keyers: s.Mixer.Keyers(),
		Sources: s.sources(), Mixer: s.Mixer.Stats(), Format: s.Format,
		Macros: s.macros.statuses()}
	if s.Recorder != nil {
		if in, ok := s.Recorder.Active(); ok {
			st.Recording = &in
		}
	}
	if s.Outputs != nil {
		st.Outputs = s.Outputs.List()
	}
	return st
}

func (s *Server) getState(c *gin.Context) { c.JSON(http.StatusOK, s.state()) }

func (s *Server) listSources(c *gin.Context) {
	c.JSON(http.StatusOK, s.sources())
}

func (s *Server) getSource(c *gin.Context) {
	src, ok := s.Registry.Get(c.Param("name"))
	if !ok {
		fail(c, notFound("no source named %q", c.Param("name")))
		return
	}
	c.JSON(http.StatusOK, s.sourceStatus(src))
}

type busRequest struct {
	Source *string `json:"source"`
}

func (s *Server) setBus(set func(string) (bus.State, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req busRequest
		if err := bind(c, &req); err != nil {
			fail(c, err)
			return
		}
		if req.Source == nil || *req.Source == "" {
			fail(c, badRequest("source", `field "source" is required: a source name or "black"`))
			return
		}
		st, err := set(*req.Source)
		if err != nil {
			fail(c, notFound("no source named %q", *req.Source))
			return
		}
		s.watch.busesChanged()
		c.JSON(http.StatusOK, st)
	}
}

// bindOptional decodes a body that may be empty.
func bindOptional(c *gin.Context, v any) error {
	if c.Request.ContentLength == 0 {
		return nil
	}
	return bind(c, v)
}

func (s *Server) auto(c *gin.Context) {
	var t bus.Transition
	if err := bindOptional(c, &t); err != nil {
		fail(c, err)
		return
	}
	st, err := s.Mixer.Auto(t)
	if err != nil {
		fail(c, err)
		return
	}
	s.watch.busesChanged()
	c.JSON(http.StatusOK, st)
}

func (s *Server) putTransition(c *gin.Context) {
	var t bus.Transition
	if err := bind(c, &t); err != nil {
		fail(c, err)
		return
	}
	st, err := s.Mixer.SetTransition(t)
	if err != nil {
		fail(c, err)
		return
	}
	s.saveShow()
	s.watch.busesChanged()
	c.JSON(http.StatusOK, st)
}

func (s *Server) transitionPosition(c *gin.Context) {
	var req struct {
		Position *float64 `json:"position"`
	}
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if req.Position == nil {
		fail(c, badRequest("position", `field "position" is required: 0..1`))
		return
	}
	st, err := s.Mixer.SetPosition(*req.Position)
	if err != nil {
		fail(c, err)
		return
	}
	s.watch.busesChanged()
	c.JSON(http.StatusOK, st)
}

func (s *Server) fadeToBlack(c *gin.Context) {
	st := s.Mixer.FTB()
	s.watch.busesChanged()
	c.JSON(http.StatusOK, st)
}

func (s *Server) cut(c *gin.Context) {
	st := s.Mixer.Cut()
	s.watch.busesChanged()
	c.JSON(http.StatusOK, st)
}
