package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// newBrowser starts headless Chromium for a test; it stops with the test.
// Its profile is chromedp's own temporary folder, removed when the browser
// has exited: Chromium's helper processes may still write into a profile
// for a moment after it, which would fail t.TempDir's clean-up.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(func(format string, args ...any) {
		if !strings.HasPrefix(format, "could not unmarshal event") { // see TestPanelInBrowser
			log.Printf(format, args...)
		}
	}))
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

// TestCrossSiteFromBrowser: a page of another site, opened in Chromium,
// tries what the issue found — fetch(…, {mode: "no-cors"}) to add an
// output, a plain HTML form to fade to black — and changes nothing. The
// requests do reach the server (the audit log has them), refused.
func TestCrossSiteFromBrowser(t *testing.T) {
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"}))
	panel := "http://" + a.http.Addr().String()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>a page of another site</title>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="%[1]s/api/v1/ftb" enctype="text/plain" target="sink">
  <input name='{"x":"' value='"}'>
</form>
<script>
window.done = { fetch: "", form: false };
fetch("%[1]s/api/v1/outputs", { method: "POST", mode: "no-cors",
  body: JSON.stringify({ name: "evil", url: "rtmp://evil.example/live/stolen" }) })
  .then(() => { window.done.fetch = "sent"; }, (e) => { window.done.fetch = "failed: " + e; });
document.getElementById("f").submit();
window.done.form = true;
</script>`, panel)
	}))
	defer evil.Close()
	_, port, err := net.SplitHostPort(evil.Listener.Addr().String())
	require.NoError(t, err)
	// localhost and 127.0.0.1 are different sites to the browser
	page := "http://localhost:" + port + "/"

	ctx := newBrowser(t)
	var fetched string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(page),
		chromedp.Poll(`window.done && window.done.form && window.done.fetch !== ""`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`window.done.fetch`, &fetched),
	))
	t.Logf("the page's no-cors fetch: %s", fetched)
	waitFor(t, 20*time.Second, "both requests refused at the server", func() bool {
		l := logs.String()
		return strings.Contains(l, "method=POST route=/api/v1/outputs status=403") &&
			strings.Contains(l, "method=POST route=/api/v1/ftb status=403")
	})
	require.Empty(t, a.outputs.List(), "no output added")
	require.False(t, a.mixer.Switcher().State().FTB, "no fade to black")
}

// TestPanelHidesWhatTheRoleMayNot: logged in with a viewer token, the panel
// shows the show but none of the controls; with an audio token, the audio
// strips' controls only; the director's buses and keyers are hidden from
// both.
func TestPanelHidesWhatTheRoleMayNot(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"})
	cfg.HTTP.Tokens = []TokenConfig{{Name: "eye", Token: "viewer-token-1234", Role: "viewer"},
		{Name: "mix", Token: "audio-token-12345", Role: "audio"}}
	a, _ := startApp(t, cfg)
	src, _ := a.registry.Get("cam1")
	waitFor(t, 20*time.Second, "cam1 live", func() bool { return src.Status().State == ingest.StateLive })
	base := "http://" + a.http.Addr().String()
	ctx := newBrowser(t)
	visible := func(sel string) bool {
		var v bool
		require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(
			`(() => { const el = document.querySelector(`+"`"+sel+"`"+`); return !!el && el.offsetParent !== null; })()`, &v)))
		return v
	}
	login := func(token string) {
		require.NoError(t, chromedp.Run(ctx,
			chromedp.WaitVisible(`#login-token`),
			chromedp.SendKeys(`#login-token`, token+kb.Enter),
			chromedp.Poll(`window.switchyard && window.switchyard.ready`, nil, chromedp.WithPollingTimeout(20*time.Second)),
			chromedp.WaitVisible(`[data-strip="cam1"]`),
		))
	}

	require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(base+"/")))
	login("viewer-token-1234")
	var who string
	require.NoError(t, chromedp.Run(ctx, chromedp.Text(`#who`, &who)))
	require.Equal(t, "eye · viewer", who)
	for _, sel := range []string{"#switcher", "#cut", "#lt-new", "#rec", `[data-strip="cam1"] input`, `[data-strip="master"] button`} {
		require.False(t, visible(sel), "a viewer does not see %s", sel)
	}
	require.True(t, visible("#multiview"), "a viewer watches")
	require.True(t, visible(`[data-strip="cam1"] .meter`), "and sees the meters")

	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`#logout`, chromedp.NodeVisible)))
	login("audio-token-12345")
	require.True(t, visible(`[data-strip="cam1"] input`), "the audio role rides the faders")
	require.True(t, visible(`[data-strip="master"] button`))
	require.False(t, visible("#switcher"), "but not the buses")
	require.False(t, visible("#lt-new"))
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`[data-strip="cam1"] button`, chromedp.NodeVisible)))
	waitFor(t, 5*time.Second, "cam1 muted from the audio role's panel", func() bool { return a.mixer.Sound().Audio().Sources["cam1"].Mute })
}
