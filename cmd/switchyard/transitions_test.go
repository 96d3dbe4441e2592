package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/mixer/bus"
)

// Transitions, the T-bar and FTB checked on decoded program pixels.
func TestTransitionsOnPixels(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "red", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "blue", URL: "gen://color?c=blue"}))
	post := func(path, body string) bus.State {
		t.Helper()
		var st bus.State
		status := api(t, "POST", a.apiURL(path), body, &st)
		require.Equal(t, http.StatusOK, status, "%s %s", path, body)
		return st
	}
	post("/program", `{"source":"red"}`)
	post("/preview", `{"source":"blue"}`)
	frames := decodeProgram(t, a)
	frames.started(t)
	// 1000 ms at 30 fps: 30 frames; frame start+15 is the midpoint
	const mid, end = 15, 30

	t.Run("mix midpoint is the average", func(t *testing.T) {
		st := post("/auto", `{"type":"mix","duration_ms":1000}`)
		require.True(t, st.Transition.Active)
		requireNear(t, average(frames.frame(t, st.Frame+mid)), 127, 0, 127, "midpoint")
		requireNear(t, average(frames.frame(t, st.Frame+end)), 0, 0, 255, "end")
		frames.frame(t, st.Frame+end+1)
		require.Equal(t, "blue", a.mixer.Switcher().State().Program)
		require.Equal(t, "red", a.mixer.Switcher().State().Preview)
		require.False(t, a.mixer.Switcher().State().Transition.Active)
	})
	t.Run("dip goes through its colour", func(t *testing.T) {
		st := post("/auto", `{"type":"dip","duration_ms":1000,"color":"white"}`)
		requireNear(t, average(frames.frame(t, st.Frame+mid)), 255, 255, 255, "midpoint")
		requireNear(t, average(frames.frame(t, st.Frame+end)), 255, 0, 0, "end")
		frames.frame(t, st.Frame+end+1)
	})
	t.Run("wipe left moves left to right", func(t *testing.T) {
		st := post("/auto", `{"type":"wipe","direction":"left","duration_ms":1000}`) // red → blue
		f := frames.frame(t, st.Frame+mid)
		requireNear(t, pixel(f, 1, 4), 0, 0, 255, "left side shows the new picture")
		requireNear(t, pixel(f, 6, 4), 255, 0, 0, "right side still the old")
		f = frames.frame(t, st.Frame+mid/2)
		requireNear(t, pixel(f, 3, 4), 255, 0, 0, "a quarter in, the middle is still old")
		frames.frame(t, st.Frame+end+1)
	})
	t.Run("circle wipe grows from the centre", func(t *testing.T) {
		st := post("/auto", `{"type":"wipe","direction":"circle","duration_ms":1000}`) // blue → red
		f := frames.frame(t, st.Frame+mid)
		requireNear(t, pixel(f, 4, 4), 255, 0, 0, "centre shows the new picture")
		requireNear(t, pixel(f, 0, 0), 0, 0, 255, "corner still the old")
		frames.frame(t, st.Frame+end+1)
	})
	t.Run("T-bar", func(t *testing.T) { // program red, preview blue
		st := post("/transition/position", `{"position":0.5}`)
		require.True(t, st.Transition.Manual)
		requireNear(t, average(frames.frame(t, st.Frame+2)), 127, 0, 127, "held at the midpoint")
		st = post("/transition/position", `{"position":1}`)
		require.Equal(t, "blue", st.Program, "reaching 1 swaps the buses")
		require.False(t, st.Transition.Active)
		requireNear(t, average(frames.frame(t, st.Frame+1)), 0, 0, 255, "after")
	})
	t.Run("cut during a transition finishes it", func(t *testing.T) { // blue → red
		st := post("/auto", `{"type":"mix","duration_ms":3000}`)
		frames.frame(t, st.Frame+20)
		st = post("/cut", ``)
		require.Equal(t, "red", st.Program)
		require.False(t, st.Transition.Active, "no stuck transition")
		requireNear(t, average(frames.frame(t, st.Frame)), 255, 0, 0, "the cut's first frame is whole")
		requireNear(t, average(frames.frame(t, st.Frame+5)), 255, 0, 0, "and stays")
	})
	t.Run("FTB and back", func(t *testing.T) {
		st := post("/ftb", ``)
		require.True(t, st.FTB)
		requireNear(t, average(frames.frame(t, st.Frame+mid)), 127, 0, 0, "half faded")
		requireNear(t, average(frames.frame(t, st.Frame+end+1)), 0, 0, 0, "black")
		st = post("/ftb", ``)
		require.False(t, st.FTB)
		requireNear(t, average(frames.frame(t, st.Frame+end+1)), 255, 0, 0, "back")
	})
	t.Run("default transition and bad input", func(t *testing.T) {
		var st bus.State
		require.Equal(t, http.StatusOK, api(t, "PUT", a.apiURL("/transition"), `{"type":"wipe","direction":"right","duration_ms":500}`, &st))
		require.Equal(t, "wipe", st.Transition.Type)
		require.Equal(t, 500, st.Transition.DurationMS)
		for _, c := range []struct{ method, path, body, field string }{
			{"PUT", "/transition", `{"type":"zoom"}`, "type"},
			{"PUT", "/transition", `{"type":"wipe","direction":"diagonal"}`, "direction"},
			{"PUT", "/transition", `{"type":"dip","color":"plaid"}`, "color"},
			{"PUT", "/transition", `{"duration_ms":-5}`, "duration_ms"},
			{"POST", "/auto", `{"type":"spin"}`, "type"},
			{"POST", "/transition/position", `{"position":1.5}`, "position"},
			{"POST", "/transition/position", `{}`, "position"},
		} {
			var e struct{ Error, Field string }
			require.Equal(t, http.StatusBadRequest, api(t, c.method, a.apiURL(c.path), c.body, &e), c.body)
			require.Equal(t, c.field, e.Field, c.body)
		}
		b, _ := json.Marshal(a.mixer.Switcher().State())
		require.Contains(t, string(b), `"active":false`, fmt.Sprint("nothing half-done: ", string(b)))
	})
}

// firstFrameOf decodes one frame of an RTSP stream as it is now.
func firstFrameOf(t *testing.T, url string) rgb {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
		"-frames:v", "1", "-vf", fmt.Sprintf("scale=%d:%d", thumb, thumb), "-pix_fmt", "rgb24", "-f", "rawvideo", "-").Output()
	require.NoError(t, err, url)
	require.Len(t, out, thumb*thumb*3)
	return average(out)
}

// TestPreviewOutput: with program.preview_bitrate set, the preview bus is
// served on rtsp://HOST/preview for a confidence monitor, following the
// preview selection, and during a transition the source coming in.
func TestPreviewOutput(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"}, ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue"})
	cfg.Program.PreviewBitrate = 300_000
	a, _ := startApp(t, cfg)
	waitPicture(t, a, "cam1")
	waitPicture(t, a, "cam2")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	c := firstFrameOf(t, a.rtspURL("preview"))
	require.True(t, c.is("blue"), "preview shows cam2: %s", c)
	c = firstFrameOf(t, a.rtspURL("program"))
	require.True(t, c.is("red"), "program shows cam1: %s", c)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam1"}`, nil)
	c = firstFrameOf(t, a.rtspURL("preview"))
	require.True(t, c.is("red"), "preview follows the selection: %s", c)
	// during a transition the preview output shows the incoming source
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	mustAPI(t, "POST", a.apiURL("/auto"), `{"type":"mix","duration_ms":30000}`, nil)
	c = firstFrameOf(t, a.rtspURL("preview"))
	require.True(t, a.mixer.Switcher().State().Transition.Active, "the transition still running")
	require.True(t, c.is("blue"), "preview shows the transition's incoming cam2: %s", c)

	// without the setting there is no preview output
	b, _ := startApp(t, testConfig(t))
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", b.rtspURL("preview")).CombinedOutput()
	require.Error(t, err, "%s", out)
}

// TestHiddenSourcesSkipNonReferencePictures: a camera on no bus and in no
// keyer decodes only the pictures others refer to; on preview it decodes
// them all again, and a cut to it is still on the next frame.
func TestHiddenSourcesSkipNonReferencePictures(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"}, ingest.SourceConfig{Name: "cam2"}))
	// x264's medium preset: three B-frames between references, two of them
	// not referenced. Encoded first and pushed as it is, in real time, as a
	// camera's encoder sends it: an ffmpeg encoding while it pushes, starved
	// of CPU by the rest of `make test`, sends fewer than 30 a second.
	clip := filepath.Join(t.TempDir(), "bframes.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-t", "20",
		"-c:v", "libx264", "-preset", "medium", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p", "-y", clip).CombinedOutput()
	require.NoError(t, err, "make the camera's clip: %s", out)
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "flv", a.rtmpURL("cam2"))
	waitPicture(t, a, "cam1")
	waitPicture(t, a, "cam2")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	rate := func() float64 { // pictures decoded per second, over two seconds of the program clock
		t.Helper()
		n0, f0 := a.mixer.Switcher().SourceStats("cam2").Pictures, a.mixer.Stats().FramesOut
		waitFor(t, 10*time.Second, "two seconds of program", func() bool { return a.mixer.Stats().FramesOut >= f0+60 })
		return float64(a.mixer.Switcher().SourceStats("cam2").Pictures-n0) / (float64(a.mixer.Stats().FramesOut-f0) / 30)
	}
	hidden := rate()
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	shown := rate()
	t.Logf("cam2 (30 fps, B-frames) decoded at %.1f pictures/s hidden, %.1f on preview", hidden, shown)
	require.InDelta(t, 30, shown, 4, "on preview every picture is decoded")
	require.Less(t, hidden, 0.75*shown, "hidden, the non-reference pictures are skipped")

	// Hidden again, then cut to: on the next frame, and the frame shows it.
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam1"}`, nil)
	rate() // two seconds hidden
	prog := decodeProgram(t, a)
	prog.started(t)
	st := cutOnNextFrame(t, a, "/program", `{"source":"cam2"}`)
	require.False(t, average(prog.frame(t, st.Frame)).is("red"), "the cut's first frame shows cam2 (testsrc2), not cam1's red")
	require.True(t, average(prog.frame(t, st.Frame-1)).is("red"), "the frame before still shows cam1")
}
