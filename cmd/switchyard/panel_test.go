package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/mixer/keyer"
)

// chromium finds the browser `make deps` installs.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: run `make deps` (it installs the Debian package chromium)")
	return ""
}

// artifactDir is where tests leave files for people to look at
// (SWITCHYARD_ARTIFACTS, else a folder under the system temp dir).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("SWITCHYARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "switchyard-artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// TestPanelInBrowser drives the panel in headless Chromium as an operator
// would: keys select and cut, AUTO runs a transition.
func TestPanelInBrowser(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"}, ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue"},
		ingest.SourceConfig{Name: "tone", URL: "gen://tone"}) // a source with sound, for the meters
	cfg.HTTP.Token = "panel-token"
	// fixed, so that the buffer shown holds still (an adaptive one moves
	// with its source's needs: TestAdaptiveJitterBuffer)
	cfg.Program.JitterBuffer = JitterBuffer(66667 * time.Microsecond)
	a, _ := startApp(t, cfg)
	for _, name := range []string{"cam1", "cam2"} { // the API needs the token: ask the registry
		src, _ := a.registry.Get(name)
		waitFor(t, 20*time.Second, name+" live", func() bool { return src.Status().State == ingest.StateLive })
	}

	ctx := newBrowser(t) // the profile: see newBrowser

	// The panel asks for the token once and logs in with it: the server
	// keeps the session in an HttpOnly cookie, which no script can read.
	base := "http://" + a.http.Addr().String()
	var cookies, stored string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#login-token`),
		chromedp.SendKeys(`#login-token`, "panel-token"+kb.Enter),
		chromedp.Poll(`window.switchyard && window.switchyard.ready`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.WaitVisible(`#pgm-row button[data-source="cam2"]`),
		chromedp.Evaluate(`document.cookie`, &cookies),
		chromedp.Evaluate(`JSON.stringify(localStorage)`, &stored),
	))
	require.NotContains(t, cookies, "switchyard_session", "the session cookie is HttpOnly")
	require.NotContains(t, cookies+stored, "panel-token", "the token is kept nowhere a script reads it")

	// Each source links to its web tally page, which the logged-in panel may open.
	var tallyHref string
	var tallyStatus int
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector('#sources tr[data-source="cam2"] a.tally')?.getAttribute("href")`, &tallyHref,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`fetch(document.querySelector('#sources tr[data-source="cam2"] a.tally').href).then((r) => r.status)`, &tallyStatus,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })))
	require.Equal(t, "/tally/cam2", tallyHref)
	require.Equal(t, http.StatusOK, tallyStatus)

	// Each source's jitter buffer in use, and a change to it, on the event stream.
	bufField := func(name string) string { return `#sources tr[data-source="` + name + `"] .buf input` }
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(`document.querySelector('`+bufField("cam1")+`')?.value === "66"`, nil,
		chromedp.WithPollingTimeout(10*time.Second))), "cam1 shows the program's buffer")
	src2, _ := a.registry.Get("cam2")
	cfg2 := src2.Config()
	cfg2.JitterBufferMS = 250
	_, err := a.sources.Update(cfg2) // as PATCH /api/v1/sources/cam2 does
	require.NoError(t, err)
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(`document.querySelector('`+bufField("cam2")+`')?.value === "250"`, nil,
		chromedp.WithPollingTimeout(10*time.Second))), "cam2's own buffer, changed while the panel is open")

	// The operator sets cam1's buffer in the panel: typed, then Enter.
	setBuffer := func(name, ms string) {
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Focus(bufField(name), chromedp.NodeVisible),
			chromedp.Evaluate(`document.querySelector('`+bufField(name)+`').value = ""`, nil),
			chromedp.SendKeys(bufField(name), ms+kb.Enter),
		))
	}
	setBuffer("cam1", "300")
	waitFor(t, 10*time.Second, "cam1's buffer set from the panel", func() bool {
		return a.mixer.Switcher().SourceStats("cam1").JitterBuffer == 300*time.Millisecond
	})
	// A buffer past the longest is refused: the API's reason shows, nothing changes.
	setBuffer("cam1", "5000")
	var refusal string
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(`document.getElementById("error").textContent`, &refusal,
		chromedp.WithPollingTimeout(10*time.Second))), "the refusal shown")
	require.Contains(t, refusal, "jitter_buffer_ms")
	require.Equal(t, 300*time.Millisecond, a.mixer.Switcher().SourceStats("cam1").JitterBuffer, "a refused buffer changes nothing")
	// Leaving the field draws the table again with the buffer in use.
	require.NoError(t, chromedp.Run(ctx, chromedp.Blur(bufField("cam1")),
		chromedp.Poll(`document.querySelector('`+bufField("cam1")+`')?.value === "300"`, nil, chromedp.WithPollingTimeout(10*time.Second))),
		"cam1's field back to the buffer in use")

	// 2 selects the second source on preview; Space cuts it to program.
	key := func(k string, opts ...chromedp.KeyOption) {
		require.NoError(t, chromedp.Run(ctx, chromedp.KeyEvent(k, opts...)))
	}
	key("2")
	waitFor(t, 5*time.Second, "cam2 on preview", func() bool { return a.mixer.Switcher().State().Preview == "cam2" })
	key(" ")
	waitFor(t, 5*time.Second, "cam2 on program", func() bool { return a.mixer.Switcher().State().Program == "cam2" })
	var pgmLit string
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(`document.querySelector("#pgm-row button.pgm")?.dataset.source === "cam2"`, nil,
		chromedp.WithPollingTimeout(5*time.Second)), chromedp.Text(`#pgm-name`, &pgmLit)))
	require.Equal(t, "cam2", pgmLit, "the panel shows the program it was told about on the event stream")

	// AUTO with the default one-second mix: the program changes at its end.
	key("1")
	waitFor(t, 5*time.Second, "cam1 on preview", func() bool { return a.mixer.Switcher().State().Preview == "cam1" })
	// Count the clicks the page receives, to tell a click the harness lost
	// (seen once on a loaded machine) from one the panel ignored.
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(
		`window.autoClicks = 0; document.getElementById("auto").addEventListener("click", () => window.autoClicks++)`, nil)))
	clicked := time.Now()
	for try := 0; ; try++ {
		require.NoError(t, chromedp.Run(ctx, chromedp.Click(`#auto`, chromedp.NodeVisible)))
		var n int
		err := chromedp.Run(ctx, chromedp.Poll(`window.autoClicks`, &n, chromedp.WithPollingTimeout(3*time.Second)))
		if err == nil && n > 0 {
			break
		}
		require.Less(t, try, 2, "the page never received the click on AUTO")
		t.Logf("the click on AUTO did not reach the page (try %d); clicking again", try+1)
		clicked = time.Now()
	}
	sawActive := false
	waitFor(t, 10*time.Second, "the transition to end on cam1", func() bool {
		st := a.mixer.Switcher().State()
		sawActive = sawActive || st.Transition.Active
		return st.Program == "cam1" && !st.Transition.Active
	})
	took := time.Since(clicked)
	require.True(t, sawActive, "AUTO ran a transition, not a cut")
	require.Greater(t, took, 800*time.Millisecond, "the mix took its second")

	// Key press → program change in the API, Shift+1 / Shift+2 hot cuts.
	var lat []time.Duration
	for i := range 20 {
		want, k := "cam2", "2"
		if i%2 == 1 {
			want, k = "cam1", "1"
		}
		t0 := time.Now()
		key(k, chromedp.KeyModifiers(input.ModifierShift))
		waitFor(t, 5*time.Second, want+" on program", func() bool { return a.mixer.Switcher().State().Program == want })
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	t.Logf("key press → program change in the API: median %s, worst %s (20 presses)", lat[len(lat)/2].Round(100*time.Microsecond),
		lat[len(lat)-1].Round(100*time.Microsecond))

	// F fades to black; the panel's FTB lights; F again fades back.
	key("f")
	waitFor(t, 5*time.Second, "FTB", func() bool { return a.mixer.Switcher().State().FTB })
	require.NoError(t, chromedp.Run(ctx, chromedp.WaitVisible(`#ftb.on`)))
	key("f")
	waitFor(t, 5*time.Second, "FTB back up", func() bool { return !a.mixer.Switcher().State().FTB })
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(`!document.getElementById("ftb").classList.contains("on")`, nil,
		chromedp.WithPollingTimeout(5*time.Second))), "the FTB button goes dark again")

	// The audio strip's mute button mutes the source; the meters move.
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`[data-strip="cam1"] button`)))
	waitFor(t, 5*time.Second, "cam1 muted", func() bool { return a.mixer.Sound().Audio().Sources["cam1"].Mute })
	// the tone's meter shows its level (−18 dBFS: about two thirds of the
	// meter's 60 dB), and moves off zero, from the levels events
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(`parseFloat(document.querySelector('[data-strip="tone"] .meter i').style.width) > 50`, nil,
		chromedp.WithPollingTimeout(5*time.Second))), "the tone's meter moves")
	var silent string
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector('[data-strip="cam1"] .meter i').style.width`, &silent)))
	require.Contains(t, []string{"", "0%"}, silent, "a source without sound shows none")

	// A lower third made, put on air and retitled from the keyers panel.
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SendKeys(`#lt-title`, "Ada Lovelace"), chromedp.SendKeys(`#lt-sub`, "Analyst"),
		chromedp.Click(`#lt-new button`, chromedp.NodeVisible)))
	var lt keyer.Status
	waitFor(t, 5*time.Second, "the lower third added", func() bool {
		ks := a.mixer.KeyerSet().Keyers()
		if len(ks) == 1 {
			lt = ks[0]
		}
		return len(ks) == 1
	})
	require.Equal(t, "lowerthird", lt.Type)
	require.Equal(t, "Analyst", lt.Subtitle)
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`button[data-keyer="`+lt.ID+`"]`, chromedp.NodeVisible)))
	waitFor(t, 5*time.Second, "the lower third on air", func() bool {
		k, _ := a.mixer.KeyerSet().Keyer(lt.ID)
		return k.On && k.Level == 1
	})
	require.NoError(t, chromedp.Run(ctx,
		chromedp.WaitVisible(`button.pgm[data-keyer="`+lt.ID+`"]`),
		chromedp.SetValue(`input[aria-label="`+lt.ID+` title"]`, "Grace Hopper"),
		chromedp.Click(`//input[@aria-label="`+lt.ID+` subtitle"]/following-sibling::button`, chromedp.NodeVisible)))
	waitFor(t, 5*time.Second, "the lower third retitled", func() bool {
		k, _ := a.mixer.KeyerSet().Keyer(lt.ID)
		return k.Title == "Grace Hopper" && k.Subtitle == "Analyst"
	})

	// REC, then a marker from the MARK button and one from the M key.
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`#rec`, chromedp.NodeVisible)))
	waitFor(t, 10*time.Second, "recording", func() bool { _, on := a.recorder.Active(); return on })
	require.NoError(t, chromedp.Run(ctx, chromedp.WaitEnabled(`#mark`), chromedp.Click(`#mark`, chromedp.NodeVisible)))
	waitFor(t, 5*time.Second, "the first marker", func() bool { in, _ := a.recorder.Active(); return len(in.Markers) == 1 })
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(`document.getElementById("mark").dataset.count === "1"`, nil, chromedp.WithPollingTimeout(5*time.Second))))
	key("m")
	waitFor(t, 5*time.Second, "the second marker", func() bool { in, _ := a.recorder.Active(); return len(in.Markers) == 2 })
	in, _ := a.recorder.Active()
	require.Equal(t, []string{"Marker 1", "Marker 2"}, []string{in.Markers[0].Name, in.Markers[1].Name})
	require.LessOrEqual(t, in.Markers[0].Frame, in.Markers[1].Frame)
	_, err = a.recorder.Stop()
	require.NoError(t, err)

	var png []byte
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`document.getElementById("multiview").naturalWidth === 960`,
			nil, chromedp.WithPollingTimeout(10*time.Second)), // the multiview streams, with the token's cookie
		chromedp.FullScreenshot(&png, 100))) // 100: PNG
	shot := filepath.Join(artifactDir(t), "panel.png")
	require.NoError(t, os.WriteFile(shot, png, 0o644))
	t.Logf("panel screenshot: %s", shot)
}
