package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/mixer/clock"
)

// testConfig is a small show on loopback ports chosen by the kernel.
func testConfig(t *testing.T, sources ...ingest.SourceConfig) *Config {
	t.Helper()
	cfg := defaults()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.RTMP.Listen = "127.0.0.1:0"
	cfg.RTSP.Listen = "127.0.0.1:0"
	cfg.SRT.Listen = "127.0.0.1:0"
	cfg.WebRTC.UDP = "127.0.0.1:0"
	cfg.RTSP.UDPRTP, cfg.RTSP.UDPRTCP = "", "" // UDP off: startAppUDP turns it on on free ports
	cfg.Program = ProgramConfig{Width: 320, Height: 240, FPS: 30, VideoBitrate: 600_000, AudioBitrate: 96_000, Keyint: Duration(time.Second),
		JitterBuffer: cfg.Program.JitterBuffer} // the default (auto): the tests run the buffer a show runs
	cfg.DataDir = t.TempDir()
	cfg.Sources = sources
	require.NoError(t, cfg.Validate())
	return &cfg
}

// logBuf collects log output so tests can look for a line.
type logBuf = testpeer.LogBuffer

// startApp starts a show in-process and closes it when the test ends.
func startApp(t *testing.T, cfg *Config) (*app, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := start(cfg, log)
	require.NoError(t, err)
	t.Cleanup(func() { closeApp(t, a, logs) })
	return a, logs
}

// onTime: since m0 (the mixer's stats at the start of a quiet window) no
// program frame was dropped and none left late; a late one is told with its
// cause and what the host did then. It returns the stats now.
func onTime(t *testing.T, a *app, m0 clock.Stats) clock.Stats {
	t.Helper()
	m1 := a.mixer.Stats()
	require.Equal(t, m0.Dropped, m1.Dropped, "no program frame dropped")
	if m1.Late != m0.Late {
		last, _ := json.Marshal(m1.LastLate)
		t.Fatalf("%d program frames late (by cause %v, left up to %.1f ms late); the last: %s", m1.Late-m0.Late, m1.LateBy, m1.LeftMaxMs, last)
	}
	return m1
}

// closeApp closes a show at the end of a test, within a bound: a Close that
// hangs fails the test with every goroutine's stack instead of holding the
// binary until the suite's timeout.
func closeApp(t *testing.T, a *app, logs *logBuf) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Close()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 2)
		t.Errorf("the show did not close within 30 s; goroutines:\n%s", stacks.String())
	}
	if t.Failed() {
		t.Logf("switchyard log:\n%s", logs.String())
	}
}

// startAppUDP starts a show with RTSP over UDP on a free pair of ports
// (picked again if another process took them in the meantime).
func startAppUDP(t *testing.T, cfg *Config) (*app, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var err error
	for range 5 {
		cfg.RTSP.UDPRTP, cfg.RTSP.UDPRTCP = testpeer.FreeUDPPair(t)
		require.NoError(t, cfg.Validate())
		var a *app
		if a, err = start(cfg, log); err == nil {
			t.Cleanup(func() { closeApp(t, a, logs) })
			return a, logs
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	require.NoError(t, err)
	return nil, nil
}

func (a *app) rtmpURL(name string) string {
	return "rtmp://" + a.rtmp.Addr().String() + "/live/" + name
}

func (a *app) rtspURL(path string) string {
	return "rtsp://" + a.rtsp.Addr().String() + "/" + path
}

func (a *app) apiURL(path string) string {
	return "http://" + a.http.Addr().String() + "/api/v1" + path
}

var httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// api sends a request and decodes the JSON answer into out (when not nil).
func api(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = b
	} else if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "body: %s", b)
	}
	return resp.StatusCode
}

// soakEnv is how long `make soak` runs its long tests: a Go duration
// (SOAK=10m make soak).
const soakEnv = "SOAK"

// soakLength is how long a test that can soak runs: short in `make test`,
// SOAK when it is set and longer. A SOAK that is not a duration fails the
// test: a soak that silently runs the short version proves nothing.
func soakLength(t *testing.T, short time.Duration) time.Duration {
	t.Helper()
	d, err := parseSoak(os.Getenv(soakEnv))
	require.NoError(t, err)
	return max(d, short)
}

// mustAPI sends a request that must succeed (2xx) and decodes the answer
// into out (when not nil): a refused request stops the test here, with the
// answer, rather than later where its effect is missing.
func mustAPI(t *testing.T, method, url, body string, out any) {
	t.Helper()
	var raw json.RawMessage
	code := api(t, method, url, body, &raw)
	require.True(t, code >= 200 && code < 300, "%s %s %s: status %d: %s", method, url, body, code, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "body: %s", raw)
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !pollUntil(within, cond) {
		t.Fatalf("timed out after %s waiting for %s", within, what)
	}
}

// pollUntil polls cond every 50 ms until it holds (true) or within has
// passed (false).
func pollUntil(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond) // polling, bounded by the deadline
	}
	return true
}

func sourceStatus(t *testing.T, a *app, name string) ingest.Status {
	t.Helper()
	var st ingest.Status
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/sources/"+name), "", &st))
	return st
}

func waitLive(t *testing.T, a *app, name string) ingest.Status {
	t.Helper()
	var st ingest.Status
	waitFor(t, 20*time.Second, name+" live with video", func() bool {
		st = sourceStatus(t, a, name)
		return st.State == ingest.StateLive && st.Video != nil
	})
	return st
}

// waitPicture waits until the mixer holds a decoded picture of a source
// (live only says the publisher is connected and its tracks are known).
func waitPicture(t *testing.T, a *app, name string) {
	t.Helper()
	waitFor(t, 20*time.Second, name+" decoded", func() bool {
		return api(t, "GET", a.apiURL("/sources/"+name+"/snapshot.jpg"), "", nil) == http.StatusOK
	})
}

// proc is an ffmpeg or ffprobe process owned by a test.
type proc struct {
	cmd    *exec.Cmd
	stderr *logBuf
	done   chan struct{}
	err    error
}

// run starts a tool; it is killed when the test ends if still running.
func run(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), stderr: &logBuf{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// wait waits for the process to end on its own.
func (p *proc) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		t.Fatalf("%s still running after %s; stderr: %s", p.cmd.Path, within, p.stderr.String())
		return nil
	}
}

// lavfiInput is a test source: a solid colour with a sine tone, H.264 + AAC.
func lavfiInput(color, size string, rate int) []string {
	return []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:s=%s:r=%d", color, size, rate),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", fmt.Sprint(rate), "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k"}
}

func pushRTMP(t *testing.T, a *app, name, color, size string, rate int) *proc {
	t.Helper()
	args := append(lavfiInput(color, size, rate), "-f", "flv", a.rtmpURL(name))
	return run(t, "ffmpeg", args...)
}

func pushRTSP(t *testing.T, a *app, name, color, size string, rate int) *proc {
	t.Helper()
	args := append(lavfiInput(color, size, rate), "-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/"+name))
	return run(t, "ffmpeg", args...)
}

// rgb is the average colour of a decoded frame.
type rgb struct{ R, G, B int }

func (c rgb) String() string { return fmt.Sprintf("(%d,%d,%d)", c.R, c.G, c.B) }

func (c rgb) is(name string) bool {
	switch name {
	case "red":
		return c.R > 150 && c.G < 80 && c.B < 80
	case "blue":
		return c.B > 150 && c.R < 80 && c.G < 80
	case "green":
		return c.G > 150 && c.R < 80 && c.B < 80
	case "slate": // the dark "NO SIGNAL" card, mostly (24,24,28)
		return c.R < 90 && c.G < 90 && c.B < 90 && c.R > 10
	}
	return false
}

const thumb = 8 // frames are decoded as thumb×thumb pixels

// decodeArgs are ffmpeg output options that write every decoded frame as a
// small RGB picture to stdout.
var decodeArgs = []string{"-map", "0:v", "-vf", fmt.Sprintf("scale=%d:%d", thumb, thumb), "-fps_mode", "passthrough",
	"-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"}

// readColours reads thumb×thumb RGB frames from r and sends their average colours.
func readColours(r io.Reader, out chan<- rgb) {
	defer close(out)
	br := bufio.NewReader(r)
	buf := make([]byte, thumb*thumb*3)
	for {
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		var c rgb
		for i := 0; i < len(buf); i += 3 {
			c.R += int(buf[i])
			c.G += int(buf[i+1])
			c.B += int(buf[i+2])
		}
		n := thumb * thumb
		out <- rgb{c.R / n, c.G / n, c.B / n}
	}
}

// mustHaveTools skips nothing: the tools are part of the test set-up (make deps).
func mustHaveTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run `make deps` (it installs ffmpeg)", tool)
		}
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := httpClient.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
