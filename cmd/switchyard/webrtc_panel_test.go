package main

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/servers/webrtc/whiptest"
)

// TestWebRTCLinkInPanel: a WHIP guest's session — round trip, loss, PLIs,
// and in its title the jitter, NACKs and bitrate — is in the panel's
// sources table, moving with the once-a-second links event; a generator
// beside it shows none.
func TestWebRTCLinkInPanel(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "guest", PublishKey: "k3y"},
		ingest.SourceConfig{Name: "bars", URL: "gen://bars"}))
	h264, opus := whiptest.Media(t)
	c := whiptest.New(t, webrtc.MimeTypeH264)
	res, answer := whipPost(t, "POST", a.whipURL("guest"), "application/sdp", "k3y", "", c.Offer(t))
	require.Equal(t, http.StatusCreated, res.StatusCode, answer)
	c.Send(t, answer, h264, opus)
	waitPicture(t, a, "guest")

	ctx := newBrowser(t)
	linkCell := func(name string) string { return `#sources tr[data-source="` + name + `"] td.link` }
	var guest, bars, title, first string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/"),
		chromedp.Poll(`window.switchyard && window.switchyard.ready`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Poll(`/^WebRTC \d+(\.\d)? ms · \d+\.\d % lost · \d+ PLI$/.test(document.querySelector('`+linkCell("guest")+`')?.textContent)`,
			nil, chromedp.WithPollingTimeout(10*time.Second)),
		// read in one script each: the table is drawn again with every links event
		chromedp.Evaluate(`document.querySelector('`+linkCell("guest")+` span').title`, &first),
	), "the WHIP guest's session in the sources table")
	// the numbers move: the title (packets received) changes with the next links events
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector('`+linkCell("guest")+` span')?.title !== `+strconv.Quote(first),
			nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Evaluate(`document.querySelector('`+linkCell("guest")+`').textContent`, &guest),
		chromedp.Evaluate(`document.querySelector('`+linkCell("guest")+` span').title`, &title),
		chromedp.Evaluate(`document.querySelector('`+linkCell("bars")+`')?.textContent ?? ""`, &bars),
	), "the session's numbers move")
	t.Logf("the panel shows the guest's session as %q (%s)", guest, title)
	require.Regexp(t, regexp.MustCompile(`^round trip \d+\.\d ms, jitter \d+\.\d ms, \d+ kb/s in; packets: [1-9]\d* received, \d+ lost, \d+ recovered, \d+ given up; \d+ NACKs asking for \d+, \d+ PLIs$`), title)
	require.Empty(t, strings.TrimSpace(bars), "a generator has no link")
}
