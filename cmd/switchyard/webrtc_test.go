package main

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/flashprobe"
	"switchyard/internal/servers/webrtc/whiptest"
)

func (a *app) whipURL(source string) string {
	return "http://" + a.http.Addr().String() + "/whip/" + source
}

// whipPost sends a WHIP request and returns the answer and its body.
func whipPost(t *testing.T, method, url, ctype, key, origin string, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestWHIPOverHTTP: WHIP through the HTTP listener as OBS or a page of
// another origin uses it: CORS preflight, refusals with clear errors
// (415, 400 bad SDP and VP8, 403 wrong key, 404 unknown source, 405
// trickle), a publish (201, Location, the answer) from another origin that
// takes the source live, and DELETE that ends it.
func TestWHIPOverHTTP(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "guest", PublishKey: "k3y"}))
	h264, opus := whiptest.Media(t)
	const origin = "https://guests.example"

	res, _ := whipPost(t, "OPTIONS", a.whipURL("guest"), "", "", origin, nil)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, res.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	require.Contains(t, res.Header.Get("Access-Control-Expose-Headers"), "Location")

	c := whiptest.New(t, webrtc.MimeTypeH264)
	offer := c.Offer(t)
	for _, tc := range []struct {
		name, source, ctype, key string
		body                     []byte
		status                   int
		says                     string
	}{
		{"json", "guest", "application/json", "k3y", offer, 415, "application/sdp"},
		{"junk", "guest", "application/sdp", "k3y", []byte("hello"), 400, "not SDP"},
		{"vp8", "guest", "application/sdp", "k3y", whiptest.New(t, webrtc.MimeTypeVP8).Offer(t), 400, "H.264"},
		{"wrong key", "guest", "application/sdp", "nope", offer, 403, "publish key"},
		{"no key", "guest", "application/sdp", "", offer, 403, "publish key"},
		{"unknown", "nobody", "application/sdp", "k3y", offer, 404, "no source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := whipPost(t, "POST", a.whipURL(tc.source), tc.ctype, tc.key, origin, tc.body)
			require.Equal(t, tc.status, res.StatusCode, body)
			require.Contains(t, body, tc.says)
			require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
		})
	}
	require.EqualValues(t, 2, sourceStatus(t, a, "guest").Refused, "the wrong and the missing key count on the source")

	res, answer := whipPost(t, "POST", a.whipURL("guest"), "application/sdp", "k3y", origin, offer)
	require.Equal(t, http.StatusCreated, res.StatusCode, answer)
	require.Equal(t, "application/sdp", res.Header.Get("Content-Type"))
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/whip/guest/"), loc)
	c.Send(t, answer, h264, opus)
	st := waitLive(t, a, "guest")
	require.Equal(t, "webrtc", st.Protocol)
	require.Equal(t, 320, st.Video.Width)
	waitPicture(t, a, "guest")

	// the session's statistics, in the status and on /metrics
	waitFor(t, 10*time.Second, "the WebRTC session's statistics", func() bool {
		st = sourceStatus(t, a, "guest")
		return st.WebRTC != nil && st.WebRTC.PacketsReceived > 100 && st.WebRTC.BitrateKbps > 0
	})
	t.Logf("webrtc: %+v", *st.WebRTC)
	require.Contains(t, st.WebRTC.Remote, "127.0.0.1:")
	require.Less(t, st.WebRTC.JitterMS, 1000.0)
	res, metrics := whipPost(t, "GET", "http://"+a.http.Addr().String()+"/metrics", "", "", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, metrics, `switchyard_webrtc_sessions_total{outcome="refused"} 5`)
	require.Contains(t, metrics, `switchyard_webrtc_sessions_total{outcome="answered"} 1`)
	require.Contains(t, metrics, `switchyard_webrtc_sessions_open 1`)
	require.Regexp(t, `switchyard_source_webrtc_packets_received_total\{source="guest"\} [1-9]`, metrics)
	require.Contains(t, metrics, `switchyard_source_webrtc_rtt_seconds{source="guest"}`)

	res, body := whipPost(t, "PATCH", "http://"+a.http.Addr().String()+loc, "application/trickle-ice-sdpfrag", "", origin, []byte("a=candidate:1"))
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, body)
	require.Contains(t, body, "trickle")

	res, body = whipPost(t, "DELETE", "http://"+a.http.Addr().String()+loc, "", "", origin, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	waitFor(t, 5*time.Second, "guest offline", func() bool { return sourceStatus(t, a, "guest").State == ingest.StateOffline })
	res, _ = whipPost(t, "DELETE", "http://"+a.http.Addr().String()+loc, "", "", origin, nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

// TestGuestPageInBrowser: headless Chromium with a fake camera and
// microphone opens the guest page with autostart=1: the source goes live
// over WHIP, a cut puts its pictures on the program, its sound reaches
// the program's meter, and the page's tally light turns red.
func TestGuestPageInBrowser(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "guest", PublishKey: "k3y"},
		ingest.SourceConfig{Name: "bars", URL: "gen://bars"}))
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"bars"}`, nil)

	ctx := newMediaBrowser(t)

	var state map[string]any
	err := chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/guest/guest?key=k3y&autostart=1"),
		chromedp.Poll(`window.guest && (window.guest.state === "connected" || window.guest.error !== "")`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Evaluate(`window.guest`, &state))
	require.NoError(t, err)
	require.Equal(t, "connected", state["state"], "the page: %v", state)

	st := waitLive(t, a, "guest")
	require.Equal(t, "webrtc", st.Protocol)
	// the sound comes once the browser's sender reports put it in step with
	// the picture (within a second or so)
	waitFor(t, 10*time.Second, "the microphone's Opus", func() bool { return sourceStatus(t, a, "guest").Audio != nil })
	waitPicture(t, a, "guest")

	prog := decodeProgram(t, a)
	prog.started(t)
	bars := centre(prog.latest())
	quiet := a.mixer.Sound().LastLevels().Program.PeakDB
	require.Less(t, quiet, -60.0, "the bars are silent")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"guest"}`, nil)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`window.guest.tally === "program"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Poll(`document.getElementById("tally").classList.contains("program")`, nil, chromedp.WithPollingTimeout(2*time.Second))))

	// the program shows the guest: its frames after the cut look like the
	// guest's own latest picture, not like the bars before (compared in the
	// middle: Chromium sends 16:9, which the 4:3 program letterboxes)
	snap := snapshotAverage(t, a, "guest")
	require.False(t, near(bars, snap, 30), "the guest's picture %s looks like the bars %s", snap, bars)
	t.Logf("bars %s, guest %s", bars, snap)
	waitFor(t, 10*time.Second, "the program showing the guest", func() bool {
		c := prog.latest()
		return c != nil && near(centre(c), snap, 30)
	})

	// and its sound is in the program: Chromium's fake microphone beeps
	waitFor(t, 15*time.Second, "the guest's sound on the program meter", func() bool {
		return a.mixer.Sound().LastLevels().Program.PeakDB > -40
	})
}

// latest returns the last decoded program frame, nil before the first.
func (p *programFrames) latest() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return nil
	}
	return p.frames[p.idx[p.n-1]]
}

// centre is the mean colour of the middle half (across and down) of a
// program thumbnail: a source of another shape than the program is
// letterboxed or pillarboxed there, and the bars stay outside it.
func centre(f []byte) rgb {
	var c rgb
	n := 0
	for y := thumb / 4; y < thumb*3/4; y++ {
		for x := thumb / 4; x < thumb*3/4; x++ {
			p := pixel(f, x, y)
			c.R, c.G, c.B = c.R+p.R, c.G+p.G, c.B+p.B
			n++
		}
	}
	return rgb{c.R / n, c.G / n, c.B / n}
}

// snapshotAverage is the mean colour of the middle half (across and down)
// of a source's latest decoded picture, as centre reads the program's.
func snapshotAverage(t *testing.T, a *app, name string) rgb {
	t.Helper()
	res, err := http.Get(a.apiURL("/sources/" + name + "/snapshot.jpg"))
	require.NoError(t, err)
	defer res.Body.Close()
	img, err := jpeg.Decode(res.Body)
	require.NoError(t, err)
	var c rgb
	b := img.Bounds()
	n := 0
	for y := b.Min.Y + b.Dy()/4; y < b.Min.Y+b.Dy()*3/4; y += 2 {
		for x := b.Min.X + b.Dx()/4; x < b.Min.X+b.Dx()*3/4; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			c.R, c.G, c.B = c.R+int(r>>8), c.G+int(g>>8), c.B+int(bl>>8)
			n++
		}
	}
	return rgb{c.R / n, c.G / n, c.B / n}
}

func near(a, b rgb, d int) bool {
	abs := func(v int) int { return max(v, -v) }
	return abs(a.R-b.R) <= d && abs(a.G-b.G) <= d && abs(a.B-b.B) <= d
}

// whepPlayer is a page script: it plays a stream over WHEP and keeps
// window.whep up to date from getStats (frames decoded, audio samples
// received, audio level).
const whepPlayer = `(async (name, key) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  // Chromium counts audio samples only when something plays them
  pc.ontrack = (e) => {
    if (e.track.kind !== "audio") return;
    const el = document.createElement("audio");
    el.srcObject = new MediaStream([e.track]);
    document.body.append(el);
    el.play();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === "complete") r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r();
    setTimeout(r, 3000);
  });
  const res = await fetch("/whep/" + name, { method: "POST",
    headers: { "Content-Type": "application/sdp", ...(key ? { Authorization: "Bearer " + key } : {}) }, body: pc.localDescription.sdp });
  if (res.status !== 201) return res.status + " " + (await res.text());
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  window.whep = { frames: 0, samples: 0, level: 0, peak: 0 };
  setInterval(async () => {
    (await pc.getStats()).forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      if (s.kind === "video") window.whep.frames = s.framesDecoded || 0;
      if (s.kind === "audio") {
        window.whep.samples = s.totalSamplesReceived || 0;
        window.whep.level = s.audioLevel || 0;
        window.whep.peak = Math.max(window.whep.peak, s.audioLevel || 0);
      }
    });
  }, 200);
  return "ok";
})`

// TestWHEPInBrowser: headless Chromium plays the program over WHEP: its
// frames are decoded (framesDecoded rising) and its sound (the program's
// AAC transcoded to Opus) received, with the tone's level; a wrong read
// key is refused.
func TestWHEPInBrowser(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "tone", URL: "gen://tone"})
	cfg.ReadKey = "watch-me"
	a, _ := startApp(t, cfg)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"tone"}`, nil)

	res, body := whipPost(t, "POST", "http://"+a.http.Addr().String()+"/whep/program", "application/sdp", "wrong", "", []byte("v=0"))
	require.Equal(t, http.StatusForbidden, res.StatusCode, body)
	require.Contains(t, body, "read key")

	ctx := newMediaBrowser(t)
	var out string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/healthz"),
		chromedp.Evaluate(whepPlayer+`("program", "watch-me")`, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		})))
	require.Equal(t, "ok", out)
	var first, later float64
	err := chromedp.Run(ctx, chromedp.Poll(`window.whep.frames > 10 && window.whep.samples > 48000`, nil, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		var w map[string]any
		_ = chromedp.Run(ctx, chromedp.Evaluate(`window.whep`, &w))
		t.Fatalf("after 30 s: %v (%v)", w, err)
	}
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`window.whep.frames`, &first)))
	// frames go on being decoded (a second's worth more), and the tone is heard
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`window.whep.frames > `+strconv.Itoa(int(first)+30), nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`window.whep.frames`, &later),
		chromedp.Poll(`window.whep.peak > 0.05`, nil, chromedp.WithPollingTimeout(10*time.Second))))
	require.Greater(t, later, first+30)
	var w map[string]any
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`window.whep`, &w)))
	t.Logf("whep in chromium: %v", w)
	require.InDelta(t, 0.126, w["level"], 0.03, "the −18 dBFS tone, through AAC and Opus")
	waitFor(t, 5*time.Second, "one WHEP session open", func() bool { return a.webrtc.Open() == 1 })
}

// newMediaBrowser starts headless Chromium with a fake camera and
// microphone, allowed without asking, and autoplay.
func newMediaBrowser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(func(format string, args ...any) {
		if !strings.HasPrefix(format, "could not unmarshal event") {
			log.Printf(format, args...)
		}
	}))
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

// TestWHIPToProgramLatency: the guest path's delay, a flashing camera of
// our own published over WHIP (pion) to the program's viewers, over 20
// flashes, beside the same camera over RTMP. The test checks that every
// flash is measured, not how fast (the figures are logged).
func TestWHIPToProgramLatency(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "guest"}, ingest.SourceConfig{Name: "cam1"}))
	for _, c := range []struct{ source, proto string }{{"guest", "webrtc"}, {"cam1", "rtmp"}} {
		got, _ := measureLatency(t, a, c.source, c.proto, 320, 240, 20)
		for k, ds := range got {
			require.Len(t, ds, 20)
			t.Logf("%s camera to the program's %s viewer: %s", c.proto, k, flashprobe.Summarise(ds))
		}
	}
}

// TestPanelMonitorInBrowser: the panel's real-time monitor plays the
// program over WHEP in Chromium: frames decoded, sound received (muted
// until unmuted), and stop ends the WHEP session.
func TestPanelMonitorInBrowser(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "tone", URL: "gen://tone"}))
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"tone"}`, nil)
	ctx := newMediaBrowser(t)
	const stats = `(async () => { let f = 0, s = 0; (await window.monitor.pc.getStats()).forEach((x) => {
		if (x.type === "inbound-rtp" && x.kind === "video") f = x.framesDecoded || 0;
		if (x.type === "inbound-rtp" && x.kind === "audio") s = x.totalSamplesReceived || 0; }); return [f, s]; })()`
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/"),
		chromedp.Poll(`window.monitor !== undefined`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Click(`#rtc-watch`, chromedp.ByQuery),
		chromedp.Poll(`window.monitor.state === "playing" || window.monitor.state.startsWith("error")`, nil, chromedp.WithPollingTimeout(20*time.Second))))
	var state string
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`window.monitor.state`, &state)))
	require.Equal(t, "playing", state)
	var got []float64
	waitFor(t, 20*time.Second, "frames and sound at the panel's monitor", func() bool {
		require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(stats, &got, await)))
		return len(got) == 2 && got[0] > 30 && got[1] > 48000
	})
	var muted bool
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`document.getElementById("rtc-video").muted`, &muted)))
	require.True(t, muted, "muted until the operator unmutes")
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`#rtc-mute`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("rtc-video").muted`, &muted)))
	require.False(t, muted)
	require.Equal(t, 1, a.webrtc.Open())
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`#rtc-watch`, chromedp.ByQuery)))
	waitFor(t, 10*time.Second, "the WHEP session ended by stop", func() bool { return a.webrtc.Open() == 0 })
}

// TestWebRTCConfig: the webrtc keys from the show file and the
// environment, validated naming the key; webrtc.udp empty turns WebRTC
// off, and /whip says so.
func TestWebRTCConfig(t *testing.T) {
	load := func(yaml string, env ...string) (*Config, error) {
		p := filepath.Join(t.TempDir(), "show.yaml")
		require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
		return LoadConfig(p, env)
	}
	cfg, err := load("")
	require.NoError(t, err)
	require.Equal(t, ":8189", cfg.WebRTC.UDP, "the default")
	cfg, err = load(`webrtc: { udp: "127.0.0.1:9000", stun: ["stun:stun.example.org:3478"], turn: [{url: "turn:t.example.org:3478", username: u, credential: p}] }`,
		"SWITCHYARD_WEBRTC_PUBLIC_IPS=203.0.113.7, 198.51.100.2")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9000", cfg.WebRTC.UDP)
	require.Equal(t, []string{"203.0.113.7", "198.51.100.2"}, cfg.WebRTC.PublicIPs)
	require.Len(t, cfg.WebRTC.iceServers(), 2)
	for _, c := range []struct{ yaml, env, key string }{
		{"webrtc: {udp: 'nowhere'}", "", "webrtc.udp"},
		{"", "SWITCHYARD_WEBRTC_UDP=example.org:8189", "webrtc.udp"},
		{"webrtc: {public_ips: [a.b.c]}", "", "webrtc.public_ips"},
		{"webrtc: {stun: ['http://x']}", "", "webrtc.stun"},
		{"webrtc: {turn: [{url: 'turn:x:3478'}]}", "", "webrtc.turn"},
		{"webrtc: {udpp: ':1'}", "", "webrtc.udpp"},
		{"", "SWITCHYARD_WEBRTC_TURN=turn:x", "SWITCHYARD_WEBRTC_TURN"},
	} {
		var env []string
		if c.env != "" {
			env = []string{c.env}
		}
		_, err := load(c.yaml, env...)
		require.ErrorContains(t, err, c.key, "%s %s", c.yaml, c.env)
	}

	off := testConfig(t, ingest.SourceConfig{Name: "guest"})
	off.WebRTC.UDP = ""
	a, _ := startApp(t, off)
	require.Nil(t, a.webrtc)
	res, body := whipPost(t, "POST", a.whipURL("guest"), "application/sdp", "", "", []byte("v=0"))
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Contains(t, body, "webrtc.udp")
}
