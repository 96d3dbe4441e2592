package control

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
)

// TestReadiness: /healthz answers while /readyz says why the show is not
// ready — no program frame yet, the clock stalled, draining — and, once it
// drains, every change asked of the API is refused with 503 while reads go
// on. Neither probe needs a token, and neither writes a log line.
func TestReadiness(t *testing.T) {
	var logs bytes.Buffer
	s, o := unstartedServer(t, &logs)
	s.Token = "s3cret"
	s.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := s.Handler()
	get := func(path string) (int, Readiness) {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1"+path, nil))
		var r Readiness
		if path == "/readyz" {
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &r), w.Body.String())
		}
		return w.Code, r
	}
	setLast := func(at time.Time) {
		o.mix.mu.Lock()
		o.mix.stats.LastFrameAt = at
		o.mix.mu.Unlock()
	}

	code, _ := get("/healthz")
	require.Equal(t, http.StatusOK, code)
	code, r := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "program clock not started: no program frame yet", r.Reason)

	setLast(time.Now())
	code, r = get("/readyz")
	require.Equal(t, http.StatusOK, code, r.Reason)
	require.True(t, r.Ready)

	setLast(time.Now().Add(-3 * time.Second))
	code, r = get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, r.Reason, "program clock stalled: no program frame for 3")

	setLast(time.Now())
	change := func() (int, string) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "http://127.0.0.1/api/v1/cut", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer s3cret")
		h.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Body)
		return w.Code, string(b)
	}
	code, body := change()
	require.Equal(t, http.StatusOK, code, body)

	s.Drain()
	require.True(t, s.Draining())
	code, r = get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "draining: the show is shutting down", r.Reason)
	code, body = change()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"error":"draining: the show is shutting down"}`, body)
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://127.0.0.1/api/v1/state", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code, "reads go on while draining")

	require.Contains(t, logs.String(), "path=/api/v1/state", "requests are logged at debug")
	require.NotContains(t, logs.String(), "path=/readyz")
	require.NotContains(t, logs.String(), "path=/healthz")
}

// TestShowInfoMetric: /metrics names the show in one info series.
func TestShowInfoMetric(t *testing.T) {
	s, _ := unstartedServer(t, io.Discard)
	s.ShowName = "stage-a"
	h := s.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1/metrics", nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "switchyard_show_info{show=\"stage-a\"} 1\n")
}

// TestSourceBehindOffAirWarns: a live source whose decoder the mixer finds
// behind while off air says so in its status warning, after what ingest
// says of it; offline, it does not.
func TestSourceBehindOffAirWarns(t *testing.T) {
	s, o := unstartedServer(t, io.Discard)
	h := s.Handler()
	status := func() ingest.Status {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1/api/v1/sources/cam1", nil))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var st ingest.Status
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &st))
		return st
	}
	_, err := o.sources.Add(ingest.SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	o.mix.mu.Lock()
	o.mix.inputs["cam1"].behind = 700 * time.Millisecond
	o.mix.mu.Unlock()
	require.Empty(t, status().Warning, "offline")
	p, err := o.sources.reg.Publish("cam1", "", "rtmp")
	require.NoError(t, err)
	p.WriteUnit(&media.Unit{Track: &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, Width: 640, Height: 360, FPS: 25}, Key: true, Data: [][]byte{{0x65}}})
	p.SetWarning("an Opus track is ignored")
	st := status()
	require.Equal(t, ingest.StateLive, st.State)
	require.Equal(t, "an Opus track is ignored; off air its decoder is 700 ms behind its media: the machine is short of CPU for every source, "+
		"and a cut to it repeats its last picture until it catches up, skipping to its next key frame (fewer sources, or a GPU's decode)", st.Warning)
	p.Close()
	require.Empty(t, status().Warning, "offline again")
}
