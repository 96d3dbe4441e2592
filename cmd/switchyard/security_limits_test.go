package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/control"
	"switchyard/ingest"
)

// metric reads one sample from /metrics: name{labels} (labels as written,
// e.g. `limit="sources"`); -1 when it is not there.
func metric(t *testing.T, a *app, name, labels string) float64 {
	t.Helper()
	text := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+"{"+labels+"}") + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

// stalledClient sends a GET and then reads nothing, with a small receive
// buffer, as a client whose machine froze would.
func stalledClient(t *testing.T, a *app, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", a.http.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path)
	require.NoError(t, err)
	return conn
}

// requireClosedByServer: what the server sent is there to read, then the
// end — the server closed the connection (not a timeout of ours). It
// returns how many bytes there were: what was in flight when the client
// stalled.
func requireClosedByServer(t *testing.T, conn net.Conn) int64 {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	n, err := io.Copy(io.Discard, conn)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server still holds the connection: %v", err)
	return n
}

// TestStalledEventClientDropped: an event-stream client that stops reading
// is dropped once its write cannot go out within 10 s; without the write
// deadline its handler waited forever, holding the connection.
func TestStalledEventClientDropped(t *testing.T) {
	a, _ := startApp(t, testConfig(t))
	conn := stalledClient(t, a, "/api/v1/events")
	waitFor(t, 10*time.Second, "the stalled client connected", func() bool {
		return metric(t, a, "switchyard_limit_in_use", `limit="event_clients"`) == 1
	})
	// Large events: every keyer change sends every keyer (~160 KB here).
	text := strings.Repeat("x", 4000)
	for range 40 {
		require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/keyers"), `{"type":"text","text":"`+text+`"}`, nil))
	}
	deadline := time.Now().Add(90 * time.Second)
	changes := 0
	for metric(t, a, "switchyard_limit_in_use", `limit="event_clients"`) != 0 {
		require.True(t, time.Now().Before(deadline), "the stalled client is still served after %d large events", changes)
		require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/keyers/k1"), fmt.Sprintf(`{"z":%d}`, changes%100), nil))
		changes++
		time.Sleep(20 * time.Millisecond) // paced: the drop is timed by the write deadline, not by this loop
	}
	t.Logf("dropped after %d large events", changes)
	requireClosedByServer(t, conn)
	ch, _ := sseClient(t, a.apiURL("/events"), "")
	require.Equal(t, "state", next(t, ch, 5*time.Second, "state").typ, "other clients are served")
}

// TestStalledMultiviewViewerDropped: the same for the Motion JPEG wall;
// and a stalled viewer holds at most a few pictures in flight (the
// stream's send buffer is capped), so it is dropped soon after it stops
// reading, and a viewer on a slow link never sees pictures seconds old.
// With the kernel's autotuned send buffer it held megabytes.
func TestStalledMultiviewViewerDropped(t *testing.T) {
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"}))
	conn := stalledClient(t, a, "/multiview.mjpeg")
	waitFor(t, 10*time.Second, "the stalled viewer connected", func() bool {
		return metric(t, a, "switchyard_limit_in_use", `limit="multiview_viewers"`) == 1
	})
	waitFor(t, 90*time.Second, "the stalled viewer dropped", func() bool {
		return metric(t, a, "switchyard_limit_in_use", `limit="multiview_viewers"`) == 0
	})
	inFlight := requireClosedByServer(t, conn)
	t.Logf("%d bytes were in flight to the stalled viewer", inFlight)
	require.LessOrEqual(t, inFlight, int64(1<<20), "a stalled viewer held more than a few pictures")
}

// TestCapsRefuseClearly: event-stream clients (64), multiview viewers (8),
// generators (16) and sources (64) are capped; past a cap the request is
// refused with what to do, counted in /metrics, and the show goes on.
func TestCapsRefuseClearly(t *testing.T) {
	cfg := testConfig(t)
	cfg.Program.FPS = 5 // sixteen generators, lightly
	a, _ := startApp(t, cfg)
	var e control.APIError

	for range control.MaxEventClients {
		sseClient(t, a.apiURL("/events"), "")
	}
	resp, err := httpClient.Get(a.apiURL("/events"))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Contains(t, string(b), "64 event-stream clients are connected")
	require.Equal(t, 1.0, metric(t, a, "switchyard_limit_refused_total", `limit="event_clients"`))

	for range control.MaxMultiviewViewers {
		resp, err := (&http.Client{}).Get("http://" + a.http.Addr().String() + "/multiview.mjpeg")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		t.Cleanup(func() { resp.Body.Close() })
	}
	resp, err = httpClient.Get("http://" + a.http.Addr().String() + "/multiview.mjpeg")
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, string(b), "8 multiview viewers are watching")
	require.Equal(t, 1.0, metric(t, a, "switchyard_limit_refused_total", `limit="multiview_viewers"`))

	for i := range 16 {
		require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), fmt.Sprintf(`{"name":"g%d","url":"gen://color?c=red"}`, i), nil))
	}
	require.Equal(t, http.StatusConflict, api(t, "POST", a.apiURL("/sources"), `{"name":"g16","url":"gen://bars"}`, &e))
	require.Contains(t, e.Msg, "at most 16 generators")
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam"}`, nil))
	require.Equal(t, http.StatusConflict, api(t, "PATCH", a.apiURL("/sources/cam"), `{"url":"gen://bars"}`, &e), "nor by a change of URL")
	require.Equal(t, 2.0, metric(t, a, "switchyard_limit_refused_total", `limit="generators"`))
	require.Equal(t, 16.0, metric(t, a, "switchyard_limit_in_use", `limit="generators"`))

	for i := 17; i < ingest.MaxSources; i++ {
		require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), fmt.Sprintf(`{"name":"s%d"}`, i), nil))
	}
	require.Equal(t, http.StatusConflict, api(t, "POST", a.apiURL("/sources"), `{"name":"one-more"}`, &e))
	require.Contains(t, e.Msg, "at most 64 sources; remove one first")
	require.Equal(t, 1.0, metric(t, a, "switchyard_limit_refused_total", `limit="sources"`))
	require.Equal(t, 64.0, metric(t, a, "switchyard_limit_in_use", `limit="sources"`))
	require.Equal(t, 64.0, metric(t, a, "switchyard_limit_max", `limit="sources"`))
	f := a.mixer.Stats().FramesOut
	waitFor(t, 5*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut > f })
}

// TestOversizedHeadersRefused: request headers are bounded (431).
func TestOversizedHeadersRefused(t *testing.T) {
	a, _ := startApp(t, testConfig(t))
	req, err := http.NewRequest("GET", a.apiURL("/state"), nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 2*control.MaxHeaderBytes))
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", nil))
}

// TestStartRefusesAnOpenPublicAPI and the http.* keys: validated naming the
// key, from the file and from the environment.
func TestStartRefusesAnOpenPublicAPI(t *testing.T) {
	load := func(yaml string, env ...string) (*Config, error) {
		p := filepath.Join(t.TempDir(), "show.yaml")
		require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
		return LoadConfig(p, env)
	}
	_, err := load("http: {listen: ':8080'}")
	require.ErrorContains(t, err, `http.listen: ":8080" serves the control API beyond this machine with no token`)
	_, err = load("http: {listen: '192.168.1.10:8080'}")
	require.ErrorContains(t, err, "http.listen")
	_, err = load("", "SWITCHYARD_HTTP_LISTEN=0.0.0.0:8080")
	require.ErrorContains(t, err, "http.listen")
	for _, ok := range []string{"http: {listen: ':8080', insecure: true}", "http: {listen: ':8080', token: abc}",
		"http: {listen: ':8080', tokens: [{name: ops, token: abc, role: viewer}]}", "http: {listen: 'localhost:8080'}",
		"http: {listen: '[::1]:8080'}"} {
		_, err := load(ok)
		require.NoError(t, err, ok)
	}
	cfg, err := load("http: {listen: ':8080'}", "SWITCHYARD_HTTP_INSECURE=true", "SWITCHYARD_HTTP_HOSTS=studio.lan, mixer.lan",
		"SWITCHYARD_HTTP_ALLOWED_ORIGINS=[http://companion.lan:8000]", "SWITCHYARD_ASSETS_DIR=/srv/logos")
	require.NoError(t, err)
	require.Equal(t, []string{"studio.lan", "mixer.lan"}, cfg.HTTP.Hosts)
	require.Equal(t, []string{"http://companion.lan:8000"}, cfg.HTTP.AllowedOrigins)
	require.Equal(t, "/srv/logos", cfg.assetsPath())

	for _, c := range []struct{ yaml, env, want string }{
		{"http: {tokens: [{name: ops, token: abc, role: root}]}", "", "http.tokens[0].role"},
		{"http: {tokens: [{name: Ops, token: abc, role: admin}]}", "", "http.tokens[0].name"},
		{"http: {tokens: [{name: ops, token: '', role: admin}]}", "", "http.tokens[0].token"},
		{"http: {token: abc, tokens: [{name: admin, token: def, role: admin}]}", "", "http.tokens[0].name"},
		{"http: {tokens: [{name: a, token: abc, role: admin}, {name: b, token: abc, role: viewer}]}", "", "http.tokens[1].token"},
		{"http: {hosts: ['http://x']}", "", "http.hosts[0]"},
		{"http: {allowed_origins: ['companion.lan']}", "", "http.allowed_origins[0]"},
		{"http: {allowed_origins: ['http://c.lan/panel']}", "", "http.allowed_origins[0]"},
		{"program: {video_bitrate: 9000000M}", "", "bitrate"},
		{"program: {video_bitrate: NaN}", "", "bitrate"},
		{"record: {min_free_mb: 99999999999}", "", "record.min_free_mb"},
		{"", "SWITCHYARD_HTTP_TOKENS=[{name: a, token: b, role: admin}]", "SWITCHYARD_HTTP_TOKENS: a list of entries: set it in the config file"},
		{"", "SWITCHYARD_SOURCES=x", "SWITCHYARD_SOURCES: a list of entries"},
	} {
		var env []string
		if c.env != "" {
			env = []string{c.env}
		}
		_, err := load(c.yaml, env...)
		require.ErrorContains(t, err, c.want, "%s %s", c.yaml, c.env)
	}

	var many, gens strings.Builder
	many.WriteString("sources:\n")
	gens.WriteString("sources:\n")
	for i := range ingest.MaxSources + 1 {
		fmt.Fprintf(&many, "  - {name: s%d}\n", i)
	}
	for i := range 17 {
		fmt.Fprintf(&gens, "  - {name: g%d, url: 'gen://bars'}\n", i)
	}
	_, err = load(many.String())
	require.ErrorContains(t, err, "sources: lists 65 sources; a show has at most 64")
	_, err = load(gens.String())
	require.ErrorContains(t, err, "sources[16].url: a show runs at most 16 generators")
}
