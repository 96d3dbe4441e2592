package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestHLSWatchInBrowser opens /watch in headless Chromium, with the read
// key in its URL as a viewer is given it: hls.js (vendored, embedded) plays
// the program's LL-HLS, and the video's clock runs.
func TestHLSWatchInBrowser(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"}, ingest.SourceConfig{Name: "tone", URL: "gen://tone"})
	cfg.Buses.Program = "bars"
	cfg.ReadKey = "watch-key"
	cfg.HTTP.Token = "not-for-viewers" // the page needs no API token
	require.NoError(t, cfg.Validate())
	a, _ := startApp(t, cfg)
	src, _ := a.registry.Get("bars") // the API needs the token: ask the registry
	waitFor(t, 20*time.Second, "bars live", func() bool { return src.Status().State == ingest.StateLive })

	ctx := newBrowser(t)
	var t0, t1 float64
	var status string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/watch?key=watch-key"),
		chromedp.Poll(`document.getElementById("video").currentTime > 0.5`, nil, chromedp.WithPollingTimeout(45*time.Second)),
		chromedp.Evaluate(`document.getElementById("video").currentTime`, &t0),
	), "the video starts playing")
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(fmt.Sprintf(`document.getElementById("video").currentTime > %f`, t0+2), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.getElementById("video").currentTime`, &t1),
		chromedp.Text(`#status`, &status),
	), "the video's clock advances")
	require.Greater(t, t1, t0+2)
	require.NotContains(t, status, "error")
	t.Logf("played %.1f s → %.1f s; %s", t0, t1, status)
}
