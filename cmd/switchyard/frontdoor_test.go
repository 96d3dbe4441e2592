package main

// The front door: what the README and the show file promise, tried as a new
// user tries it — from a show file on disk, through the environment, by
// running the binary — and never printing a credential.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
)

// writeShow writes a show file into a fresh folder and returns its path.
func writeShow(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "show.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	return p
}

// loopbackShow is the start of a show file on loopback ports chosen by the
// kernel, small and quick, with its data in a fresh folder.
func loopbackShow(t *testing.T) string { return loopbackShowIn(t.TempDir()) }

// loopbackShowIn is loopbackShow with its data in dataDir.
func loopbackShowIn(dataDir string) string {
	return fmt.Sprintf(`http: { listen: "127.0.0.1:0" }
rtmp: { listen: "127.0.0.1:0" }
rtsp: { listen: "127.0.0.1:0" }
srt: { listen: "127.0.0.1:0" }
program: { width: 320, height: 240, fps: 30, video_bitrate: 600k, audio_bitrate: 96k, keyint: 1s }
data_dir: %q
`, dataDir)
}

// startFromFile loads a show file through the config loader, as the binary
// does, and starts it.
func startFromFile(t *testing.T, yaml string) (*app, *logBuf) {
	t.Helper()
	cfg, err := LoadConfig(writeShow(t, yaml), nil)
	require.NoError(t, err)
	return startApp(t, cfg)
}

// Pulled cameras in the show file start, as the same source added through
// the API does, and their credentials appear nowhere: not in the log, the
// API's answers, the event stream or the metrics.
func TestShowFilePulls(t *testing.T) {
	mustHaveTools(t)
	studio, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	pushRTMP(t, studio, "cam1", "red", "320x240", 30)
	waitLive(t, studio, "cam1")

	const password, key = "s3cretPassw0rd", "hunter2key"
	a, logs := startFromFile(t, loopbackShow(t)+fmt.Sprintf(`sources:
  - { name: ipcam, url: "rtsp://admin:%s@%s/live/cam1" }
  - { name: ipcam2, url: "rtsp://admin:%s@%s/live/cam1", transport: tcp }
  - { name: relay, url: "rtmp://%s/live/cam1?key=%s" }
  - { name: tls, url: "rtsps://admin:%s@127.0.0.1:1/stream1" }
  - { name: tlsfeed, url: "rtmps://127.0.0.1:1/app/%s" }
`, password, studio.rtsp.Addr(), password, studio.rtsp.Addr(), studio.rtmp.Addr(), key, password, key))
	for _, name := range []string{"ipcam", "ipcam2", "relay"} {
		st := waitLive(t, a, name)
		require.NotNil(t, st.Video, name)
	}
	waitState(t, a, "tls", 20*time.Second, ingest.StateRetrying)
	waitState(t, a, "tlsfeed", 20*time.Second, ingest.StateRetrying)

	var seen strings.Builder
	for _, path := range []string{"/state", "/sources", "/sources/ipcam", "/sources/tls", "/sources/tlsfeed"} {
		seen.WriteString(getText(t, a.apiURL(path)))
	}
	seen.WriteString(getText(t, "http://"+a.http.Addr().String()+"/metrics"))
	seen.WriteString(readEvents(t, a, 2*time.Second))
	seen.WriteString(logs.String())
	for _, secret := range []string{password, key} {
		require.NotContains(t, seen.String(), secret, "a credential leaked")
	}
	require.Contains(t, getText(t, a.apiURL("/sources/ipcam")), `rtsp://****@`, "the URL is shown, masked")
}

// readEvents reads the event stream for a while and returns what came.
func readEvents(t *testing.T, a *app, within time.Duration) string {
	t.Helper()
	c := &http.Client{Timeout: within}
	resp, err := c.Get(a.apiURL("/events"))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body) // ends at the client's timeout
	return string(b)
}

// A bad URL in the show file is refused with the key at fault, and the
// refusal does not print the password in it.
func TestConfigRefusalsNameTheKeyAndHideSecrets(t *testing.T) {
	for _, c := range []struct{ name, yaml, key string }{
		{"pull without host", `sources: [{ name: cam3, url: "rtsp://admin:s3cretPassw0rd@/stream1" }]`, "sources[0].url"},
		{"rtmp pull without stream", `sources: [{ name: cam3, url: "rtmp://u:s3cretPassw0rd@host/live" }]`, "sources[0].url"},
		{"unparsable", `sources: [{ name: cam3, url: "rtsp://admin:s3cretPassw0rd@host:port:x/" }]`, "sources[0].url"},
		{"output", `outputs: [{ name: yt, url: "rtmp://u:s3cretPassw0rd@ho st/live/k" }]`, "outputs[0].url"},
		{"bad generator", `sources: [{ name: g, url: "gen://noise?key=s3cretPassw0rd" }]`, "sources[0].url"},
		{"reserved name", `sources: [{ name: master }]`, "sources[0].name"},
		{"bus not a source", `buses: { program: nobody }`, "buses.program"},
		{"string for a number", `program: { fps: abc }`, "program.fps"},
		{"string for a whole number", `program: { width: wide }`, "program.width"},
		{"number for a mapping", `program: 5`, "program"},
		{"mapping for a list", `sources: { name: a }`, "sources"},
		{"bad bool", `record: { iso: maybe }`, "record.iso"},
		{"bad bitrate", `outputs: [{ name: yt, url: "rtmp://h/a/k", video_bitrate: fast }]`, "outputs[0].video_bitrate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(writeShow(t, c.yaml), nil)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), c.key+":"), "the error names %s: %v", c.key, err)
			require.NotContains(t, err.Error(), "s3cretPassw0rd")
		})
	}
}

// A pull source the API takes, the show file takes (one validation path).
func TestFileAndAPITakeTheSameSources(t *testing.T) {
	a, _ := startApp(t, testConfig(t))
	for _, body := range []string{
		`{"name":"p1","url":"rtsp://admin:pw@10.255.255.1:554/stream1"}`,
		`{"name":"p2","url":"rtsps://10.255.255.1/x","transport":"udp"}`,
		`{"name":"p3","url":"rtmp://10.255.255.1/app/stream"}`,
		`{"name":"p4","url":"rtmps://10.255.255.1:443/app/stream"}`,
		`{"name":"g1","url":"gen://color?c=red"}`,
	} {
		require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), body, nil), body)
		var sc ingest.SourceConfig
		require.NoError(t, json.Unmarshal([]byte(body), &sc))
		require.NoError(t, checkSource(sc), "the show file's check takes what the API took: %s", body)
	}
	for _, body := range []string{
		`{"name":"x1","url":"ftp://h/x"}`, `{"name":"x2","url":"gen://noise"}`, `{"name":"master"}`,
		`{"name":"x3","url":"gen://color?c=notacolour"}`, `{"name":"x4","url":"rtmp://h/onlyapp"}`,
	} {
		var e struct{ Error, Field string }
		require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources"), body, &e), body)
		var sc ingest.SourceConfig
		require.NoError(t, json.Unmarshal([]byte(body), &sc))
		err := checkSource(sc)
		require.Error(t, err, "the show file refuses what the API refused: %s", body)
		require.Equal(t, e.Error, err.Error(), "the same words through either door")
	}
}

// A pulled feed is live only once media arrived: a relay that accepts the
// play with nothing publishing behind it leaves the source connecting, then
// retrying with a reason — never live.
func TestPullIsLiveOnlyWithMedia(t *testing.T) {
	mustHaveTools(t)
	ng := testpeer.StartNginx(t)
	a, _ := startApp(t, testConfig(t))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"feed","url":"`+ng.URL("nobody")+`"}`, nil))
	var states []ingest.State
	st := waitState(t, a, "feed", 30*time.Second, ingest.StateRetrying)
	require.Contains(t, st.LastError, "no media", "the reason says what is missing")
	// and while it went there, it never said live or stale
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		states = append(states, sourceStatus(t, a, "feed").State)
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range states {
		require.Contains(t, []ingest.State{ingest.StateConnecting, ingest.StateRetrying}, s, "states seen: %v", states)
	}
	run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "flv", ng.URL("nobody"))...)
	waitState(t, a, "feed", 40*time.Second, ingest.StateLive)
}

// SWITCHYARD_SYSMON_HOLD, documented, is a setting like any other.
func TestSysmonHoldFromTheEnvironment(t *testing.T) {
	for v, want := range map[string]bool{"0": false, "1": true, "false": false, "on": true} {
		cfg, err := LoadConfig("", []string{"SWITCHYARD_SYSMON_HOLD=" + v})
		require.NoError(t, err, v)
		require.Equal(t, want, cfg.SysmonHold, v)
	}
	_, err := LoadConfig("", []string{"SWITCHYARD_SYSMON_HOLD=maybe"})
	require.ErrorContains(t, err, "SWITCHYARD_SYSMON_HOLD")
	cfg, err := LoadConfig(writeShow(t, "sysmon_hold: false\n"), nil)
	require.NoError(t, err)
	require.False(t, cfg.SysmonHold)
}

// A failed start closes what it had started (no goroutine, no listener
// left) and says what failed.
func TestFailedStartClosesWhatStarted(t *testing.T) {
	for _, taken := range []string{"rtmp", "http", "srt"} {
		t.Run(taken+" port taken", func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			addr := ln.Addr().String()
			cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"})
			rtspAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
			cfg.RTSP.Listen = rtspAddr
			switch taken {
			case "rtmp":
				cfg.RTMP.Listen = addr
			case "http":
				cfg.HTTP.Listen = addr
			case "srt": // UDP
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				require.NoError(t, err)
				defer pc.Close()
				addr = pc.LocalAddr().String()
				cfg.SRT.Listen = addr
			}
			a, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			require.Nil(t, a)
			require.ErrorContains(t, err, taken+".listen "+addr+": the address is in use")
			again, err := net.Listen("tcp", rtspAddr)
			require.NoError(t, err, "the RTSP listener started before the failure is closed")
			again.Close()
		})
	}
}

// The binary, started as an operator starts it, exits 1 with one line that
// names what failed, whatever failed — never a panic.
func TestStartupErrorsOnTheCommandLine(t *testing.T) {
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	taken := ln.Addr().String()
	udpTaken, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer udpTaken.Close()
	udpPort := udpTaken.LocalAddr().(*net.UDPAddr).Port
	udpRTP, udpRTCP := fmt.Sprintf("127.0.0.1:%d", udpPort&^1), fmt.Sprintf("127.0.0.1:%d", udpPort|1)
	udpKey := "rtsp.udp_rtp " + udpRTP
	if udpPort%2 == 1 {
		udpKey = "rtsp.udp_rtcp " + udpRTCP
	}
	badShow := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(badShow, "show.json"), []byte(`{"sources":[{"name":"Bad Name"}],"outputs":[]}`), 0o600))
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"http port taken", []string{"SWITCHYARD_HTTP_LISTEN=" + taken}, "switchyard: http.listen " + taken + ": the address is in use"},
		{"rtmp port taken", []string{"SWITCHYARD_RTMP_LISTEN=" + taken}, "switchyard: rtmp.listen " + taken + ": the address is in use"},
		{"rtsp port taken", []string{"SWITCHYARD_RTSP_LISTEN=" + taken}, "switchyard: rtsp.listen " + taken + ": the address is in use"},
		{"rtsp udp port taken", []string{"SWITCHYARD_RTSP_UDP_RTP=" + udpRTP, "SWITCHYARD_RTSP_UDP_RTCP=" + udpRTCP},
			"switchyard: " + udpKey + ": the address is in use"},
		{"bad show.json", []string{"SWITCHYARD_DATA_DIR=" + badShow}, "switchyard: " + filepath.Join(badShow, "show.json") + ": sources[0].name: "},
		{"bad environment", []string{"SWITCHYARD_PROGRAM_WIDTH=wide"}, "switchyard: SWITCHYARD_PROGRAM_WIDTH: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = append(append(os.Environ(), "SWITCHYARD_HTTP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTMP_LISTEN=127.0.0.1:0", "SWITCHYARD_SRT_LISTEN=127.0.0.1:0", "SWITCHYARD_WEBRTC_UDP=127.0.0.1:0",
				"SWITCHYARD_RTSP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTSP_UDP_RTP=", "SWITCHYARD_RTSP_UDP_RTCP=",
				"SWITCHYARD_PROGRAM_WIDTH=320", "SWITCHYARD_PROGRAM_HEIGHT=180", "SWITCHYARD_DATA_DIR="+t.TempDir()), c.env...)
			var stderr logBuf
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				require.True(t, errors.As(err, &ee), "exits with an error: %v", err)
				require.Equal(t, 1, ee.ExitCode(), "stderr: %s", stderr.String())
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running; stderr: %s", stderr.String())
			}
			out := stderr.String()
			require.NotContains(t, out, "panic")
			require.NotContains(t, out, "goroutine ")
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			last := lines[len(lines)-1]
			require.True(t, strings.HasPrefix(last, c.want), "the last line names what failed: %q", last)
			for _, l := range lines[:len(lines)-1] {
				require.False(t, strings.HasPrefix(l, "switchyard: "), "one error line, not several: %q", out)
			}
		})
	}
}

// The API answers a new source with the values a GET shows: its jitter
// buffer in use, not 0.
func TestAddSourceAnswersWithItsStatus(t *testing.T) {
	a, _ := startApp(t, testConfig(t))
	var st ingest.Status
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam9","jitter_buffer_ms":120}`, &st))
	require.Equal(t, 120, st.JitterBufferMS)
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam8"}`, &st))
	require.Equal(t, 66, st.JitterBufferMS, "the program's (adaptive) buffer starts on 2 frames at 30 fps")
	require.True(t, st.JitterBufferAuto, "the program's buffer: adaptive by default")
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam7","jitter_buffer_ms":"auto"}`, &st))
	require.Equal(t, 66, st.JitterBufferMS, "an adaptive buffer starts on 2 frames")
	require.True(t, st.JitterBufferAuto)
	require.Equal(t, ingest.StateOffline, st.State, "a pushed source with no publisher yet")
}

// The show file and the API both change sources and outputs; across a
// restart, per name, the later edit wins: what the API changed stays, and an
// edit of the show file made since applies — never ignored in silence.
func TestShowFileEditsApplyOverShowJSON(t *testing.T) {
	dataDir := t.TempDir()
	show := func(extra string) *Config {
		cfg, err := LoadConfig(writeShow(t, loopbackShowIn(dataDir)+extra), nil)
		require.NoError(t, err)
		return cfg
	}
	outputs := func(a *app) map[string]bool {
		var list []struct {
			Name    string
			Enabled bool
		}
		require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/outputs"), "", &list))
		m := map[string]bool{}
		for _, o := range list {
			m[o.Name] = o.Enabled
		}
		return m
	}
	sources := func(a *app) []string {
		var list []ingest.Status
		require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/sources"), "", &list))
		var names []string
		for _, s := range list {
			names = append(names, s.Name)
		}
		return names
	}

	a, aLogs := startApp(t, show(`sources: [{ name: cam1 }, { name: cam2 }]
outputs: [{ name: yt, url: "rtmp://127.0.0.1:9/live/k1", enabled: false }]
`))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/outputs"), `{"name":"api1","url":"rtmp://127.0.0.1:9/live/k2","enabled":false}`, nil))
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/sources/cam2"), "", nil))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam9"}`, nil))
	closeApp(t, a, aLogs)

	// the file unchanged: the API's changes stand
	b, bLogs := startApp(t, show(`sources: [{ name: cam1 }, { name: cam2 }]
outputs: [{ name: yt, url: "rtmp://127.0.0.1:9/live/k1", enabled: false }]
`))
	require.Equal(t, map[string]bool{"yt": false, "api1": false}, outputs(b))
	require.ElementsMatch(t, []string{"cam1", "cam9"}, sources(b), "cam2 stays removed")
	closeApp(t, b, bLogs)

	// the file edited since: an output added, one changed, a source added and one removed
	c, logs := startApp(t, show(`sources: [{ name: cam2 }, { name: cam3 }]
outputs: [{ name: yt, url: "rtmp://127.0.0.1:9/live/k1", enabled: true }, { name: fb, url: "rtmp://127.0.0.1:9/live/k3", enabled: false }]
`))
	require.Equal(t, map[string]bool{"yt": true, "api1": false, "fb": false}, outputs(c))
	require.ElementsMatch(t, []string{"cam9", "cam3"}, sources(c),
		"cam1 was removed from the file; cam2, removed through the API and not changed in the file, stays removed; cam3 was added")
	for _, change := range []string{"output fb added in the show file", "output yt changed in the show file",
		"source cam1 removed from the show file", "source cam3 added in the show file"} {
		require.Contains(t, logs.String(), change)
	}
}
