package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/mixer/bus"
	"switchyard/output/record"
)

// stingerVF draws a stinger of 320x240: pure green (0,255,0) over the left
// half, opaque from 200 ms to 600 ms and transparent elsewhere and before
// and after.
const stingerVF = "format=rgba,geq=r='0':g='255':b='0':a='if(lt(X,160)*between(T,0.2,0.6),255,0)'"

// makeStinger writes a one-second 30 fps stinger (stingerVF) to path with
// the encoder arguments args, and a 440 Hz tone when sound is set.
func makeStinger(t *testing.T, path string, sound bool, args ...string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	in := []string{"-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=30:d=1," + stingerVF}
	if sound {
		in = append(in, "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=1", "-c:a", "pcm_s16le", "-shortest")
	}
	out, err := exec.Command("nice", append([]string{"-n", "19", "ffmpeg"}, append(append(in, args...), path)...)...).CombinedOutput()
	require.NoError(t, err, string(out))
}

// A stinger over POST /auto and over the T-bar, read on the program's
// pixels: its colour where its alpha is opaque, the program under it
// elsewhere, the cut from A (red) to B (blue) under it at cut_at_ms ± 1
// frame, its sound in the program for its length; hostile input refused
// with 400s that leave the program as it was.
func TestStinger(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "red", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "blue", URL: "gen://color?c=blue"})
	clips := filepath.Join(cfg.DataDir, "clips")
	makeStinger(t, filepath.Join(clips, "sting.mov"), true, "-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le")
	makeCounterClip(t, filepath.Join(clips, "opaque.mp4"), 10)
	// a PNG sequence, as a motion designer delivers one: a folder of numbered pictures
	makeStinger(t, filepath.Join(clips, "seq", "%04d.png"), false, "-c:v", "png", "-pix_fmt", "rgba", "-f", "image2")
	require.NoError(t, os.WriteFile(filepath.Join(clips, "junk.mov"), []byte("not a video"), 0o644))
	a, _ := startApp(t, cfg)
	waitLive(t, a, "red")
	waitLive(t, a, "blue")
	post := func(path, body string) bus.State {
		t.Helper()
		var st bus.State
		mustAPI(t, "POST", a.apiURL(path), body, &st)
		return st
	}
	post("/program", `{"source":"red"}`)
	post("/preview", `{"source":"blue"}`)
	frames := decodeProgram(t, a)
	frames.started(t)
	left := func(f []byte) rgb { return pixel(f, 1, 4) }  // under the stinger's box
	right := func(f []byte) rgb { return pixel(f, 6, 4) } // never under it

	t.Run("hostile input is refused and the program goes on", func(t *testing.T) {
		for _, tc := range []struct{ path, body, field, want string }{
			{"/auto", `{"type":"stinger"}`, "clip", "names its clip"},
			{"/auto", `{"type":"stinger","clip":"missing.mov"}`, "clip", "does not exist"},
			{"/auto", `{"type":"stinger","clip":"../../etc/passwd"}`, "clip", "inside the clips folder"},
			{"/auto", `{"type":"stinger","clip":"/etc/passwd"}`, "clip", "outside the clips folder"},
			{"/auto", `{"type":"stinger","clip":"opaque.mp4"}`, "clip", "no alpha"},
			{"/auto", `{"type":"stinger","clip":"junk.mov"}`, "clip", "cannot be decoded"},
			{"/auto", `{"type":"stinger","clip":"sting.mov","cut_at_ms":1500}`, "cut_at_ms", "past the end of stinger sting.mov, which lasts 1000 ms"},
			{"/auto", `{"type":"stinger","clip":"sting.mov","cut_at_ms":-1}`, "cut_at_ms", "between 0"},
			{"/auto", `{"type":"stinger","clip":"sting.mov","cut_at_ms":2147483647}`, "cut_at_ms", "between 0"},
			{"/auto", `{"type":"stinger","clip":"sting.mov","cut_at_ms":1e30}`, "", ""},
			{"/auto", `{"type":"slide","clip":"sting.mov"}`, "type", "stinger"},
		} {
			var e struct{ Error, Field string }
			code := api(t, "POST", a.apiURL(tc.path), tc.body, &e)
			require.Equal(t, http.StatusBadRequest, code, tc.body)
			require.Contains(t, e.Error, tc.want, tc.body)
			if tc.field != "" {
				require.Equal(t, tc.field, e.Field, tc.body)
			}
			var e2 struct{ Error, Field string }
			require.Equal(t, http.StatusBadRequest, api(t, "PUT", a.apiURL("/transition"), tc.body, &e2), tc.body)
			require.Equal(t, e.Error, e2.Error, "PUT /transition refuses it the same way")
		}
		st := a.mixer.Switcher().State()
		require.Equal(t, "red", st.Program)
		require.Equal(t, "blue", st.Preview)
		require.False(t, st.Transition.Active)
		require.Equal(t, bus.TransMix, st.Transition.Type, "the default transition is untouched")
		n := a.mixer.FrameAt(time.Now()) + 3
		requireNear(t, average(frames.frame(t, n)), 255, 0, 0, "the program after the refusals")
	})

	t.Run("auto: the clip over the program, the cut under it", func(t *testing.T) {
		// the program's peak, read as the event stream takes it (every 100 ms)
		loudest := func(frames int) float64 {
			peak := -200.0
			for end := time.Now().Add(time.Duration(frames) * time.Second / 30); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				peak = max(peak, a.mixer.Sound().LastLevels().Program.PeakDB)
			}
			return peak
		}
		require.Less(t, loudest(6), -60.0, "the colour sources are silent")
		st := post("/auto", `{"type":"stinger","clip":"sting.mov","cut_at_ms":400}`)
		heard := make(chan float64, 1)
		go func() { heard <- loudest(60) }() // over the stinger's second, and one to spare on a busy machine
		require.True(t, st.Transition.Active)
		require.Equal(t, bus.TransStinger, st.Transition.Type)
		require.Equal(t, 1000, st.Transition.DurationMS, "a stinger lasts its clip")
		s := st.Frame
		f := frames.frame(t, s+3) // 100 ms: the clip is transparent
		requireNear(t, left(f), 255, 0, 0, "100 ms, left")
		requireNear(t, right(f), 255, 0, 0, "100 ms, right")
		f = frames.frame(t, s+9) // 300 ms: the box over A
		requireNear(t, left(f), 0, 255, 0, "300 ms, left: the stinger")
		requireNear(t, right(f), 255, 0, 0, "300 ms, right: A under it")
		f = frames.frame(t, s+15) // 500 ms: the box over B
		requireNear(t, left(f), 0, 255, 0, "500 ms, left: the stinger")
		requireNear(t, right(f), 0, 0, 255, "500 ms, right: B under it")
		f = frames.frame(t, s+24) // 800 ms: transparent again, B
		requireNear(t, average(f), 0, 0, 255, "800 ms")
		cut := int64(-1)
		for k := int64(4); k < 24; k++ {
			if right(frames.frame(t, s+k)).is("blue") {
				cut = k
				break
			}
		}
		require.InDelta(t, 12, cut, 1, "the cut under the stinger at 400 ms: frame 12 at 30 fps")
		frames.frame(t, s+31)
		st = a.mixer.Switcher().State()
		require.Equal(t, "blue", st.Program)
		require.Equal(t, "red", st.Preview)
		require.False(t, st.Transition.Active)
		select {
		case peak := <-heard:
			require.Greater(t, peak, -24.0, "the stinger's tone (−18 dBFS) in the program")
		case <-time.After(10 * time.Second):
			t.Fatal("no level reading")
		}
		frames.frame(t, s+40)
		require.Less(t, loudest(6), -60.0, "silence again after the stinger")
	})

	t.Run("upload: a stinger with alpha is kept and marked, a ProRes without alpha kept unmarked", func(t *testing.T) {
		dir := t.TempDir()
		makeStinger(t, filepath.Join(dir, "sting.webm"), false, "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-deadline", "realtime")
		makeStinger(t, filepath.Join(dir, "flat.mov"), false, "-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le")
		up := func(name string) (int, string) {
			body, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			return putClip(t, a, name, body)
		}
		code, body := up("sting.webm")
		require.Equal(t, http.StatusCreated, code, body)
		require.Contains(t, body, `"alpha":true`)
		code, body = up("flat.mov") // ProRes without alpha: a clip source plays it
		require.Equal(t, http.StatusCreated, code, body)
		require.Contains(t, body, `"video":"prores"`)
		require.NotContains(t, body, `"alpha"`)
		var list []ingest.ClipInfo
		mustAPI(t, "GET", a.apiURL("/clips"), "", &list)
		alpha := map[string]bool{}
		for _, c := range list {
			alpha[c.Name] = c.Alpha
			if c.Name == "seq" {
				require.Equal(t, 30, c.Pictures, "the PNG sequence's pictures")
				require.Equal(t, "png", c.Video)
			}
		}
		require.Equal(t, map[string]bool{"sting.mov": true, "sting.webm": true, "opaque.mp4": false, "junk.mov": false, "flat.mov": false, "seq": true}, alpha)
	})

	t.Run("T-bar: its position drives the clip", func(t *testing.T) { // program blue, preview red; VP9 with alpha
		var st bus.State
		mustAPI(t, "PUT", a.apiURL("/transition"), `{"type":"stinger","clip":"sting.webm","cut_at_ms":400}`, &st)
		require.Equal(t, bus.TransStinger, st.Transition.Type)
		require.Equal(t, 1000, st.Transition.DurationMS)
		for _, tc := range []struct {
			pos         float64
			left, right string
		}{
			{0.1, "blue", "blue"}, // clip frame 3: transparent, before the cut
			{0.3, "green", "blue"},
			{0.5, "green", "red"},  // frame 15: past the cut
			{0.3, "green", "blue"}, // back again: before the cut
			{0.9, "red", "red"},
		} {
			st = post("/transition/position", fmt.Sprintf(`{"position":%g}`, tc.pos))
			require.True(t, st.Transition.Manual)
			f := frames.frame(t, st.Frame+2)
			require.True(t, left(f).is(tc.left), "position %g left: %s, want %s", tc.pos, left(f), tc.left)
			require.True(t, right(f).is(tc.right), "position %g right: %s, want %s", tc.pos, right(f), tc.right)
		}
		st = post("/transition/position", `{"position":1}`)
		require.Equal(t, "red", st.Program)
		requireNear(t, average(frames.frame(t, st.Frame+1)), 255, 0, 0, "after the T-bar")
		// AUTO with no body runs the default: the stinger
		st = post("/auto", ``)
		require.Equal(t, bus.TransStinger, st.Transition.Type)
		frames.frame(t, st.Frame+31)
		require.Equal(t, "blue", a.mixer.Switcher().State().Program)
	})

	t.Run("a PNG sequence", func(t *testing.T) { // program blue, preview red; a folder of PNGs
		var st bus.State
		mustAPI(t, "PUT", a.apiURL("/transition"), `{"type":"stinger","clip":"seq","cut_at_ms":400}`, &st)
		require.Equal(t, 1000, st.Transition.DurationMS, "30 pictures, one a program frame")
		for _, tc := range []struct {
			pos         float64
			left, right string
		}{{0.3, "green", "blue"}, {0.5, "green", "red"}} {
			st = post("/transition/position", fmt.Sprintf(`{"position":%g}`, tc.pos))
			f := frames.frame(t, st.Frame+2)
			require.True(t, left(f).is(tc.left), "position %g left: %s, want %s", tc.pos, left(f), tc.left)
			require.True(t, right(f).is(tc.right), "position %g right: %s, want %s", tc.pos, right(f), tc.right)
		}
		st = post("/transition/position", `{"position":1}`)
		require.Equal(t, "red", st.Program)
	})
}

// The default stinger is kept in show.json and loaded again at start; when
// its clip is gone by then, the show starts all the same, with a mix, and
// says why.
func TestStingerRestored(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "red", URL: "gen://color?c=red"})
	clipPath := filepath.Join(cfg.DataDir, "clips", "sting.mov")
	makeStinger(t, clipPath, false, "-c:v", "qtrle", "-pix_fmt", "argb")
	a, aLogs := startApp(t, cfg)
	mustAPI(t, "PUT", a.apiURL("/transition"), `{"type":"stinger","clip":"sting.mov","cut_at_ms":300}`, nil)
	closeApp(t, a, aLogs)

	b, bLogs := startApp(t, cfg)
	tr := b.mixer.Switcher().DefaultTransition()
	require.Equal(t, bus.TransStinger, tr.Type)
	require.Equal(t, "sting.mov", tr.Clip)
	require.Equal(t, 300, *tr.CutAtMS)
	require.Equal(t, 1000, tr.DurationMS)
	closeApp(t, b, bLogs)

	require.NoError(t, os.Remove(clipPath))
	c, logs := startApp(t, cfg)
	require.Equal(t, bus.TransMix, c.mixer.Switcher().DefaultTransition().Type)
	require.Contains(t, logs.String(), "the saved stinger transition cannot be loaded")
	require.Contains(t, logs.String(), "does not exist")
}

// The panel's transition picker: stinger lists the clips with alpha, a
// pick becomes the default transition (the T-bar's), AUTO runs it.
func TestStingerPanelPicker(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "red", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "blue", URL: "gen://color?c=blue"})
	makeStinger(t, filepath.Join(cfg.DataDir, "clips", "sting.mov"), false, "-c:v", "qtrle", "-pix_fmt", "argb")
	makeCounterClip(t, filepath.Join(cfg.DataDir, "clips", "opaque.mp4"), 10)
	a, _ := startApp(t, cfg)
	waitLive(t, a, "red")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"red"}`, nil)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"blue"}`, nil)
	ctx := newBrowser(t)
	var clips []string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/"),
		chromedp.WaitVisible(`#ttype`),
		chromedp.SetValue(`#tcut`, "300"),
		chromedp.SetValue(`#ttype`, "stinger"),
		chromedp.Evaluate(`document.getElementById("ttype").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`document.querySelectorAll("#tclip option").length > 0`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`[...document.querySelectorAll("#tclip option")].map((o) => o.value)`, &clips),
	))
	require.Equal(t, []string{"sting.mov"}, clips, "only the clips with alpha")
	waitFor(t, 10*time.Second, "the pick as the default transition", func() bool {
		return a.mixer.Switcher().DefaultTransition().Type == bus.TransStinger
	})
	tr := a.mixer.Switcher().DefaultTransition()
	require.Equal(t, "sting.mov", tr.Clip)
	require.Equal(t, 300, *tr.CutAtMS)
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`#auto`)))
	waitFor(t, 10*time.Second, "the stinger run by AUTO", func() bool {
		st := a.mixer.Switcher().State()
		return st.Transition.Active && st.Transition.Type == bus.TransStinger || st.Program == "blue"
	})
	waitFor(t, 10*time.Second, "the stinger's end", func() bool { return a.mixer.Switcher().State().Program == "blue" })
}

// clips.stinger_max_mb, from the show file, bounds what a stinger may take:
// one over it is a 400 with its figures, and the program goes on.
func TestStingerMaxMB(t *testing.T) {
	mustHaveTools(t)
	_, err := loadYAML(t, "clips: {stinger_max_mb: -1}")
	require.ErrorContains(t, err, "clips.stinger_max_mb")
	_, err = loadYAML(t, "clips: {stinger_max_mb: 100000}")
	require.ErrorContains(t, err, "clips.stinger_max_mb")
	small, err := loadYAML(t, "clips: {stinger_max_mb: 1}")
	require.NoError(t, err)
	cfg := testConfig(t, ingest.SourceConfig{Name: "red", URL: "gen://color?c=red"})
	cfg.Clips = small.Clips
	makeStinger(t, filepath.Join(cfg.DataDir, "clips", "sting.mov"), false, "-c:v", "qtrle", "-pix_fmt", "argb")
	a, _ := startApp(t, cfg)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"red"}`, nil)
	var e struct{ Error, Field string }
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/auto"), `{"type":"stinger","clip":"sting.mov"}`, &e))
	require.Equal(t, "clip", e.Field)
	require.Contains(t, e.Error, "the mixer holds at most 1 MiB of a stinger")
	require.Equal(t, "red", a.mixer.Switcher().State().Program)
	require.False(t, a.mixer.Switcher().State().Transition.Active)
	require.Zero(t, a.mixer.Switcher().StingerBytes())
}

// The edit list tells a stinger as what the program did under it: a cut
// (C, not a dissolve) at the frame it happened, cut_at_ms after its start.
func TestStingerEditList(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "red", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "blue", URL: "gen://color?c=blue"})
	makeStinger(t, filepath.Join(cfg.DataDir, "clips", "sting.mov"), false, "-c:v", "qtrle", "-pix_fmt", "argb")
	a, _ := startApp(t, cfg)
	waitLive(t, a, "red")
	waitLive(t, a, "blue")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"blue"}`, nil)
	after := func(frames int64) {
		n := a.mixer.Stats().FramesOut
		waitFor(t, 30*time.Second, "program frames", func() bool { return int64(a.mixer.Stats().FramesOut) >= int64(n)+frames })
	}
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, &in))
	after(15)
	var st bus.State
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"red"}`, &st)
	c0 := st.Frame // red from here
	after(15)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"blue"}`, nil)
	mustAPI(t, "POST", a.apiURL("/auto"), `{"type":"stinger","clip":"sting.mov","cut_at_ms":400}`, &st)
	s := st.Frame
	waitFor(t, 10*time.Second, "the stinger's end", func() bool { return a.mixer.Switcher().State().Program == "blue" })
	after(15)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &in))
	edl, err := os.ReadFile(filepath.Join(a.recorder.Dir(), in.ID, "cuts.edl"))
	require.NoError(t, err)
	_, all, _ := readEDL(t, string(edl), 30)
	events := takes(t, videoEvents(all))
	require.Len(t, events, 3, "blue, red, blue:\n%s", edl)
	require.Equal(t, []string{"BLUE", "RED", "BLUE"}, []string{events[0].reel, events[1].reel, events[2].reel}, "%s", edl)
	require.Equal(t, "C", events[2].trans, "the stinger is a cut under the clip:\n%s", edl)
	require.InDelta(t, s+12-c0, events[1].rec1-events[1].rec0, 1, "red from the hot cut to the cut under the stinger (400 ms: 12 frames in):\n%s", edl)
}
