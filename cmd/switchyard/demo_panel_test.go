package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// updateScreenshotEnv, set to 1, makes TestDemoPanel write the README's
// screenshot (docs/panel.png) from this run.
const updateScreenshotEnv = "UPDATE_SCREENSHOT"

// TestDemoPanel runs the demo show as `make run` does (the embedded show
// file, its 1280×720 program) and opens the panel in Chromium as a newcomer
// would: it opens on the bars on program and the clock on preview, and the
// README's screenshot is this page — taken here, so it stays true.
func TestDemoPanel(t *testing.T) {
	mustHaveTools(t)
	cfg, err := LoadConfig("", []string{"SWITCHYARD_HTTP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTMP_LISTEN=127.0.0.1:0", "SWITCHYARD_SRT_LISTEN=127.0.0.1:0", "SWITCHYARD_WEBRTC_UDP=127.0.0.1:0",
		"SWITCHYARD_RTSP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTSP_UDP_RTP=", "SWITCHYARD_RTSP_UDP_RTCP=",
		"SWITCHYARD_DATA_DIR=" + t.TempDir()})
	require.NoError(t, err)
	a, _ := startApp(t, cfg)
	st := a.mixer.Switcher().State()
	require.Equal(t, "bars", st.Program, "the demo opens with the bars on program")
	require.Equal(t, "clock", st.Preview, "and the clock on preview")
	for _, name := range []string{"bars", "clock", "color"} {
		waitPicture(t, a, name)
	}

	ctx := newBrowser(t)
	var shot []byte
	require.NoError(t, chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate("http://"+a.http.Addr().String()+"/"),
		chromedp.Poll(`window.switchyard && window.switchyard.ready`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.WaitVisible(`#pgm-row button[data-source="bars"]`),
		chromedp.Poll(`document.querySelector('#pgm-row button[data-source="bars"]').classList.contains("pgm") &&
			document.querySelector('#pvw-row button[data-source="clock"]').classList.contains("pvw")`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Poll(`document.getElementById("multiview").naturalWidth > 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		// two more pictures of the wall, so every tile shows its source
		chromedp.Evaluate(`new Promise(r => setTimeout(r, 500))`, nil),
		chromedp.FullScreenshot(&shot, 100),
	), "the panel shows the demo: bars on program, clock on preview, the multiview streaming")
	require.NoError(t, os.WriteFile(filepath.Join(artifactDir(t), "demo-panel.png"), shot, 0o644))

	docPNG := filepath.Join("..", "..", "docs", "panel.png")
	if os.Getenv(updateScreenshotEnv) == "1" {
		require.NoError(t, os.WriteFile(docPNG, shot, 0o644))
		t.Logf("wrote %s", docPNG)
	}
	// The README's picture is this page: the same size and, seen from afar
	// (the clock's digits and the meters move), the same picture.
	want, err := os.ReadFile(docPNG)
	require.NoError(t, err)
	diff, err := pictureDistance(want, shot)
	require.NoError(t, err)
	require.Less(t, diff, 6.0, "docs/panel.png is not the demo's panel as it stands (mean difference %.1f of 255): "+
		"run `UPDATE_SCREENSHOT=1 go test -run TestDemoPanel ./cmd/switchyard` and commit docs/panel.png", diff)
}

// pictureDistance decodes two PNGs and returns the mean difference of their
// 32×32-pixel cells' average colours (0–255); an error when their sizes differ.
func pictureDistance(a, b []byte) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 255, nil
	}
	cells := func(img image.Image) []float64 {
		r := img.Bounds()
		var out []float64
		for y := r.Min.Y; y+32 <= r.Max.Y; y += 32 {
			for x := r.Min.X; x+32 <= r.Max.X; x += 32 {
				var s [3]float64
				for yy := y; yy < y+32; yy++ {
					for xx := x; xx < x+32; xx++ {
						cr, cg, cb, _ := img.At(xx, yy).RGBA()
						s[0], s[1], s[2] = s[0]+float64(cr>>8), s[1]+float64(cg>>8), s[2]+float64(cb>>8)
					}
				}
				out = append(out, s[0]/1024, s[1]/1024, s[2]/1024)
			}
		}
		return out
	}
	ca, cb := cells(ia), cells(ib)
	var sum float64
	for i := range ca {
		d := ca[i] - cb[i]
		if d < 0 {
			d = -d
		}
		sum += d
	}
	return sum / float64(len(ca)), nil
}
