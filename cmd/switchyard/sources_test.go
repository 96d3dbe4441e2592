package main

import (
	"image"
	"image/jpeg"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/mixer"
	"switchyard/mixer/bus"
)

func waitState(t *testing.T, a *app, name string, within time.Duration, states ...ingest.State) ingest.Status {
	t.Helper()
	var st ingest.Status
	waitFor(t, within, name+" "+string(states[0]), func() bool {
		st = sourceStatus(t, a, name)
		for _, s := range states {
			if st.State == s && (s != ingest.StateLive || st.Video != nil) {
				return true
			}
		}
		return false
	})
	return st
}

// TestPullSourceReconnects pulls a camera (an RTSP server in the test, with
// credentials) that goes away, comes back, and then keeps its socket open
// but stops sending.
func TestPullSourceReconnects(t *testing.T) {
	mustHaveTools(t)
	cam := testpeer.StartCamera(t, "admin", "pa55word")
	feed := func() *proc {
		return run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "rtsp", "-rtsp_transport", "tcp", cam.PublishURL())...)
	}
	ff := feed()
	waitFor(t, 20*time.Second, "the camera fed", cam.Fed)
	a, _ := startApp(t, testConfig(t))

	var st ingest.Status
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"ipcam","url":"`+cam.URL()+`"}`, &st))
	require.NotContains(t, st.URL, "pa55word", "the camera's password is not shown")
	st = waitState(t, a, "ipcam", 20*time.Second, ingest.StateLive)
	require.Equal(t, ingest.ProtoRTSPPull, st.Protocol)
	require.Equal(t, 320, st.Video.Width)
	prog := decodeProgram(t, a)
	prog.started(t)
	var buses bus.State
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"ipcam"}`, &buses))
	require.True(t, average(prog.frame(t, buses.Frame+1)).is("red"), "the pulled camera is on program")

	// The camera goes away: retrying with the attempt, next try and error.
	cam.Stop()
	ff.kill()
	st = waitState(t, a, "ipcam", 20*time.Second, ingest.StateRetrying)
	require.GreaterOrEqual(t, st.Attempt, 1)
	require.NotNil(t, st.NextTryAt)
	require.NotEmpty(t, st.LastError)
	n := a.mixer.Stats().FramesOut
	waitFor(t, 10*time.Second, "the program going on", func() bool { return a.mixer.Stats().FramesOut > n+30 })

	// It comes back: live again within its backoff, without anyone asking.
	cam.Start()
	ff = feed()
	back := time.Now()
	waitState(t, a, "ipcam", 40*time.Second, ingest.StateLive)
	t.Logf("camera back → source live in %s", time.Since(back).Round(10*time.Millisecond))
	require.Equal(t, "ipcam", a.mixer.Switcher().State().Program)

	// A camera that keeps its socket open and stops sending is caught by the
	// read timeout, and taken back when it sends again.
	require.NoError(t, ff.cmd.Process.Signal(syscall.SIGSTOP))
	st = waitState(t, a, "ipcam", 20*time.Second, ingest.StateRetrying, ingest.StateStale)
	t.Logf("silent camera: %s (%s)", st.State, st.LastError)
	st = waitState(t, a, "ipcam", 20*time.Second, ingest.StateRetrying)
	require.NoError(t, ff.cmd.Process.Signal(syscall.SIGCONT))
	waitState(t, a, "ipcam", 40*time.Second, ingest.StateLive)

	// Wrong credentials: refused by the camera, said so, retried.
	bad := strings.Replace(cam.URL(), "pa55word", "wrong", 1)
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/sources/ipcam"), `{"url":"`+bad+`"}`, &st))
	st = waitState(t, a, "ipcam", 20*time.Second, ingest.StateRetrying)
	require.Contains(t, st.LastError, "401")
}

// TestSourcesAtRuntime adds, changes and removes sources through the API,
// with keys and takeover, and finds them again after a restart.
func TestSourcesAtRuntime(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"})
	a, aLogs := startApp(t, cfg)

	for body, want := range map[string]int{
		`{"name":"Bad Name"}`:                                     400,
		`{"name":"x","url":"http://cam/stream"}`:                  400,
		`{"name":"x","url":"rtsp://"}`:                            400,
		`{"name":"x","url":"gen://nosuch"}`:                       400,
		`{"name":"x","transport":"sctp"}`:                         400,
		`{"name":"x","colour":"red"}`:                             400,
		`{"name":"cam1"}`:                                         409,
		`{"name":"black"}`:                                        400,
		`{"url":"gen://bars"}`:                                    400,
		`{"name":"x","url":"` + strings.Repeat("a", 70000) + `"}`: 413,
	} {
		var e struct{ Error, Field string } // a fresh one each time: an empty message is not hidden by the last
		require.Equal(t, want, api(t, "POST", a.apiURL("/sources"), body, &e), body)
		require.NotEmpty(t, e.Error, body)
	}
	var e struct{ Error, Field string }
	require.Equal(t, http.StatusNotFound, api(t, "DELETE", a.apiURL("/sources/nosuch"), "", &e))
	require.Equal(t, http.StatusNotFound, api(t, "PATCH", a.apiURL("/sources/nosuch"), `{}`, &e))

	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam9","publish_key":"k9"}`, nil))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"bars2","url":"gen://bars"}`, nil))
	waitLive(t, a, "bars2")

	// The key is asked for: a wrong one is refused, counted; the right one goes live.
	wrong := run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "flv", a.rtmpURL("cam9?key=nope"))...)
	require.Error(t, wrong.wait(t, 20*time.Second), "ffmpeg is refused")
	require.Equal(t, uint64(1), sourceStatus(t, a, "cam9").Refused)
	first := pushRTMP(t, a, "cam9?key=k9", "red", "320x240", 30)
	waitLive(t, a, "cam9")

	// A second publisher is refused while the first goes on …
	second := run(t, "ffmpeg", append(lavfiInput("blue", "320x240", 30), "-f", "flv", a.rtmpURL("cam9?key=k9"))...)
	require.Error(t, second.wait(t, 20*time.Second))
	require.Equal(t, ingest.StateLive, sourceStatus(t, a, "cam9").State)
	// … unless the source allows a takeover: then the newcomer replaces it.
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/sources/cam9"), `{"takeover":true}`, nil))
	prog := decodeProgram(t, a)
	prog.started(t)
	var buses bus.State
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam9"}`, &buses)
	require.True(t, average(prog.frame(t, buses.Frame+1)).is("red"))
	pushRTMP(t, a, "cam9?key=k9", "blue", "320x240", 30)
	require.Error(t, first.wait(t, 20*time.Second), "the first publisher is disconnected")
	waitFor(t, 20*time.Second, "the newcomer live", func() bool {
		st := sourceStatus(t, a, "cam9")
		return st.Sessions == 1 && st.State == ingest.StateLive
	})
	waitFor(t, 20*time.Second, "the newcomer on program", func() bool {
		mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam9"}`, &buses)
		return average(prog.frame(t, buses.Frame+1)).is("blue")
	})

	// Removing the program source takes the program to black; nothing stops.
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"bars2"}`, nil)
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/sources/bars2"), "", nil))
	require.Equal(t, mixer.Black, a.mixer.Switcher().State().Program)
	n := a.mixer.Stats().FramesOut
	waitFor(t, 10*time.Second, "the program going on", func() bool { return a.mixer.Stats().FramesOut > n+15 })
	require.Equal(t, http.StatusNotFound, api(t, "GET", a.apiURL("/sources/bars2"), "", nil))
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/sources/cam1"), "", nil))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"bars3","url":"gen://color?c=green"}`, nil))

	// After a restart the show is as the API left it, keys included.
	closeApp(t, a, aLogs)
	b, _ := startApp(t, cfg)
	var list []ingest.Status
	require.Equal(t, http.StatusOK, api(t, "GET", b.apiURL("/sources"), "", &list))
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"bars3", "cam9"}, names)
	waitLive(t, b, "bars3")
	wrong = run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "flv", b.rtmpURL("cam9?key=nope"))...)
	require.Error(t, wrong.wait(t, 20*time.Second), "the key survived the restart")
	pushRTMP(t, b, "cam9?key=k9", "red", "320x240", 30)
	waitLive(t, b, "cam9")

	// Over RTSP the key is the password (digest or basic, any user name).
	require.Equal(t, http.StatusCreated, api(t, "POST", b.apiURL("/sources"), `{"name":"cam8","publish_key":"k8"}`, nil))
	rtspURL := func(pass string) string {
		return strings.Replace(b.rtspURL("live/cam8"), "rtsp://", "rtsp://op:"+pass+"@", 1)
	}
	wrong = run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "rtsp", "-rtsp_transport", "tcp", rtspURL("nope"))...)
	require.Error(t, wrong.wait(t, 20*time.Second), "a wrong RTSP password is refused")
	run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "rtsp", "-rtsp_transport", "tcp", rtspURL("k8"))...)
	waitLive(t, b, "cam8")
}

func TestSnapshot(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2"}))
	pushRTMP(t, a, "cam1", "red", "640x360", 30)
	waitLive(t, a, "cam1")
	var img image.Image
	waitFor(t, 10*time.Second, "a snapshot", func() bool {
		resp, err := httpClient.Get(a.apiURL("/sources/cam1/snapshot.jpg?width=320"))
		require.NoError(t, err)
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
		require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
		img, err = jpeg.Decode(resp.Body)
		require.NoError(t, err)
		return true
	})
	require.Equal(t, image.Rect(0, 0, 320, 180), img.Bounds(), "scaled to the asked width, aspect kept")
	r, g, b, _ := img.At(160, 90).RGBA()
	require.True(t, rgb{int(r >> 8), int(g >> 8), int(b >> 8)}.is("red"), "the camera's picture")

	var e struct{ Error string }
	require.Equal(t, http.StatusServiceUnavailable, api(t, "GET", a.apiURL("/sources/cam2/snapshot.jpg"), "", &e), "no picture yet")
	require.Contains(t, e.Error, "no picture")
	require.Equal(t, http.StatusNotFound, api(t, "GET", a.apiURL("/sources/nosuch/snapshot.jpg"), "", &e))
	require.Equal(t, http.StatusBadRequest, api(t, "GET", a.apiURL("/sources/cam1/snapshot.jpg?width=9999"), "", &e))
}

// TestImageAndToneGenerators: a still image as a source (a slate or logo,
// letterboxed) and bars with a −18 dBFS line-up tone.
func TestImageAndToneGenerators(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t)
	a, _ := startApp(t, cfg)
	png := filepath.Join(cfg.DataDir, "assets", "slate.png") // the assets folder, made at start
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=400x300",
		"-frames:v", "1", "-y", png).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var e struct{ Error string }
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources"), `{"name":"x","url":"gen://image?path=nonexistent.png"}`, &e))
	require.Contains(t, e.Error, "nonexistent.png")
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources"), `{"name":"x","url":"gen://tone?freq=5"}`, &e))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"slate","url":"gen://image?path=slate.png"}`, nil))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"lineup","url":"gen://tone"}`, nil))
	waitLive(t, a, "slate")
	waitLive(t, a, "lineup") // live with its pictures; its tone comes a moment after
	var st ingest.Status
	waitFor(t, 10*time.Second, "the tone's track", func() bool {
		src, _ := a.registry.Get("lineup")
		st = src.Status()
		return st.Audio != nil
	})
	require.NotNil(t, st.Audio)
	require.Equal(t, "aac", st.Audio.Codec)

	// 400×300 in a 320×240 program fills it: all red
	prog := decodeProgram(t, a)
	prog.started(t)
	var buses bus.State
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"slate"}`, &buses)
	got := average(prog.frame(t, buses.Frame+1))
	require.True(t, got.is("red"), "the image on program: %s", got)

	// The tone, read back from the re-served source: a sine at −18 dBFS peak
	// is −21 dBFS RMS.
	out, err = exec.Command("ffmpeg", "-hide_banner", "-rtsp_transport", "tcp", "-i", a.rtspURL("live/lineup"), "-t", "2",
		"-vn", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`).FindSubmatch(out)
	require.NotNil(t, m, "%s", out)
	mean, _ := strconv.ParseFloat(string(m[1]), 64)
	require.InDelta(t, -21, mean, 1.0, "tone level")
}

// TestRTMPPull plays a feed from another RTMP server (nginx-rtmp standing in
// for another studio) into a source, and follows it through a restart.
func TestRTMPPull(t *testing.T) {
	mustHaveTools(t)
	ng := testpeer.StartNginx(t)
	feed := func() *proc {
		return run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "flv", ng.URL("studio"))...)
	}
	ff := feed()
	a, _ := startApp(t, testConfig(t))
	var e struct{ Error string }
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources"), `{"name":"x","url":"rtmp://127.0.0.1/live"}`, &e))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"studio","url":"`+ng.URL("studio")+`"}`, nil))
	st := waitState(t, a, "studio", 20*time.Second, ingest.StateLive)
	require.Equal(t, ingest.ProtoRTMPPull, st.Protocol)
	require.NotNil(t, st.Audio)
	prog := decodeProgram(t, a)
	prog.started(t)
	var buses bus.State
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"studio"}`, &buses))
	require.True(t, average(prog.frame(t, buses.Frame+1)).is("red"), "the pulled feed is on program")

	ng.Stop()
	ff.kill()
	st = waitState(t, a, "studio", 20*time.Second, ingest.StateRetrying)
	require.NotEmpty(t, st.LastError)
	ng.Start()
	feed()
	back := time.Now()
	waitState(t, a, "studio", 40*time.Second, ingest.StateLive)
	t.Logf("feed back → source live in %s", time.Since(back).Round(10*time.Millisecond))
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"studio"}`, &buses)
	require.True(t, average(prog.frame(t, buses.Frame+1)).is("red"))
}
