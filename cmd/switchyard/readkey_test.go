package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// probeKey runs ffprobe on a URL and returns the codecs it found, or its error
// output when it could not read the stream.
func probeKey(t *testing.T, url string) (codecs string, err error) {
	t.Helper()
	args := []string{"-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0"}
	if strings.HasPrefix(url, "rtsp") {
		args = append(args, "-rtsp_transport", "tcp")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffprobe", append(args, url)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return stderr.String(), err
	}
	return strings.Join(strings.Fields(string(out)), " "), nil
}

func withKey(url, key string) string {
	return strings.Replace(url, "rtsp://", "rtsp://viewer:"+key+"@", 1)
}

// TestReadKeys: with read_key set, watching needs it: RTSP readers give it
// as their password (DESCRIBE without it: 401 with a challenge), RTMP
// players as ?key=. A source's own read_key wins for its stream; the show's
// guards the program and every source without one. The keys come from the
// file, the environment and the API, and the API never shows them.
func TestReadKeys(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2", ReadKey: "cam2-key"})
	cfg.ReadKey = "show-key"
	a, logs := startApp(t, cfg)
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	pushRTMP(t, a, "cam2", "blue", "320x240", 30)
	waitLive(t, a, "cam1")
	waitLive(t, a, "cam2")

	cases := []struct {
		url  string
		want bool
	}{
		{a.rtspURL("program"), false},
		{withKey(a.rtspURL("program"), "guess-123"), false},
		{withKey(a.rtspURL("program"), "show-key"), true},
		{withKey(a.rtspURL("live/cam1"), "show-key"), true},
		{withKey(a.rtspURL("live/cam2"), "show-key"), false},
		{withKey(a.rtspURL("live/cam2"), "cam2-key"), true},
		{a.rtmpURL("program"), false},
		{a.rtmpURL("program?key=guess-123"), false},
		{a.rtmpURL("program?key=show-key"), true},
		{a.rtmpURL("cam2?key=show-key"), false},
		{a.rtmpURL("cam2?key=cam2-key"), true},
	}
	// The probes run side by side (four at a time): one after another,
	// each waiting for its connection and codecs, they took most of the test.
	type probed struct {
		out string
		err error
	}
	results := make([]probed, len(cases))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			out, err := probeKey(t, c.url) // bounded by its context
			results[i] = probed{out, err}
		}()
	}
	wg.Wait()
	for i, c := range cases {
		out, err := results[i].out, results[i].err
		if c.want {
			require.NoError(t, err, "%s: %s", c.url, out)
			require.Contains(t, out, "h264", c.url)
		} else {
			require.Error(t, err, "%s plays without its key: %s", c.url, out)
		}
	}
	// DESCRIBE without the key: 401 and a challenge, as for publishers
	req := "DESCRIBE " + a.rtspURL("program") + " RTSP/1.0\r\nCSeq: 1\r\n\r\n"
	conn, err := net.DialTimeout("tcp", a.rtsp.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = conn.Write([]byte(req))
	require.NoError(t, err)
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	require.NoError(t, err)
	require.Contains(t, string(buf[:n]), "RTSP/1.0 401")
	require.Contains(t, string(buf[:n]), "WWW-Authenticate: Digest")

	// basic credentials too, any user
	basic := "DESCRIBE " + a.rtspURL("program") + " RTSP/1.0\r\nCSeq: 2\r\nAuthorization: Basic " +
		base64.StdEncoding.EncodeToString([]byte("anyone:show-key")) + "\r\n\r\n"
	_, err = conn.Write([]byte(basic))
	require.NoError(t, err)
	n, err = conn.Read(buf)
	require.NoError(t, err)
	require.Contains(t, string(buf[:n]), "RTSP/1.0 200", "basic credentials with the read key")

	require.Contains(t, logs.String(), "read refused")
	require.Contains(t, logs.String(), "play refused")
	for _, k := range []string{"show-key", "cam2-key", "guess-123"} {
		require.NotContains(t, logs.String(), k, "a key in the log")
	}

	// The API takes a source's read_key and never shows it; show.json keeps it.
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam3","read_key":"cam3-key"}`, nil))
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/sources/cam1"), `{"read_key":"cam1-key"}`, nil))
	body := getText(t, a.apiURL("/sources"))
	require.NotContains(t, body, "cam3-key")
	require.NotContains(t, body, "read_key")
	show, err := os.ReadFile(filepath.Join(cfg.DataDir, "show.json"))
	require.NoError(t, err)
	require.Contains(t, string(show), `"read_key": "cam3-key"`)
	_, err = probeKey(t, withKey(a.rtspURL("live/cam1"), "show-key"))
	require.Error(t, err, "cam1's own key, set through the API, wins")
	out, err := probeKey(t, withKey(a.rtspURL("live/cam1"), "cam1-key"))
	require.NoError(t, err, out)

	// and from the environment and the file
	env, err := LoadConfig("", []string{"SWITCHYARD_READ_KEY=from-env"})
	require.NoError(t, err)
	require.Equal(t, "from-env", env.ReadKey)
	file, err := ParseConfig([]byte("read_key: show\nsources:\n  - { name: cam1, read_key: own }\n"))
	require.NoError(t, err)
	require.Equal(t, "show", file.ReadKey)
	require.Equal(t, "own", file.Sources[0].ReadKey)
}

// TestOpenReadingWarns: with no read_key, one warning at start when a
// media listener is on another address than loopback; none on loopback.
func TestOpenReadingWarns(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8554}
	any := &net.TCPAddr{IP: net.IPv6unspecified, Port: 1935}
	warnOpenReading(&Config{}, log, loop, loop)
	require.Empty(t, b.String())
	warnOpenReading(&Config{ReadKey: "k"}, log, loop, any)
	require.Empty(t, b.String())
	warnOpenReading(&Config{}, log, loop, any)
	require.Equal(t, 1, strings.Count(b.String(), "level=WARN"))
	require.Contains(t, b.String(), "no read_key")
	require.Contains(t, b.String(), "[::]:1935")
}
