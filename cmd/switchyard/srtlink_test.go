package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/protocols/srt"
)

// TestSRTLinkInAPIMetricsAndPanel: a camera published over SRT with its
// key (ffmpeg) and a reader of the program (ffmpeg) are listed by
// GET /api/v1/srt/connections with their links and the key masked; the
// camera's link is in its status and in /metrics; the panel's sources
// table shows it compactly for the SRT camera and nothing for a
// generator.
func TestSRTLinkInAPIMetricsAndPanel(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", PublishKey: "cam1-key"},
		ingest.SourceConfig{Name: "bars", URL: "gen://bars"}))
	// ffmpeg's latency (µs in ffmpeg 5.1's libsrt), larger than the listener's 120 ms
	run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "mpegts",
		"srt://"+a.srt.Addr().String()+"?streamid=publish:cam1:cam1-key&latency=200000")...)
	waitPicture(t, a, "cam1")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	waitColour(t, readSRTColours(t, a.srtURL("read:program")), "red", 20*time.Second)

	var conns []srt.Connection
	waitFor(t, 10*time.Second, "the publisher and the reader listed", func() bool {
		mustAPI(t, "GET", a.apiURL("/srt/connections"), "", &conns)
		return len(conns) == 2
	})
	for _, c := range conns {
		require.Regexp(t, `^127\.0\.0\.1:\d+$`, c.Remote)
		switch c.Direction {
		case "publish":
			require.Equal(t, uint64(200), c.SRT.LatencyMs, "the larger latency of both sides (ffmpeg's 200 ms)")
			require.Equal(t, "publish:cam1:****", c.StreamID)
			require.Equal(t, "live/cam1", c.Path)
			require.Positive(t, c.SRT.PacketsReceived)
		case "read":
			require.Equal(t, "read:program", c.StreamID)
			require.Equal(t, "program", c.Path)
			require.Equal(t, uint64(120), c.SRT.LatencyMs, "the reader's (ffmpeg's and the listener's 120 ms)")
			require.Positive(t, c.SRT.PacketsSent)
		default:
			t.Fatalf("direction %q", c.Direction)
		}
	}
	var raw []byte
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/srt/connections"), "", (*rawJSON)(&raw)))
	require.NotContains(t, string(raw), "cam1-key")

	st := sourceStatus(t, a, "cam1")
	require.NotNil(t, st.SRT, "the SRT camera's link in its status")
	require.Equal(t, uint64(200), st.SRT.LatencyMs)
	require.Positive(t, st.SRT.PacketsReceived)
	require.Nil(t, sourceStatus(t, a, "bars").SRT)

	m := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	require.Regexp(t, `(?m)^switchyard_source_srt_latency_seconds\{source="cam1"\} 0\.2$`, m)
	require.Regexp(t, `(?m)^switchyard_source_srt_packets_received_total\{source="cam1"\} [1-9]`, m)
	require.Regexp(t, `(?m)^switchyard_source_srt_packets_dropped_total\{source="cam1"\} 0$`, m)
	require.NotContains(t, m, `srt_rtt_seconds{source="bars"}`)

	ctx := newBrowser(t)
	var cam1, bars string
	linkCell := func(name string) string { return `#sources tr[data-source="` + name + `"] td.link` }
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/"),
		chromedp.Poll(`window.switchyard && window.switchyard.ready`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Poll(`/^SRT \d+(\.\d)? ms · \d+\.\d % lost · \d+ dropped$/.test(document.querySelector('`+linkCell("cam1")+`')?.textContent)`,
			nil, chromedp.WithPollingTimeout(10*time.Second)),
		// read in one script each: the table is drawn again with every
		// links event, so a node found by one call may be gone at the next
		chromedp.Evaluate(`document.querySelector('`+linkCell("cam1")+`').textContent`, &cam1),
		chromedp.Evaluate(`document.querySelector('`+linkCell("bars")+`')?.textContent ?? ""`, &bars),
	), "the SRT camera's link in the sources table")
	t.Logf("the panel shows cam1's link as %q", cam1)
	require.Empty(t, strings.TrimSpace(bars), "a generator has no link")
	var title string
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector('`+linkCell("cam1")+` span').title`, &title)))
	require.Regexp(t, regexp.MustCompile(`latency 200 ms, .* received, .* dropped \(too late\)`), title)
}

// rawJSON keeps an API answer as it came.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error { *r = append((*r)[:0], b...); return nil }
