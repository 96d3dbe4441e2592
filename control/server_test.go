package control

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/ingest/gen"
	"switchyard/internal/assets"
	"switchyard/internal/fault"
	"switchyard/mixer"
	"switchyard/output/push"
)

// testSources is the runtime source set for control's own tests: the real
// registry and mixer inputs, with gen:// URLs validated (gen.New) but no
// generator or puller started — these tests drive the API, not media.
type testSources struct {
	mu     sync.Mutex
	reg    *ingest.Registry
	mix    *mixer.Engine
	assets *assets.Dir
}

func (ts *testSources) Add(cfg ingest.SourceConfig) (ingest.Status, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if cfg.Name == mixer.Black || cfg.Name == "master" {
		return ingest.Status{}, &fault.Invalid{Field: "name", Msg: "reserved"}
	}
	src, err := ts.reg.Add(cfg)
	if err != nil {
		return ingest.Status{}, err
	}
	if strings.HasPrefix(cfg.URL, "gen://") {
		if _, err := gen.New(gen.Config{Source: cfg.Name, URL: cfg.URL, Width: 320, Height: 240, FPSNum: 30, FPSDen: 1,
			Assets: ts.assets}, ts.reg, slog.New(slog.DiscardHandler)); err != nil {
			_ = ts.reg.Remove(cfg.Name)
			return ingest.Status{}, &fault.Invalid{Field: "url", Msg: err.Error()}
		}
	}
	if err := ts.mix.AddInput(cfg.Name, src.Stream(), time.Duration(cfg.JitterBufferMS)*time.Millisecond); err != nil {
		_ = ts.reg.Remove(cfg.Name)
		return ingest.Status{}, err
	}
	return src.Status(), nil
}

func (ts *testSources) Update(cfg ingest.SourceConfig) (ingest.Status, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	src, ok := ts.reg.Get(cfg.Name)
	if !ok {
		return ingest.Status{}, ingest.ErrUnknownSource
	}
	if err := cfg.Validate(); err != nil {
		return ingest.Status{}, err
	}
	if err := ts.mix.SetJitterBuffer(cfg.Name, time.Duration(cfg.JitterBufferMS)*time.Millisecond); err != nil {
		return ingest.Status{}, err
	}
	return src.Status(), ts.reg.Update(cfg)
}

func (ts *testSources) Remove(name string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if _, ok := ts.reg.Get(name); !ok {
		return ingest.ErrUnknownSource
	}
	ts.mix.RemoveInput(name)
	return ts.reg.Remove(name)
}

func (ts *testSources) Configs() []ingest.SourceConfig {
	var out []ingest.SourceConfig
	for _, s := range ts.reg.List() {
		out = append(out, s.Config())
	}
	return out
}

// newTestServer is a control server over a real (unstarted) 320×240 mixer,
// registry and output manager, with an assets folder; change adjusts it
// before it starts.
func newTestServer(t testing.TB, logs io.Writer, change func(*Server)) *Server {
	t.Helper()
	s := unstartedServer(t, logs)
	if change != nil {
		change(s)
	}
	require.NoError(t, s.Start())
	t.Cleanup(s.Close) // before the parts it uses
	return s
}

// unstartedServer is newTestServer's server before Start: its Handler
// serves without a listener.
func unstartedServer(t testing.TB, logs io.Writer) *Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logs, nil))
	dir := t.TempDir()
	a, err := assets.Open(filepath.Join(dir, "assets"))
	require.NoError(t, err)
	e, err := mixer.New(mixer.Config{Width: 320, Height: 240, FPSNum: 30, FPSDen: 1, VideoBitrateBPS: 500_000,
		AudioBitrateBPS: 128_000, Assets: a}, log)
	require.NoError(t, err)
	reg := ingest.NewRegistry(log)
	outs := push.NewManager(e.Program(), push.Options{Renditions: e, VideoBPS: 500_000, AudioBPS: 128_000}, log)
	t.Cleanup(func() {
		outs.Close()
		e.Close()
		a.Close()
	})
	return &Server{Address: "127.0.0.1:0", Registry: reg, Sources: &testSources{reg: reg, mix: e, assets: a}, Mixer: e,
		Outputs: outs, Store: NewStore(dir, log), Assets: a, Log: log}
}

// TestSlowClientsLetGo: a request trickled in is cut at ReadTimeout; an
// idle kept-alive connection at IdleTimeout.
func TestSlowClientsLetGo(t *testing.T) {
	s := newTestServer(t, io.Discard, func(s *Server) { s.ReadTimeout, s.IdleTimeout = time.Second, time.Second })
	closedWithin := func(conn net.Conn, within time.Duration) time.Duration {
		t.Helper()
		t0 := time.Now()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(within)))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server still holds the connection after %s", within)
		return time.Since(t0)
	}

	// a body sent one byte at a time, too slowly
	conn, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /api/v1/program HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { // keeps trickling until the server hangs up
		defer close(done)
		for range 20 {
			time.Sleep(300 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	took := closedWithin(conn, 10*time.Second)
	<-done
	t.Logf("trickled request cut after %s", took.Round(100*time.Millisecond))

	// an idle kept-alive connection
	conn2, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer conn2.Close()
	_, err = fmt.Fprintf(conn2, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, err)
	took = closedWithin(conn2, 10*time.Second)
	t.Logf("idle connection closed after %s", took.Round(100*time.Millisecond))
}

// TestPanicLoggedWithStack: a handler that panics answers 500 and the log
// says where, with the goroutine's stack.
func TestPanicLoggedWithStack(t *testing.T) {
	var logs syncBuffer
	s := unstartedServer(t, &logs)
	s.Log = s.Log.With("component", "control")
	h := s.Handler().(*gin.Engine)
	routeRoles["GET /boom"] = RolePublic
	defer delete(routeRoles, "GET /boom")
	h.GET("/boom", func(*gin.Context) { panic("kaboom") })
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/boom")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Contains(t, logs.String(), "handler panic")
	require.Contains(t, logs.String(), "kaboom")
	require.Contains(t, logs.String(), "goroutine ", "the stack")
	require.Contains(t, logs.String(), "server_test.go", "down to the handler")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
