package control

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/protocols/srt"
)

// fakeSRT is an SRT listener with the connections it is given.
type fakeSRT struct{ conns []srt.Connection }

func (f *fakeSRT) Connections() []srt.Connection { return f.conns }

// TestSRTLinks: the SRT listener's connections are listed by the API
// (404 while SRT is off); an SRT source's link is in its status, in
// /metrics labelled by source, and on the event stream once a second;
// a source without a link has none of it.
func TestSRTLinks(t *testing.T) {
	off, _ := unstartedServer(t, io.Discard)
	runSteps(t, off.Handler(), []routeStep{
		{"GET", "/api/v1/srt/connections", "", 404, []string{`SRT is off: set srt.listen`}, ""},
	})

	since := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	fake := &fakeSRT{conns: []srt.Connection{{Remote: "203.0.113.7:40000", StreamID: "publish:cam1:****", Direction: "publish",
		Path: "live/cam1", Since: since, SRT: srt.Stats{RTTMs: 41, LatencyMs: 200, PacketsLost: 12}}}}
	s := newTestServer(t, io.Discard, func(s *Server) { s.SRT = fake })
	base := "http://" + s.Addr().String()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	require.JSONEq(t, `[{"remote":"203.0.113.7:40000","stream_id":"publish:cam1:****","direction":"publish","path":"live/cam1",
		"since":"2026-12-06T09:00:00Z","srt":{"rtt_ms":41,"latency_ms":200,"send_mbps":0,"recv_mbps":0,"packets_sent":0,
		"packets_received":0,"packets_lost":12,"packets_retransmitted":0,"packets_dropped":0}}]`, get("/api/v1/srt/connections"))

	reg := s.Registry.(*ingest.Registry)
	for _, name := range []string{"cam1", "cam2"} {
		_, err := reg.Add(ingest.SourceConfig{Name: name})
		require.NoError(t, err)
	}
	pub, err := reg.Publish("cam1", "", "srt")
	require.NoError(t, err)
	defer pub.Close()
	pub.SetLink(func() srt.Stats {
		return srt.Stats{RTTMs: 41.5, LatencyMs: 200, RecvMbps: 1.25, PacketsReceived: 1000, PacketsLost: 50, PacketsRetransmitted: 48, PacketsDropped: 2}
	})
	require.Contains(t, get("/api/v1/sources/cam1"), `"srt":{"rtt_ms":41.5,"latency_ms":200`)
	require.NotContains(t, get("/api/v1/sources/cam2"), `"srt"`)

	m := get("/metrics")
	for _, line := range []string{
		`switchyard_source_srt_rtt_seconds{source="cam1"} 0.0415`,
		`switchyard_source_srt_latency_seconds{source="cam1"} 0.2`,
		`switchyard_source_srt_recv_kbps{source="cam1"} 1250`,
		`switchyard_source_srt_packets_received_total{source="cam1"} 1000`,
		`switchyard_source_srt_packets_lost_total{source="cam1"} 50`,
		`switchyard_source_srt_packets_retransmitted_total{source="cam1"} 48`,
		`switchyard_source_srt_packets_dropped_total{source="cam1"} 2`,
		`# TYPE switchyard_source_srt_packets_dropped_total counter`,
		`# TYPE switchyard_source_srt_rtt_seconds gauge`,
	} {
		require.Contains(t, m, line+"\n")
	}
	require.NotContains(t, m, `_srt_rtt_seconds{source="cam2"}`, "no link, no link metrics")

	resp, err := http.Get(base + "/api/v1/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	links := make(chan string, 16)
	go func() {
		defer close(links)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		after := false
		for sc.Scan() {
			if after && strings.HasPrefix(sc.Text(), "data: ") {
				links <- strings.TrimPrefix(sc.Text(), "data: ")
			}
			after = sc.Text() == "event: links"
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-links:
			require.True(t, ok, "the event stream ended")
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no links event within 10 s (one is sent every second)")
			return ""
		}
	}
	require.JSONEq(t, `{"sources":{"cam1":{"rtt_ms":41.5,"latency_ms":200,"send_mbps":0,"recv_mbps":1.25,"packets_sent":0,
		"packets_received":1000,"packets_lost":50,"packets_retransmitted":48,"packets_dropped":2}},"outputs":{},"webrtc":{}}`, next())
	pub.Close() // the last link gone: one empty event says so, then none
	for i := 0; next() != `{"sources":{},"outputs":{},"webrtc":{}}`; i++ {
		require.Less(t, i, 2, "no empty links event after the last link went")
	}
	select {
	case l := <-links:
		t.Fatalf("a links event with no link to tell: %s", l)
	case <-time.After(2500 * time.Millisecond):
	}
}
