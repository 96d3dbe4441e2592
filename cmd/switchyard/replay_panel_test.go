package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// The panel's replay section in headless Chromium: IN marks the program's
// source, ▶ REPLAY at the chosen speed plays from the mark and takes the
// replay to program, the list shows the saved replay; the keys I and P
// do the same.
func TestReplayPanelInBrowser(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"})
	cfg.Replay.Enabled = true
	a, _ := startApp(t, cfg)
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	waitFor(t, 20*time.Second, "a key frame of cam1 in the replay buffer", func() bool {
		_, _, span := a.replay.Buffer("cam1").Size()
		return span > 0
	})

	ctx := newBrowser(t)
	base := "http://" + a.http.Addr().String()
	var marks string
	var items int
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.Poll(`window.switchyard && window.switchyard.ready`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.WaitVisible(`#replay-in`),
		chromedp.Click(`#replay-in`),
		chromedp.Poll(`document.getElementById("replay-marks").textContent.startsWith("in cam1")`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`#replay-marks`, &marks),
		chromedp.SetValue(`#replay-speed`, "0.25"),
		chromedp.Click(`#replay-play`),
		chromedp.Poll(`document.querySelectorAll("#replay-list li").length === 1`, nil, chromedp.WithPollingTimeout(10*time.Second)),
	))
	require.Contains(t, marks, "in cam1")
	var list []struct {
		Speed float64
		File  string
	}
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/replays"), "", &list))
	require.Len(t, list, 1)
	require.Equal(t, 0.25, list[0].Speed)
	require.NotEmpty(t, list[0].File)
	var st struct{ Program string }
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", &st))
	require.Equal(t, "replay", st.Program, "take is checked: the replay is on program")

	// the keys: I marks in (the program is the replay now: cut back first), P plays
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`document.getElementById("pgm-name").textContent === "cam1"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.ActionFunc(func(context.Context) error { // another operator marks out: the event stream tells the panel
			if code := api(t, "POST", a.apiURL("/replay/mark-out"), "", nil); code != http.StatusOK {
				return fmt.Errorf("mark-out: %d", code)
			}
			return nil
		}),
		chromedp.Poll(`document.getElementById("replay-marks").textContent.includes("out cam1")`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.KeyEvent("i"), // a new mark-in clears the mark-out
		chromedp.Poll(`document.getElementById("replay-marks").textContent.includes("out –")`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.KeyEvent("p"),
		chromedp.Poll(`document.querySelectorAll("#replay-list li").length === 2`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`document.querySelectorAll("#replay-list li").length`, &items),
	))
	require.Equal(t, 2, items)
}
