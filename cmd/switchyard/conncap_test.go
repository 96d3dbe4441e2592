package main

import (
	"io"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestMediaConnectionCaps: RTSP and RTMP each hold at most max_connections
// open; one more is closed at once, counted in /metrics and logged, and a
// camera that was already live streams on.
func TestMediaConnectionCaps(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"})
	cfg.RTMP.MaxConnections, cfg.RTSP.MaxConnections = 3, 3
	a, logs := startApp(t, cfg)
	pushRTMP(t, a, "cam1", "red", "320x240", 30) // one of RTMP's three
	waitLive(t, a, "cam1")
	before := sourceStatus(t, a, "cam1")
	frames := a.mixer.Stats().FramesOut

	dial := func(addr string) net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closed reports whether the server closed c within d (a read that
	// times out: still open).
	closed := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		return err == io.EOF || err != nil
	}
	refused := func(proto string) string {
		m := regexp.MustCompile(`switchyard_media_connections_refused_total\{protocol="` + proto + `"\} (\d+)`).
			FindStringSubmatch(getText(t, "http://"+a.http.Addr().String()+"/metrics"))
		require.NotNil(t, m, "no refused counter for %s", proto)
		return m[1]
	}
	require.Equal(t, "0", refused("rtmp"))
	require.Equal(t, "0", refused("rtsp"))

	for _, c := range []struct {
		proto, addr string
		held        int
	}{{"rtmp", a.rtmp.Addr().String(), 2}, {"rtsp", a.rtsp.Addr().String(), 3}} {
		var open []net.Conn
		for range c.held {
			open = append(open, dial(c.addr))
		}
		for _, o := range open {
			require.False(t, closed(o, 200*time.Millisecond), "%s: a connection under the cap is open", c.proto)
		}
		require.True(t, closed(dial(c.addr), 5*time.Second), "%s: the connection over the cap is closed", c.proto)
		require.Equal(t, "1", refused(c.proto))
		for _, o := range open {
			o.Close()
		}
	}
	require.Contains(t, logs.String(), "connections refused")

	// the show goes on
	after := sourceStatus(t, a, "cam1")
	require.Equal(t, ingest.StateLive, after.State)
	require.Equal(t, before.Sessions, after.Sessions, "the camera was never dropped")
	waitFor(t, 10*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut > frames+30 })
}

func TestMaxConnectionsConfig(t *testing.T) {
	cfg, err := LoadConfig("", []string{"SWITCHYARD_RTMP_MAX_CONNECTIONS=10", "SWITCHYARD_RTSP_MAX_CONNECTIONS=20"})
	require.NoError(t, err)
	require.Equal(t, 10, cfg.RTMP.MaxConnections)
	require.Equal(t, 20, cfg.RTSP.MaxConnections)
	cfg, err = LoadConfig("", nil)
	require.NoError(t, err)
	require.Equal(t, 256, cfg.RTMP.MaxConnections)
	require.Equal(t, 256, cfg.RTSP.MaxConnections)
	_, err = loadYAML(t, "rtsp: {max_connections: 0}")
	require.ErrorContains(t, err, "rtsp.max_connections")
	_, err = loadYAML(t, "rtmp: {max_connections: -1}")
	require.ErrorContains(t, err, "rtmp.max_connections")
}

// loadYAML parses and validates a show given as text.
func loadYAML(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	cfg, err := ParseConfig([]byte(yaml))
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}
