package control

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/assets"
	"switchyard/internal/show"
	"switchyard/internal/testpeer"
	"switchyard/output/tally"
)

// testOwners are the fakes a test server drives.
type testOwners struct {
	mix      *fakeMixer
	sources  *fakeSources
	outputs  *fakeOutputs
	recorder *fakeRecorder
	tally    *tally.Sender
}

// newTestServer is a control server over fakes of a 320×240 mixer, the
// runtime sources (on a real registry), the outputs and the recorder, with
// an assets folder; change adjusts it before it starts.
func newTestServer(t testing.TB, logs io.Writer, change func(*Server)) *Server {
	t.Helper()
	s, _ := unstartedServer(t, logs)
	if change != nil {
		change(s)
	}
	require.NoError(t, s.Start())
	t.Cleanup(s.Close) // before the parts it uses
	return s
}

// unstartedServer is newTestServer's server before Start (its Handler
// serves without a listener), with its fakes.
func unstartedServer(t testing.TB, logs io.Writer) (*Server, *testOwners) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logs, nil))
	dir := t.TempDir()
	a, err := assets.Open(filepath.Join(dir, "assets"))
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	reg := ingest.NewRegistry(log)
	t.Cleanup(reg.Close) // after the server's Close
	o := &testOwners{mix: newFakeMixer(320, 240, a), outputs: &fakeOutputs{}, recorder: &fakeRecorder{dir: filepath.Join(dir, "recordings")}}
	o.sources = &fakeSources{reg: reg, mix: o.mix}
	o.tally = newTestTally(t, reg, o.mix)
	return &Server{Address: "127.0.0.1:0", Registry: reg, Sources: o.sources, Mixer: o.mix, Outputs: o.outputs, Recorder: o.recorder, Tally: o.tally,
		Players: &fakePlayers{}, Clips: fakeClips{},
		RecordDefaults: RecordDefaults{Program: true, ISO: true}, Format: Format{Width: 320, Height: 240, FPS: 30}, Store: show.NewStore(dir, log), Assets: a, Log: log}, o
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
	var logs testpeer.LogBuffer
	s, _ := unstartedServer(t, &logs)
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
