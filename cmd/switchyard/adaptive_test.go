package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
)

// TestAdaptiveJitterBuffer: a camera (pictures and sound) pushed over RTMP
// through a TCP proxy that delays each chunk by a random 0, 10, 40 and then
// 120 ms (in order), on program with jitter_buffer_ms: auto. At each step
// its buffer follows the network: the status shows jitter_buffer_ms at or
// above the measured transit jitter and near what it measured it needs
// (transit plus decode, jitter_need_ms); after 2 s at a step no picture is
// late (on a quiet machine; on a busy one, a stall past every need before
// is a late picture, and a step of the buffer at once); and the program repeats or skips at most one of its pictures per
// change of the buffer (the mixer's count of aired jumps against its count
// of steps). A microphone source follows the camera's buffer.
func TestAdaptiveJitterBuffer(t *testing.T) {
	mustHaveTools(t)
	flv := filepath.Join(t.TempDir(), "cam.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "60", "-c:v", "libx264", "-preset", "ultrafast",
		"-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", "-y", flv).CombinedOutput()
	require.NoError(t, err, "make the camera's clip: %s", out)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", JitterBufferMS: ingest.JitterAuto}))
	proxy := testpeer.StartProxy(t, a.rtmp.Addr().String())

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { errs <- flvPusher(ctx, flv, "rtmp://"+proxy.Addr()+"/live/cam1", stalls{}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-errs:
		case <-time.After(10 * time.Second):
			t.Error("the pusher did not stop")
		}
	})
	waitLive(t, a, "cam1")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)

	// a microphone on the camera's buffer: through the API, checked
	var e struct{ Error, Field string }
	require.Equal(t, 400, api(t, "POST", a.apiURL("/sources"), `{"name":"mic1","follows":"cam9"}`, &e))
	require.Equal(t, "follows", e.Field, e.Error)
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"mic1","follows":"cam1"}`, nil)
	require.Equal(t, 409, api(t, "DELETE", a.apiURL("/sources/cam1"), "", &e), "a followed source stays")

	frames := func(n uint64) {
		t.Helper()
		from := a.mixer.Stats().FramesOut
		waitFor(t, 60*time.Second, fmt.Sprintf("%d program frames", n), func() bool { return a.mixer.Stats().FramesOut >= from+n })
	}
	// it starts on the fixed default (2 frames) and comes down to what a
	// clean loopback needs, a quarter frame a second
	frames(240)
	t.Logf("after 8 s on a clean loopback: %d ms", sourceStatus(t, a, "cam1").JitterBufferMS)

	// needs seen (by polling the status), for "near what it needs": the
	// buffer holds a peak for 6–8 s after it and for shrinkHold after it grew
	type seen struct {
		at   time.Time
		need float64
	}
	var needs []seen
	status := func() ingest.Status {
		st := sourceStatus(t, a, "cam1")
		needs = append(needs, seen{time.Now(), st.JitterNeedMS})
		return st
	}
	recentPeak := func(within time.Duration) float64 {
		var m float64
		for _, n := range needs {
			if time.Since(n.at) <= within {
				m = max(m, n.need)
			}
		}
		return m
	}
	poll := func(n uint64) {
		t.Helper()
		from := a.mixer.Stats().FramesOut
		waitFor(t, 60*time.Second, fmt.Sprintf("%d program frames", n), func() bool {
			status()
			return a.mixer.Stats().FramesOut >= from+n
		})
	}

	var report []string
	for _, level := range []time.Duration{0, 10 * time.Millisecond, 40 * time.Millisecond, 120 * time.Millisecond} {
		proxy.Jitter(level)
		poll(60) // 2 s to follow it
		before := a.mixer.SourceStats("cam1")
		poll(150) // 5 s at this jitter
		after := a.mixer.SourceStats("cam1")
		st, mic := status(), sourceStatus(t, a, "mic1")
		late, steps, jumps := after.PicturesLate-before.PicturesLate, after.JitterSteps-before.JitterSteps, after.AiredJumps-before.AiredJumps
		moves := after.MapMoves - before.MapMoves // the clock mapping's own (timing.go), not the buffer's
		soundLate := after.SoundLate - before.SoundLate
		peak := recentPeak(20 * time.Second)
		report = append(report, fmt.Sprintf("jitter %v: buffer %d ms (need %.1f ms, peak of the last 20 s %.1f ms, transit %.1f ms), over 5 s: %d steps, %d mapping moves, %d aired jumps, %d late pictures, %v late sound",
			level, st.JitterBufferMS, st.JitterNeedMS, peak, st.TransitJitterMS, steps, moves, jumps, late, soundLate))
		t.Log(report[len(report)-1])

		require.True(t, st.JitterBufferAuto)
		// after 2 s at a level, a picture is late only when the need rose
		// past all it had been (the machine stalled: tests share 2 cores),
		// and then the buffer grew: never a late picture without a step
		require.LessOrEqual(t, late, steps, "jitter %v: pictures late after 2 s without the buffer growing", level)
		require.LessOrEqual(t, late, uint64(2), "jitter %v: pictures late after 2 s", level)
		require.LessOrEqual(t, jumps, steps+moves, "jitter %v: more pictures repeated or skipped than the buffer's steps (and the mapping's moves)", level)
		require.GreaterOrEqual(t, float64(st.JitterBufferMS)+1, st.TransitJitterMS, "jitter %v: the buffer covers the transit jitter", level)
		require.GreaterOrEqual(t, float64(st.JitterBufferMS)+1, st.JitterNeedMS, "jitter %v: the buffer covers what it needs", level)
		// the target (peak + 4 ms + an eighth) and a growth's overshoot (≤ half a frame)
		require.LessOrEqual(t, float64(st.JitterBufferMS), peak*9/8+4+17+1, "jitter %v: the buffer near what it needs", level)
		require.GreaterOrEqual(t, st.JitterBufferMS, int(level*8/10/time.Millisecond), "jitter %v: the buffer follows the network", level)
		require.Equal(t, st.JitterBufferMS, mic.JitterBufferMS, "mic1 follows cam1's buffer")
	}
	// the whole run: every repeat or skip on air was a late picture or a step
	all := a.mixer.SourceStats("cam1")
	t.Logf("whole run: %d steps, %d mapping moves, %d aired jumps, %d late pictures, %v late sound", all.JitterSteps, all.MapMoves, all.AiredJumps, all.PicturesLate, all.SoundLate)
	require.LessOrEqual(t, all.AiredJumps, all.JitterSteps+all.MapMoves+all.PicturesLate, "aired jumps beyond the steps and late pictures:\n%s", strings.Join(report, "\n"))
}

// TestAdaptiveSettingsSurviveRestart: jitter_buffer_ms auto, a fixed value
// and follows set through the API are in show.json and back after a
// restart; a fixed value set over the program's auto wins.
func TestAdaptiveSettingsSurviveRestart(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"})
	cfg.Program.JitterBuffer = JitterBuffer(100 * time.Millisecond) // the program's: fixed
	a, _ := startApp(t, cfg)
	mustAPI(t, "PATCH", a.apiURL("/sources/cam1"), `{"jitter_buffer_ms":"auto"}`, nil)
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"mic1","follows":"cam1"}`, nil)
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"far","jitter_buffer_ms":250}`, nil)
	require.True(t, sourceStatus(t, a, "cam1").JitterBufferAuto, "auto over the program's fixed 100 ms")
	a.Close()

	b, _ := startApp(t, cfg)
	cam, mic, far := sourceStatus(t, b, "cam1"), sourceStatus(t, b, "mic1"), sourceStatus(t, b, "far")
	require.True(t, cam.JitterBufferAuto)
	require.True(t, mic.JitterBufferAuto, "mic1 follows cam1's adaptive buffer")
	require.Equal(t, cam.JitterBufferMS, mic.JitterBufferMS)
	require.False(t, far.JitterBufferAuto)
	require.Equal(t, 250, far.JitterBufferMS)
	var e struct{ Error, Field string }
	require.Equal(t, 400, api(t, "PATCH", b.apiURL("/sources/far"), `{"follows":"mic1"}`, &e), "mic1 follows another")
	require.Equal(t, "follows", e.Field)
}
