package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/media"
	"switchyard/output/push"
	"switchyard/output/record"
)

func outputStatus(t *testing.T, a *app, name string) push.Status {
	t.Helper()
	var st push.Status
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/outputs/"+name), "", &st))
	return st
}

func waitOutput(t *testing.T, a *app, name string, state push.State, within time.Duration) push.Status {
	t.Helper()
	var st push.Status
	waitFor(t, within, name+" "+string(state), func() bool {
		st = outputStatus(t, a, name)
		return st.State == state
	})
	return st
}

// probe reads a destination back with ffprobe.
func probe(t *testing.T, url string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-rw_timeout", "10000000", "-show_entries",
		"stream=codec_name,width,height,r_frame_rate,sample_rate,channels", "-of", "compact=p=0:nk=0", url).CombinedOutput()
	require.NoError(t, err, "ffprobe %s: %s", url, out)
	return string(out)
}

// readFor reads a destination for d with ffmpeg and returns the DTS (ms) of its video frames.
func readFor(t *testing.T, url string, d time.Duration) []int64 {
	t.Helper()
	crc := t.TempDir() + "/read.crc"
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-rw_timeout", "5000000", "-i", url,
		"-t", fmt.Sprint(d.Seconds()), "-map", "0:v", "-c", "copy", "-f", "framecrc", crc)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ffmpeg read %s: %s", url, out)
	return readCRCColumn(t, crc, 1)
}

func readCRCColumn(t *testing.T, path string, col int) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var v []int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) <= col || strings.HasPrefix(line, "#") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(f[col]), 10, 64)
		require.NoError(t, err)
		v = append(v, n)
	}
	return v
}

func outputsConfig(t *testing.T, ca string, outs ...OutputConfig) *Config {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2"})
	cfg.Outputs = outs
	cfg.TLS.CAFile = ca
	require.NoError(t, cfg.Validate())
	return cfg
}

// Three destinations at once, one of them RTMPS through a TLS listener with
// its own CA; each reads back as H.264 + AAC at the program format. Keys are
// never shown; bad requests get clear errors; outputs survive a restart.
func TestOutputsThreeDestinations(t *testing.T) {
	mustHaveTools(t)
	ngA, ngB := testpeer.StartNginx(t), testpeer.StartNginx(t)
	tlsp := testpeer.StartTLSProxy(t, ngB.Addr())
	cfg := outputsConfig(t, tlsp.CAFile,
		OutputConfig{Name: "youtube", URL: ngA.URL("yt-secret-key")},
		OutputConfig{Name: "twitch", URL: ngB.URL("tw-secret-key")},
		OutputConfig{Name: "facebook", URL: fmt.Sprintf("rtmps://localhost:%d/live/fb-secret-key", tlsp.Port)})
	a, logs := startApp(t, cfg)
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	for _, n := range []string{"youtube", "twitch", "facebook"} {
		waitOutput(t, a, n, push.StateLive, 20*time.Second)
	}
	require.Contains(t, tlsp.SNI(), "localhost", "RTMPS sends SNI")
	// the three destinations read back side by side (each ffprobe is
	// bounded by its -rw_timeout)
	urls := []string{ngA.URL("yt-secret-key"), ngB.URL("tw-secret-key"), ngB.URL("fb-secret-key")}
	probes := make([]probeResult, len(urls))
	var wg sync.WaitGroup
	for i, url := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command("ffprobe", "-v", "error", "-rw_timeout", "10000000", "-show_entries",
				"stream=codec_name,width,height,r_frame_rate,sample_rate,channels", "-of", "compact=p=0:nk=0", url).CombinedOutput()
			probes[i] = probeResult{out, err}
		}()
	}
	wg.Wait()
	for i, url := range urls {
		out, err := string(probes[i].out), probes[i].err
		require.NoError(t, err, "ffprobe %s: %s", url, out)
		require.Contains(t, out, "codec_name=h264|width=320|height=240|r_frame_rate=30/1", url)
		require.Contains(t, out, "codec_name=aac|sample_rate=48000|channels=2", url)
	}

	// Keys are secrets: masked in the API, absent from logs.
	var list []push.Status
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/outputs"), "", &list))
	require.Len(t, list, 3)
	for _, st := range list {
		require.True(t, strings.HasSuffix(st.URL, "/****"), st.URL)
		require.Greater(t, st.FramesSent, uint64(0))
	}
	var state map[string]any
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", &state))
	require.NotContains(t, fmt.Sprint(state), "secret-key")
	require.NotContains(t, logs.String(), "secret-key")
	metrics := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	require.Contains(t, metrics, `switchyard_output_state{output="youtube",state="live"} 1`)
	require.Contains(t, metrics, `switchyard_output_state{output="facebook",state="retrying"} 0`)
	require.Contains(t, metrics, `switchyard_source_up{source="cam1"} 1`)
	require.Contains(t, metrics, `switchyard_mixer_frames_total`)
	require.Contains(t, metrics, `switchyard_http_requests_total{route="/api/v1/outputs",status="200"}`)
	require.NotContains(t, metrics, "secret-key")

	// Bad input.
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"unknown scheme", "POST", "/outputs", `{"name":"x","url":"http://h/live/k"}`, 400, "url"},
		{"missing key", "POST", "/outputs", `{"name":"x","url":"rtmp://h/live"}`, 400, "url"},
		{"missing url", "POST", "/outputs", `{"name":"x"}`, 400, "url"},
		{"bad name", "POST", "/outputs", `{"name":"Bad Name","url":"rtmp://h/live/k"}`, 400, "name"},
		{"duplicate name", "POST", "/outputs", `{"name":"youtube","url":"rtmp://h/live/k"}`, 409, ""},
		{"unknown field", "POST", "/outputs", `{"name":"x","url":"rtmp://h/live/k","bitrate":1}`, 400, "bitrate"},
		{"patch unknown", "PATCH", "/outputs/nosuch", `{"enabled":false}`, 404, ""},
		{"patch bad url", "PATCH", "/outputs/youtube", `{"url":"ftp://x/y/z"}`, 400, "url"},
		{"start unknown", "POST", "/outputs/nosuch/start", ``, 404, ""},
		{"delete unknown", "DELETE", "/outputs/nosuch", ``, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e struct {
				Error string `json:"error"`
				Field string `json:"field"`
			}
			require.Equal(t, c.status, api(t, c.method, a.apiURL(c.path), c.body, &e))
			require.NotEmpty(t, e.Error)
			require.Equal(t, c.field, e.Field)
		})
	}
	waitOutput(t, a, "youtube", push.StateLive, time.Second) // the bad PATCH changed nothing

	// Runtime changes persist: add one, stop one, restart the show.
	var added push.Status
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/outputs"), `{"name":"backup","url":"`+ngA.URL("bk-secret-key")+`"}`, &added))
	require.Equal(t, "backup", added.Name)
	waitOutput(t, a, "backup", push.StateLive, 20*time.Second)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/outputs/twitch/stop"), "", nil))
	waitOutput(t, a, "twitch", push.StateIdle, 5*time.Second)
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/outputs/facebook"), "", nil))
	closeApp(t, a, logs)

	b, _ := startApp(t, cfg)
	require.Equal(t, http.StatusOK, api(t, "GET", b.apiURL("/outputs"), "", &list))
	names := []string{}
	for _, st := range list {
		names = append(names, fmt.Sprintf("%s:%v", st.Name, st.Enabled))
	}
	require.Equal(t, []string{"backup:true", "twitch:false", "youtube:true"}, names)
}

// A destination that goes away for 10 s goes retrying and comes back live by
// itself; the other destination and the program never notice.
func TestOutputSurvivesDestinationRestart(t *testing.T) {
	mustHaveTools(t)
	ngA, ngB := testpeer.StartNginx(t), testpeer.StartNginx(t)
	a, _ := startApp(t, outputsConfig(t, "", OutputConfig{Name: "a", URL: ngA.URL("ka")}, OutputConfig{Name: "b", URL: ngB.URL("kb")}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	waitOutput(t, a, "a", push.StateLive, 20*time.Second)
	waitOutput(t, a, "b", push.StateLive, 20*time.Second)
	var rec record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, &rec))
	m0 := a.mixer.Stats()
	b0 := outputStatus(t, a, "b")

	ngA.Stop()
	st := waitOutput(t, a, "a", push.StateRetrying, 10*time.Second)
	require.NotEmpty(t, st.LastError)
	require.NotNil(t, st.NextTryAt)
	time.Sleep(10 * time.Second) // the scenario: the platform is gone for 10 s
	ngA.Start()
	back := time.Now()
	// backoff after ~10 s of failures is at most 16 s (+20 % jitter)
	waitOutput(t, a, "a", push.StateLive, 25*time.Second)
	t.Logf("destination back → output live in %s", time.Since(back).Round(10*time.Millisecond))

	b1 := outputStatus(t, a, "b")
	require.Equal(t, push.StateLive, b1.State)
	require.Equal(t, b0.Reconnects, b1.Reconnects, "the other output never reconnected")
	require.Zero(t, b1.FramesDropped)
	m1 := onTime(t, a, m0)
	require.InDelta(t, float64(m1.FramesOut-m0.FramesOut), float64(b1.FramesSent-b0.FramesSent), 45,
		"the other output sent every program frame")

	// The recording ran through it all: one program file, every frame, no gap.
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &rec))
	require.Equal(t, "stopped", rec.State)
	pts := packetTimes(t, filepath.Join(a.recorder.Dir(), rec.ID, "program.mp4"), "v")
	slices.Sort(pts)
	for i := 1; i < len(pts); i++ {
		require.Less(t, pts[i]-pts[i-1], 0.05, "program.mp4 has no gap at %.2f s", pts[i-1])
	}
	span := pts[len(pts)-1] - pts[0]
	require.InDelta(t, span*30+1, len(pts), 1, "program.mp4 has every frame in its span")
	require.Greater(t, span, float64(m1.FramesOut-m0.FramesOut)/30-1.5, "program.mp4 spans the time the destination was away")
}

// A black-holed destination (accepts TCP, never reads) never slows the others.
func TestBlackholedDestination(t *testing.T) {
	mustHaveTools(t)
	ng := testpeer.StartNginx(t)
	hole := testpeer.BlackHole(t)
	a, _ := startApp(t, outputsConfig(t, "", OutputConfig{Name: "good", URL: ng.URL("k")},
		OutputConfig{Name: "hole", URL: "rtmp://" + hole + "/live/k"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	waitOutput(t, a, "good", push.StateLive, 20*time.Second)

	start := time.Now()
	dts := readFor(t, ng.URL("k"), 8*time.Second)
	took := time.Since(start)
	// real-time rate: about 8 s of media at 30 fps arrive in about 8 s
	require.GreaterOrEqual(t, len(dts), 8*30*9/10, "frames read in 8 s of media")
	require.InDelta(t, 30, float64(len(dts)-1)*1000/float64(dts[len(dts)-1]-dts[0]), 2, "frame rate read back")
	require.Less(t, took, 12*time.Second)
	st := waitOutput(t, a, "hole", push.StateRetrying, 20*time.Second)
	require.Contains(t, st.LastError, "timeout")
	require.Equal(t, push.StateLive, outputStatus(t, a, "good").State)
}

// Timestamps read back from a destination are monotonic across a program
// cut, a source dropout and an output reconnect.
func TestOutputTimestampsMonotonic(t *testing.T) {
	mustHaveTools(t)
	ng := testpeer.StartNginx(t)
	px := testpeer.StartProxy(t, ng.Addr())
	a, _ := startApp(t, outputsConfig(t, "", OutputConfig{Name: "o", URL: "rtmp://" + px.Addr() + "/live/k"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	cam2 := pushRTMP(t, a, "cam2", "blue", "320x240", 30)
	waitLive(t, a, "cam1")
	waitLive(t, a, "cam2")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	waitOutput(t, a, "o", push.StateLive, 20*time.Second)

	crc := t.TempDir() + "/o.crc"
	reader := run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-rw_timeout", "3000000", "-i", ng.URL("k"),
		"-map", "0:v", "-c", "copy", "-f", "framecrc", crc)
	frames := func() uint64 { return outputStatus(t, a, "o").FramesSent }
	wait := func(n uint64) {
		f0 := frames()
		waitFor(t, 20*time.Second, fmt.Sprintf("%d more frames out", n), func() bool { return frames() > f0+n })
	}
	wait(45)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam2"}`, nil)) // a cut
	wait(30)
	cam2.kill() // a source dropout: slate
	wait(45)
	px.Cut() // an output reconnect
	waitFor(t, 20*time.Second, "the output reconnected", func() bool {
		st := outputStatus(t, a, "o")
		return st.Reconnects >= 1 && st.State == push.StateLive
	})
	wait(45)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/outputs/o/stop"), "", nil))
	require.NoError(t, reader.wait(t, 20*time.Second))

	dts := readCRCColumn(t, crc, 1)
	require.Greater(t, len(dts), 120)
	// Every step is a frame (33 or 34 ms in FLV's milliseconds), at most two
	// across the cut and the dropout; only the output's reconnect may skip
	// the frames sent while it was down, once.
	jumps := 0
	for i := 1; i < len(dts); i++ {
		step := dts[i] - dts[i-1]
		require.GreaterOrEqual(t, step, int64(33), "frame %d: the timestamp does not advance a frame (%d → %d)", i, dts[i-1], dts[i])
		if step > 67 {
			jumps++
			require.Less(t, step, int64(20_000), "frame %d: the reconnect skips more than the time it was down", i)
		}
	}
	require.LessOrEqual(t, jumps, 1, "only the reconnect skips frames")
}

// An output with its own lower video_bitrate gets a second encode of the same
// program; the other output keeps the full program encode.
func TestOutputLowerBitrate(t *testing.T) {
	mustHaveTools(t)
	ng := testpeer.StartNginx(t)
	a, _ := startApp(t, outputsConfig(t, "", OutputConfig{Name: "full", URL: ng.URL("full")},
		OutputConfig{Name: "low", URL: ng.URL("low"), VideoBitrate: 150_000}))
	// moving pictures, so the encoders reach their bitrates
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-b:v", "2M", "-f", "flv", a.rtmpURL("cam1"))
	waitLive(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	waitOutput(t, a, "full", push.StateLive, 20*time.Second)
	waitOutput(t, a, "low", push.StateLive, 20*time.Second)
	out := probe(t, ng.URL("low"))
	require.Contains(t, out, "codec_name=h264|width=320|height=240|r_frame_rate=30/1")
	require.Contains(t, out, "codec_name=aac")

	var full, low push.Status
	waitFor(t, 20*time.Second, "both outputs measured over a few seconds", func() bool {
		full, low = outputStatus(t, a, "full"), outputStatus(t, a, "low")
		return full.UptimeS > 4 && low.UptimeS > 4 && full.BitrateKbps > 0 && low.BitrateKbps > 0
	})
	t.Logf("full %.0f kbit/s, low %.0f kbit/s", full.BitrateKbps, low.BitrateKbps)
	require.Equal(t, media.Bitrate(150_000), low.VideoBitrate)
	require.Less(t, low.BitrateKbps, full.BitrateKbps/2, "the low output carries its own, lower encode")
	require.Less(t, low.BitrateKbps, 150.0*1.6+96, "within reach of its target (video + audio)")

	var e struct{ Error, Field string }
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/outputs"),
		`{"name":"x","url":"rtmp://h/live/k","video_bitrate":900000}`, &e))
	require.Equal(t, "video_bitrate", e.Field)
}
