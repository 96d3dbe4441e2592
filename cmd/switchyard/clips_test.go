package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/ingest/clip"
	"switchyard/mixer/bus"
)

// makeCounterClip writes a 320x240 30 fps H.264 + AAC clip of frames
// frames whose frame N is grey with luma 24+4N: the program's pixels tell
// which frame of the clip it shows. No B-frames: TestClipBFramesEnd covers
// those, their last frames at hold and loop.
func makeCounterClip(t *testing.T, path string, frames int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
		fmt.Sprintf("color=black:s=320x240:r=30:d=%.4f,format=yuv420p,geq=lum='24+4*N':cb=128:cr=128", float64(frames)/30),
		"-f", "lavfi", "-i", "sine=sample_rate=48000", "-c:v", "libx264", "-g", "15", "-bf", "0", "-c:a", "aac", "-shortest", path).CombinedOutput()
	require.NoError(t, err, string(out))
}

// clipFrame is the clip frame a program thumbnail shows: its grey level
// back to the counter (-1 when it is not grey, e.g. the red camera).
func clipFrame(f []byte) int {
	c := average(f)
	if abs(c.R-c.G) > 20 || abs(c.G-c.B) > 20 {
		return -1
	}
	y := float64(c.G)*219/255 + 16
	return int((y-24)/4 + 0.5)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func playerOf(t *testing.T, a *app, name string) clip.Status {
	t.Helper()
	var st struct {
		Player clip.Status `json:"player"`
	}
	mustAPI(t, "GET", a.apiURL("/sources/"+name), "", &st)
	return st.Player
}

// A clip with autoplay on-program, cut to program from a camera, plays from
// its frame 0 on the cut's frame, steps through its frames, and at its end
// (on_end next) the program goes back to the camera; a clip with on_end hold
// holds its last frame on program. Set up through the show file.
func TestClipOnProgram(t *testing.T) {
	mustHaveTools(t)
	data := t.TempDir()
	makeCounterClip(t, filepath.Join(data, "clips", "count.mp4"), 45)
	a, _ := startFromFile(t, loopbackShowIn(data)+`sources:
  - { name: cam, url: "gen://color?c=red" }
  - { name: intro, url: "file:count.mp4", autoplay: on-program, on_end: next }
  - { name: held, url: "file:count.mp4", autoplay: on-program }
`)
	waitLive(t, a, "cam")
	waitLive(t, a, "intro")
	require.Equal(t, clip.StateCued, playerOf(t, a, "intro").State)
	require.InDelta(t, 1.5, playerOf(t, a, "intro").DurationS, 0.1)

	frames := decodeProgram(t, a)
	frames.started(t)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam"}`, nil)
	st := cutOnNextFrame(t, a, "/program", `{"source":"intro"}`)
	require.Equal(t, -1, clipFrame(frames.frame(t, st.Frame-1)), "the camera before the cut")
	require.Equal(t, 0, clipFrame(frames.frame(t, st.Frame)), "the cut's frame shows the clip's frame 0")
	// the clip's frames, in order, each shown about once (a program frame
	// may repeat one while the player's first units reach the mixer)
	prev, seen := 0, map[int]bool{0: true}
	for i := int64(1); i < 70 && prev < 44; i++ {
		n := clipFrame(frames.frame(t, st.Frame+i))
		require.GreaterOrEqual(t, n, prev, "program frame %d: clip frame %d after %d", st.Frame+i, n, prev)
		require.LessOrEqual(t, n-prev, 1, "program frame %d skipped clip frames %d to %d", st.Frame+i, prev, n)
		prev, seen[n] = n, true
	}
	require.Equal(t, 44, prev, "the clip played to its last frame")
	require.Len(t, seen, 45, "every frame of the clip was on program")
	waitFor(t, 10*time.Second, "on_end next takes the program back to cam", func() bool {
		return a.mixer.Switcher().State().Program == "cam"
	})
	require.Equal(t, clip.StateEnded, playerOf(t, a, "intro").State)

	// on_end hold: the last frame stays on program
	st = cutOnNextFrame(t, a, "/program", `{"source":"held"}`)
	waitFor(t, 10*time.Second, "held ends", func() bool { return playerOf(t, a, "held").State == clip.StateEnded })
	end := a.mixer.FrameAt(time.Now())
	for i := int64(5); i < 20; i++ {
		require.Equal(t, 44, clipFrame(frames.frame(t, end+i)), "program frame %d holds the clip's last frame", end+i)
	}
	require.Equal(t, "held", a.mixer.Switcher().State().Program)
}

// The transport and the clips folder through the API, and every bad input:
// a clear error, nothing on program disturbed.
func TestClipAPIAndBadInput(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam", URL: "gen://color?c=red"})
	outside := t.TempDir()
	makeCounterClip(t, filepath.Join(cfg.DataDir, "clips", "count.mp4"), 30)
	makeCounterClip(t, filepath.Join(outside, "secret.mp4"), 10)
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.mp4"), filepath.Join(cfg.DataDir, "clips", "link.mp4")))
	a, _ := startApp(t, cfg)
	waitLive(t, a, "cam")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam"}`, nil)

	// hostile and missing paths: 400 with what to do
	for _, tc := range []struct{ url, want string }{
		{"file:../../etc/passwd", "must stay inside the clips folder"},
		{"file:" + filepath.Join(outside, "secret.mp4"), "outside the clips folder and clips.dirs"},
		{"file:link.mp4", "leads out of"},
		{"file:missing.mp4", "does not exist"},
		{"file:", "names a file"},
	} {
		var e struct{ Error, Field string }
		code := api(t, "POST", a.apiURL("/sources"), fmt.Sprintf(`{"name":"bad","url":%q}`, tc.url), &e)
		require.Equal(t, http.StatusBadRequest, code, tc.url)
		require.Contains(t, e.Error, tc.want, tc.url)
	}
	junk := filepath.Join(cfg.DataDir, "clips", "junk.mp4")
	require.NoError(t, os.WriteFile(junk, []byte("not a video"), 0o644))
	var e struct{ Error string }
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources"), `{"name":"bad","url":"file:junk.mp4"}`, &e))
	require.Contains(t, e.Error, "FFmpeg cannot read junk.mp4")

	// a clip source through the API, its transport
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"intro","url":"file:count.mp4","loop":true,"autoplay":false}`, nil)
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources/intro/player"), `{"action":"seek","position_s":60}`, &e))
	require.Contains(t, e.Error, "outside the clip")
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources/intro/player"), `{"action":"rewind"}`, &e))
	require.Equal(t, http.StatusConflict, api(t, "POST", a.apiURL("/sources/cam/player"), `{"action":"play"}`, &e))
	require.Equal(t, http.StatusNotFound, api(t, "POST", a.apiURL("/sources/nope/player"), `{"action":"play"}`, &e))
	var got struct {
		Player clip.Status `json:"player"`
	}
	mustAPI(t, "POST", a.apiURL("/sources/intro/player"), `{"action":"play"}`, &got)
	require.Equal(t, clip.StatePlaying, got.Player.State)
	require.Equal(t, "count.mp4", got.Player.File)
	mustAPI(t, "POST", a.apiURL("/sources/intro/player"), `{"action":"pause"}`, &got)
	require.Equal(t, clip.StatePaused, got.Player.State)
	mustAPI(t, "POST", a.apiURL("/sources/intro/player"), `{"action":"seek","position_s":0.5}`, &got)
	require.InDelta(t, 0.5, got.Player.PositionS, 0.01)

	// uploads
	up := func(name string, body []byte) (int, string) {
		req, err := http.NewRequest("PUT", a.apiURL("/clips/"+name), strings.NewReader(string(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "video/mp4")
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		b, _ := json.Marshal(out)
		return resp.StatusCode, string(b)
	}
	code, body := up("junk.mp4", []byte("definitely not a video"))
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "FFmpeg cannot read junk.mp4")
	code, body = up("..%2Fescape.mp4", []byte("x"))
	require.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, code, body)
	require.NoFileExists(t, filepath.Join(cfg.DataDir, "escape.mp4"))
	code, body = up("notes.txt", []byte("x"))
	require.Equal(t, http.StatusBadRequest, code, body)
	good, err := os.ReadFile(filepath.Join(cfg.DataDir, "clips", "count.mp4"))
	require.NoError(t, err)
	code, body = up("spot.mp4", good)
	require.Equal(t, http.StatusCreated, code, body)
	require.Contains(t, body, `"video":"h264"`)
	var list []ingest.ClipInfo
	mustAPI(t, "GET", a.apiURL("/clips"), "", &list)
	names := []string{}
	for _, c := range list {
		names = append(names, c.Name)
	}
	require.Contains(t, names, "spot.mp4")
	require.Contains(t, names, "count.mp4")

	// a clip deleted while it plays: the player goes on to its end and
	// holds; the program (cam) is not disturbed
	mustAPI(t, "POST", a.apiURL("/sources/intro/player"), `{"action":"play"}`, nil)
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/clips/count.mp4"), "", nil))
	require.Equal(t, http.StatusNotFound, api(t, "DELETE", a.apiURL("/clips/count.mp4"), "", nil))
	waitFor(t, 10*time.Second, "the looping player finds its file gone", func() bool {
		p := playerOf(t, a, "intro")
		return p.State == clip.StateEnded && strings.Contains(p.Error, "count.mp4")
	})
	require.Equal(t, "cam", a.mixer.Switcher().State().Program)
	var src ingest.Status
	mustAPI(t, "GET", a.apiURL("/sources/intro"), "", &src)
	require.Equal(t, ingest.StateLive, src.State, "the clip source still shows its held picture")
	_ = bus.Black
}

// The panel's player strip: play from the strip, the state, the time
// remaining counted down in red over the last 10 s.
func TestClipPanelStrip(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam", URL: "gen://color?c=red"})
	makeCounterClip(t, filepath.Join(cfg.DataDir, "clips", "count.mp4"), 150)
	cfg.Sources = append(cfg.Sources, ingest.SourceConfig{Name: "intro", URL: "file:count.mp4"})
	a, _ := startApp(t, cfg)
	waitLive(t, a, "intro")
	ctx := newBrowser(t)
	strip := `#sources .player[data-player="intro"]`
	var text string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/"),
		chromedp.WaitVisible(strip+` button`),
		chromedp.Text(strip+` button`, &text),
	))
	require.Equal(t, "play", text)
	require.NoError(t, chromedp.Run(ctx, chromedp.Text(strip+` .remaining`, &text)))
	require.Equal(t, "-0:05 count.mp4", text, "a cued clip of 5 s")
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(strip+` button`)))
	waitFor(t, 10*time.Second, "playing from the strip", func() bool { return playerOf(t, a, "intro").State == clip.StatePlaying })
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector('`+strip+`')?.dataset.state === "playing"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Poll(`document.querySelector('`+strip+` .remaining.last') !== null`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(strip+` button`, &text),
	))
	require.Equal(t, "pause", text)
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(strip+` button`)))
	waitFor(t, 10*time.Second, "paused from the strip", func() bool { return playerOf(t, a, "intro").State == clip.StatePaused })
}
