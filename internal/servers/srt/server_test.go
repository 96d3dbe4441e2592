package srt

import (
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/media"
	"switchyard/output/serve"
)

type logBuf = testpeer.LogBuffer

func startServer(t *testing.T, s *Server, sources ...ingest.SourceConfig) (*Server, *ingest.Registry, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	reg := ingest.NewRegistry(log)
	for _, c := range sources {
		_, err := reg.Add(c)
		require.NoError(t, err)
	}
	s.Address, s.Registry, s.Log = "127.0.0.1:0", reg, log
	if s.Paths == nil {
		s.Paths = serve.NewTable()
	}
	require.NoError(t, s.Start())
	t.Cleanup(s.Close)
	return s, reg, logs
}

func dial(t *testing.T, s *Server, streamID string) (gosrt.Conn, error) {
	cfg := gosrt.DefaultConfig()
	cfg.StreamId = streamID
	c, err := gosrt.Dial("srt", s.Addr().String(), cfg)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSilentPublisherCut: a publisher that connects and sends nothing
// (SRT's keep-alives hold its connection) is cut after ReadTimeout and its
// source goes offline; one that never sends a program map likewise.
func TestSilentPublisherCut(t *testing.T) {
	s, reg, logs := startServer(t, &Server{ReadTimeout: 500 * time.Millisecond}, ingest.SourceConfig{Name: "cam1"})
	_, err := dial(t, s, "publish:cam1")
	require.NoError(t, err)
	src, _ := reg.Get("cam1")
	waitFor(t, 5*time.Second, "cam1 claimed", func() bool { return src.Status().State == ingest.StateConnecting })
	waitFor(t, 10*time.Second, "the silent publisher cut", func() bool { return src.Status().State == ingest.StateOffline })
	require.Contains(t, logs.String(), `msg="publisher cut: no data"`)
}

// TestCloseLeavesNothing: Close ends publishers and readers and leaves no
// goroutine behind; a second Close is harmless.
func TestCloseLeavesNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	reg := ingest.NewRegistry(log)
	_, err := reg.Add(ingest.SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	paths := serve.NewTable()
	prog := media.NewStream()
	require.NoError(t, paths.Add("program", prog))
	s := &Server{Address: "127.0.0.1:0", Registry: reg, Paths: paths, Log: log}
	require.NoError(t, s.Start())

	cfg := gosrt.DefaultConfig()
	cfg.StreamId = "publish:cam1"
	pub, err := gosrt.Dial("srt", s.Addr().String(), cfg)
	require.NoError(t, err)
	cfg.StreamId = "read:program"
	rd, err := gosrt.Dial("srt", s.Addr().String(), cfg)
	require.NoError(t, err)
	p, _ := paths.Get("program")
	waitFor(t, 5*time.Second, "the reader watching", func() bool { return p.Watchers() == 1 })

	s.Close()
	s.Close()
	require.Zero(t, p.Watchers())
	src, _ := reg.Get("cam1")
	require.Equal(t, ingest.StateOffline, src.Status().State)
	_ = pub.Close()
	_ = rd.Close()
	prog.Close()
}

// TestPassphraseLength: the listener refuses to start with a passphrase
// SRT cannot take, and says why without showing it.
func TestPassphraseLength(t *testing.T) {
	for _, p := range []string{"short", strings.Repeat("p", 80)} {
		s := &Server{Address: "127.0.0.1:0", Passphrase: p, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		err := s.Start()
		require.ErrorContains(t, err, "SRT takes 10 to 79")
		require.NotContains(t, err.Error(), p)
		s.Close()
	}
}

// TestConnectionsAndLinks: the listener lists its publishers and readers
// (stream id with the key masked, direction, path, its link), a
// publisher's link shows in its source's status, and both go when the
// connections end.
func TestConnectionsAndLinks(t *testing.T) {
	paths := serve.NewTable()
	prog := media.NewStream()
	defer prog.Close()
	require.NoError(t, paths.Add("program", prog))
	s, reg, _ := startServer(t, &Server{Paths: paths, Latency: 250 * time.Millisecond},
		ingest.SourceConfig{Name: "cam1", PublishKey: "cam1-secret"})
	src, _ := reg.Get("cam1")
	require.Nil(t, src.Status().SRT)
	require.Empty(t, s.Connections())

	pub, err := dial(t, s, "#!::r=cam1,m=publish,s=cam1-secret")
	require.NoError(t, err)
	rd, err := dial(t, s, "read:program")
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "two connections listed", func() bool { return len(s.Connections()) == 2 })
	waitFor(t, 5*time.Second, "cam1's link in its status", func() bool { return src.Status().SRT != nil })
	require.Equal(t, uint64(250), src.Status().SRT.LatencyMs, "the negotiated latency: the larger of both sides'")

	byDir := map[string]int{}
	for _, c := range s.Connections() {
		byDir[c.Direction]++
		require.NotContains(t, c.StreamID, "cam1-secret")
		require.NotEmpty(t, c.Remote)
		require.False(t, c.Since.IsZero())
		require.Equal(t, uint64(250), c.SRT.LatencyMs)
		switch c.Direction {
		case "publish":
			require.Equal(t, "publish:cam1:****", c.StreamID)
			require.Equal(t, "live/cam1", c.Path)
			require.Equal(t, pub.LocalAddr().String(), c.Remote)
		case "read":
			require.Equal(t, "read:program", c.StreamID)
			require.Equal(t, "program", c.Path)
			require.Equal(t, rd.LocalAddr().String(), c.Remote)
		}
	}
	require.Equal(t, map[string]int{"publish": 1, "read": 1}, byDir)

	_ = pub.Close()
	_ = rd.Close()
	waitFor(t, 10*time.Second, "the connections gone", func() bool { return len(s.Connections()) == 0 })
	waitFor(t, 5*time.Second, "cam1 offline", func() bool { return src.Status().State == ingest.StateOffline })
	require.Nil(t, src.Status().SRT, "no link once the publisher is gone")
}

// TestDrainRefusesPublishers: once the registry drains, a new SRT
// publisher is rejected as a service going down (1503, REJX_DOWN), with
// the reason in the log; before, the same publisher is taken.
func TestDrainRefusesPublishers(t *testing.T) {
	s, reg, logs := startServer(t, &Server{}, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2"})
	c, err := dial(t, s, "publish:cam1")
	require.NoError(t, err)
	reg.Drain()
	_, err = dial(t, s, "publish:cam2")
	require.Error(t, err)
	// gosrt names the reason's code in base 32: 1503 is "1ev"
	require.Contains(t, err.Error(), "("+strconv.FormatInt(int64(gosrt.REJX_DOWN), 32)+")")
	require.Contains(t, logs.String(), "draining: the show is shutting down")
	src, _ := reg.Get("cam1")
	require.Equal(t, ingest.StateConnecting, src.Status().State, "the publisher already on goes on")
	_ = c.Close()
}
