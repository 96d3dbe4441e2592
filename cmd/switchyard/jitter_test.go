package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestSourceJitterBuffer: a feed whose network stalls 120 ms twice a second
// repeats pictures on air with the program's jitter buffer (2 frames) and
// plays evenly with a buffer of its own (jitter_buffer_ms); the buffer in
// use shows in the source's status, and a change through the API applies at
// once. Both cameras are on air: cam1 on program, cam2 in a PiP. (With an
// adaptive buffer — the default — cam1's would grow over its stalls:
// TestAdaptiveJitterBuffer.)
func TestSourceJitterBuffer(t *testing.T) {
	mustHaveTools(t)
	flv := filepath.Join(t.TempDir(), "cam.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20", "-c:v", "libx264", "-preset", "ultrafast",
		"-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", "-y", flv).CombinedOutput()
	require.NoError(t, err, "make the camera's clip: %s", out)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2", JitterBufferMS: 400})
	cfg.Program.JitterBuffer = JitterBuffer(66667 * time.Microsecond) // fixed: the buffer that was the default
	a, _ := startApp(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	stall := stalls{every: 500 * time.Millisecond, length: 120 * time.Millisecond}
	errs := make(chan error, 2)
	for _, name := range []string{"cam1", "cam2"} {
		go func() { errs <- flvPusher(ctx, flv, a.rtmpURL(name), stall) }()
	}
	t.Cleanup(func() {
		cancel()
		for range 2 {
			select {
			case <-errs:
			case <-time.After(10 * time.Second):
				t.Error("a pusher did not stop")
			}
		}
	})
	waitLive(t, a, "cam1")
	waitLive(t, a, "cam2")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	require.Equal(t, 201, api(t, "POST", a.apiURL("/keyers"), `{"type":"pip","source":"cam2","rect":{"x":0,"y":0,"w":160,"h":120},"on":true}`, nil))

	status := func(name string) ingest.Status {
		var st ingest.Status
		require.Equal(t, 200, api(t, "GET", a.apiURL("/sources/"+name), "", &st))
		return st
	}
	require.Equal(t, 66, status("cam1").JitterBufferMS, "cam1: the program's buffer (2 frames)")
	require.Equal(t, 400, status("cam2").JitterBufferMS, "cam2: its own buffer")
	metrics := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	require.Contains(t, metrics, `switchyard_source_jitter_buffer_seconds{source="cam2"} 0.4`+"\n")
	require.Contains(t, metrics, `switchyard_source_jitter_buffer_seconds{source="cam1"} 0.066`+"\n")

	// a second on air to settle, then 3 s: six stalls
	frames := func(n uint64) {
		from := a.mixer.Stats().FramesOut
		waitFor(t, 30*time.Second, fmt.Sprintf("%d program frames", n), func() bool { return a.mixer.Stats().FramesOut >= from+n })
	}
	frames(30)
	late1, late2 := status("cam1").PicturesLate, status("cam2").PicturesLate
	frames(90)
	d1, d2 := status("cam1").PicturesLate-late1, status("cam2").PicturesLate-late2
	t.Logf("pictures late over six stalls of %v: cam1 (66 ms buffer) %d, cam2 (400 ms) %d", stall.length, d1, d2)
	require.GreaterOrEqual(t, d1, uint64(3), "cam1's stalls outlast its buffer: pictures repeated on air")
	require.Zero(t, d2, "cam2's buffer covers its stalls")

	// cam1 gets a buffer of its own, at once
	var st ingest.Status
	require.Equal(t, 200, api(t, "PATCH", a.apiURL("/sources/cam1"), `{"jitter_buffer_ms":400}`, &st))
	require.Equal(t, 400, st.JitterBufferMS)
	frames(30) // the change itself repeats the picture once
	late1 = status("cam1").PicturesLate
	frames(90)
	require.Zero(t, status("cam1").PicturesLate-late1, "cam1 with a 400 ms buffer: no picture late")

	var e struct{ Error string }
	require.Equal(t, 400, api(t, "PATCH", a.apiURL("/sources/cam1"), `{"jitter_buffer_ms":5000}`, &e))
	require.Contains(t, e.Error, "jitter_buffer_ms")
	require.Equal(t, 400, status("cam1").JitterBufferMS, "a bad value changes nothing")
}
