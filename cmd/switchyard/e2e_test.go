package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"switchyard/ingest"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
)

// Two cameras at once, one over RTMP and one over RTSP; the API reports both
// with their real format, and the program reads back over RTSP as H.264 at the
// configured size and rate.
func TestPushRTMPAndRTSP(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2"}))
	pushRTMP(t, a, "cam1", "red", "640x360", 25)
	pushRTSP(t, a, "cam2", "blue", "426x240", 30)

	// lavfiInput sends a key frame every second (-g = rate): wait for two;
	// an RTSP camera's sound comes once its sender's reports place it (in
	// a second or two: internal/protocols/rtsp.Timeline)
	waitFor(t, 20*time.Second, "cam1 and cam2 measured, with their sound", func() bool {
		s1, s2 := sourceStatus(t, a, "cam1"), sourceStatus(t, a, "cam2")
		v1, v2 := s1.Video, s2.Video
		return v1 != nil && v2 != nil && v1.KeyframeIntervalS > 0 && v2.KeyframeIntervalS > 0 && s1.Audio != nil && s2.Audio != nil
	})
	st1 := waitLive(t, a, "cam1")
	require.Equal(t, "rtmp", st1.Protocol)
	require.Equal(t, &ingest.VideoStatus{Codec: "h264", Profile: "Baseline", Width: 640, Height: 360, FPS: 25, KeyframeIntervalS: 1}, st1.Video)
	require.NotNil(t, st1.Audio)
	require.Equal(t, "aac", st1.Audio.Codec)

	st2 := waitLive(t, a, "cam2")
	require.Equal(t, "rtsp", st2.Protocol)
	require.Equal(t, &ingest.VideoStatus{Codec: "h264", Profile: "Baseline", Width: 426, Height: 240, FPS: 30, KeyframeIntervalS: 1}, st2.Video)
	require.Zero(t, st2.DecodeErrors)
	require.NotNil(t, st2.Audio)
	require.Equal(t, 48000, st2.Audio.SampleRate)

	var list []ingest.Status
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/sources"), "", &list))
	require.Len(t, list, 2)

	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam2"}`, nil))
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "10000000",
		"-show_entries", "stream=codec_type,codec_name,width,height,r_frame_rate,sample_rate",
		"-of", "compact=p=0:nk=0", a.rtspURL("program")).CombinedOutput()
	require.NoError(t, err, "ffprobe: %s", out)
	require.Contains(t, string(out), "codec_name=h264|codec_type=video|width=320|height=240|r_frame_rate=30/1")
	require.Contains(t, string(out), "codec_name=aac|codec_type=audio|sample_rate=48000")

	// the program is also served over RTMP play, for local players
	out, err = exec.Command("ffprobe", "-v", "error", "-rw_timeout", "10000000",
		"-show_entries", "stream=codec_type,codec_name,width,height,r_frame_rate,sample_rate",
		"-of", "compact=p=0:nk=0", a.rtmpURL("program")).CombinedOutput()
	require.NoError(t, err, "ffprobe: %s", out)
	require.Contains(t, string(out), "codec_name=h264|codec_type=video|width=320|height=240|r_frame_rate=30/1")
	require.Contains(t, string(out), "codec_name=aac|codec_type=audio|sample_rate=48000")
	out, err = exec.Command("ffprobe", "-v", "error", "-rw_timeout", "10000000", a.rtmpURL("nosuch")).CombinedOutput()
	require.Error(t, err, "playing an unknown name fails: %s", out)

	// each source is re-served as it came in
	out, err = exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "10000000",
		"-show_entries", "stream=codec_name,width,height", "-of", "compact=p=0:nk=0", a.rtspURL("live/cam1")).CombinedOutput()
	require.NoError(t, err, "ffprobe: %s", out)
	require.Contains(t, string(out), "codec_name=h264|width=640|height=360")
}

// Cuts checked on pixels: the program is decoded by ffmpeg, and the frame the
// API names as the cut's first frame is the first one of the new colour.
func TestCutOnPixels(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "red"}, ingest.SourceConfig{Name: "blue"}))
	pushRTMP(t, a, "red", "red", "320x240", 30)
	pushRTSP(t, a, "blue", "blue", "320x240", 30)
	waitLive(t, a, "red")
	waitLive(t, a, "blue")

	frames := decodeProgram(t, a)
	frames.started(t)

	type cutAt struct {
		colour string
		frame  int64
	}
	var cuts []cutAt
	for _, c := range []string{"red", "blue", "red", "blue", "red", "blue"} {
		st := cutOnNextFrame(t, a, "/program", `{"source":"`+c+`"}`)
		require.Equal(t, c, st.Program)
		cuts = append(cuts, cutAt{c, st.Frame})
		frames.frame(t, st.Frame+1)
	}
	for i, c := range cuts {
		if i == 0 {
			continue // the first cut's previous frame may be before the decoder started
		}
		prev, first := average(frames.frame(t, c.frame-1)), average(frames.frame(t, c.frame))
		require.True(t, prev.is(cuts[i-1].colour), "frame %d before cut %d should be %s, is %s", c.frame-1, i, cuts[i-1].colour, prev)
		require.True(t, first.is(c.colour), "frame %d, the cut's first, should be %s, is %s", c.frame, c.colour, first)
	}
}

// cutOnNextFrame sends a bus command a few milliseconds into a program
// frame's interval and checks that it lands on the next frame: the frame
// after the one whose interval the command was sent in. An API that made the
// command wait a frame fails here. Only a request whose answer came over a
// frame late because the process stalled on its way (a shared 2-core
// machine under the race detector: a 10-ms ticker beside it was held back
// by at least that much) is judged from the answer instead: taken before
// it, it lands no later than the frame after the one it was answered in.
func cutOnNextFrame(t *testing.T, a *app, path, body string) bus.State {
	t.Helper()
	frame := a.mixer.Config().FrameDuration()
	into := time.Since(a.mixer.Started()) % frame
	time.Sleep(frame - into + 3*time.Millisecond) // to the start of the next interval: pacing, not synchronisation
	stalls := watchStalls()
	t.Cleanup(func() { stalls() })
	t0 := time.Now()
	var st bus.State
	mustAPI(t, "POST", a.apiURL(path), body, &st)
	took := time.Since(t0)
	stalled := stalls()
	sent := a.mixer.FrameAt(t0)
	if over := took - frame; over > 10*time.Millisecond && stalled >= over {
		answered := a.mixer.FrameAt(t0.Add(took))
		t.Logf("%s %s took %v to answer, the process stalled %v meanwhile: judged from the answer's frame %d",
			path, body, took.Round(time.Millisecond), stalled.Round(time.Millisecond), answered)
		require.LessOrEqual(t, st.Frame, answered+1, "%s %s answered in frame %d's interval lands on frame %d, after the next", path, body, answered, st.Frame)
		return st
	}
	require.LessOrEqual(t, st.Frame, sent+1, "%s %s sent in frame %d's interval lands on frame %d, not the next (answered in %v)", path, body, sent, st.Frame, took.Round(time.Millisecond))
	return st
}

// The program never stops: the program source's publisher is killed and comes
// back; one RTSP reader sees a steady frame rate with monotonic timestamps,
// the slate in between, and the camera again without reconnecting.
func TestProgramSurvivesPublisherLoss(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	pub := pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	crc := t.TempDir() + "/program.crc"
	reader := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp",
		"-i", a.rtspURL("program"), "-t", "60", "-map", "0:v", "-c:v", "copy", "-f", "framecrc", crc}, decodeArgs...)...)
	stdout, err := reader.StdoutPipe()
	require.NoError(t, err)
	var stderr logBuf
	reader.Stderr = &stderr
	require.NoError(t, reader.Start())
	readerDone := make(chan error, 1)
	colours := make(chan rgb, 4096)
	go readColours(stdout, colours)
	go func() { readerDone <- reader.Wait() }()
	t.Cleanup(func() { _ = reader.Process.Kill() })

	// phases: red, then slate once the publisher is gone, then red again
	want := func(name string, n int) {
		t.Helper()
		run := 0
		timeout := time.After(30 * time.Second)
		for run < n {
			select {
			case c, ok := <-colours:
				require.True(t, ok, "reader ended early: %s", stderr.String())
				if c.is(name) {
					run++
				} else {
					run = 0
				}
			case <-timeout:
				t.Fatalf("no %d %s frames in a row within 30s", n, name)
			}
		}
	}
	want("red", 30)
	require.Greater(t, sourceStatus(t, a, "cam1").DecodeWaitMS, 0.0, "a live camera waits for its decoder")
	pub.kill()
	want("slate", 30)
	waitFor(t, 10*time.Second, "cam1 offline", func() bool { return sourceStatus(t, a, "cam1").State == ingest.StateOffline })
	// an offline source's figures are not its last ones
	st := sourceStatus(t, a, "cam1")
	require.Zero(t, st.DecodeWaitMS, "decode_wait_ms offline")
	require.Zero(t, st.TransitJitterMS, "transit_jitter_ms offline")
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	want("red", 30)
	require.NoError(t, reader.Process.Signal(os.Interrupt))
	select {
	case <-readerDone:
	case <-time.After(15 * time.Second):
		t.Fatal("reader did not stop")
	}
	for range colours {
	}

	pts := readFrameCRC(t, crc)
	require.Greater(t, len(pts), 90)
	// ffmpeg re-times an RTSP stream once, when the first RTCP sender report
	// arrives (gortsplib sends one right after a reader's first packet): from
	// each track's own first packet to the reports' common clock of video
	// and sound, which moves the picture by the sound's head start. That one
	// step, among the first, may differ; every other step is exact.
	rebased := false
	for i := 1; i < len(pts); i++ {
		d := pts[i] - pts[i-1]
		if i <= 3 && !rebased && d != 3000 && d > 0 && d < 3000+45000 { // at most half a second
			rebased = true
			continue
		}
		// 30 fps in a 90 kHz time base: every frame 3000 ticks after the last
		require.InDelta(t, 3000, d, 2, "frame %d: timestamp step %d (program must keep its rate)", i, d)
	}
	require.Contains(t, logs.String(), "publisher disconnected")
	onTime(t, a, clock.Stats{})
}

// readFrameCRC returns the PTS column of an ffmpeg framecrc file.
func readFrameCRC(t *testing.T, path string) []int64 {
	t.Helper()
	out, err := exec.Command("cat", path).Output()
	require.NoError(t, err)
	var pts []int64
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ",")
		require.GreaterOrEqual(t, len(f), 3, line)
		v, err := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
		require.NoError(t, err)
		pts = append(pts, v)
	}
	return pts
}

// Bad input gets a clear error and disturbs nothing: a publish to an unknown
// name, and bad API requests, while a camera is live on program.
func TestBadInputDisturbsNothing(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	for _, c := range []struct {
		name   string
		proto  string
		expect string
	}{
		{"rtmp unknown name", "rtmp", `component=ingest.rtmp`},
		{"rtsp unknown name", "rtsp", `component=ingest.rtsp`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p *proc
			if c.proto == "rtmp" {
				p = pushRTMP(t, a, "nosuch", "blue", "320x240", 30)
			} else {
				p = pushRTSP(t, a, "nosuch", "blue", "320x240", 30)
			}
			err := p.wait(t, 20*time.Second)
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "the refused publisher must fail, got %v", err)
			waitFor(t, 5*time.Second, "the refusal in the log", func() bool {
				for _, l := range strings.Split(logs.String(), "\n") {
					if strings.Contains(l, `msg="publish refused"`) && strings.Contains(l, c.expect) &&
						strings.Contains(l, "source=nosuch") && strings.Contains(l, "no source with that name") {
						return true
					}
				}
				return false
			})
		})
	}

	before := a.mixer.Stats().FramesOut
	for _, c := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"not json", `{"source":`, http.StatusBadRequest, ""},
		{"wrong type", `{"source":7}`, http.StatusBadRequest, "source"},
		{"missing source", `{}`, http.StatusBadRequest, "source"},
		{"unknown field", `{"source":"cam1","when":"now"}`, http.StatusBadRequest, "when"},
		{"unknown source", `{"source":"nosuch"}`, http.StatusNotFound, ""},
		{"empty body", ``, http.StatusBadRequest, ""},
		{"oversized", `{"source":"` + strings.Repeat("x", 70_000) + `"}`, http.StatusRequestEntityTooLarge, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e struct {
				Error string `json:"error"`
				Field string `json:"field"`
			}
			require.Equal(t, c.status, api(t, "POST", a.apiURL("/program"), c.body, &e))
			require.NotEmpty(t, e.Error)
			require.Equal(t, c.field, e.Field)
		})
	}
	var e struct{ Error string }
	require.Equal(t, http.StatusNotFound, api(t, "GET", a.apiURL("/sources/nosuch"), "", &e))
	require.Contains(t, e.Error, "nosuch")

	var st struct{ Program string }
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", &st))
	require.Equal(t, "cam1", st.Program)
	require.Equal(t, ingest.StateLive, sourceStatus(t, a, "cam1").State)
	waitFor(t, 5*time.Second, "program frames still coming", func() bool {
		return a.mixer.Stats().FramesOut > before+15
	})
}

// Shutdown closes every part and leaves no goroutine behind.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	mustHaveTools(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "bars", URL: "gen://bars"},
		ingest.SourceConfig{Name: "clock", URL: "gen://clock"})
	logs := &logBuf{}
	a, err := start(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	p := pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	reader := run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", a.rtspURL("program"),
		"-t", "30", "-f", "null", "-")
	// let the reader attach before shutting down under it
	reg := a.mixer.Targets().Program()
	waitFor(t, 10*time.Second, "program frames flowing", func() bool { return reg.UnitsWritten() > 30 })
	// keyers with goroutine-driven parts (a clock, a PiP) and a multiview viewer
	for _, k := range []string{`{"type":"clock","on":true}`, `{"type":"pip","source":"bars","on":true}`} {
		_, err := a.mixer.KeyerSet().AddKeyer(keyerSpec(k))
		require.NoError(t, err)
	}
	wall, err := http.Get("http://" + a.http.Addr().String() + "/multiview.mjpeg")
	require.NoError(t, err)
	_, err = io.ReadFull(wall.Body, make([]byte, 4096))
	require.NoError(t, err, "the wall streams")
	closeApp(t, a, logs) // bounded: a hang fails with every goroutine's stack
	wall.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	require.Error(t, p.wait(t, 15*time.Second), "the publisher loses its server")
	_ = reader.wait(t, 15*time.Second)
}
