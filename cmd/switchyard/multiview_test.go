package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media/av"
	"switchyard/mixer"
	"switchyard/mixer/keyer"
)

// TestMultiview reads /multiview.mjpeg as a browser or VLC would and checks
// the wall's layout on its pixels: preview and program windows, a tile per
// source in name order, tally borders, and the program window showing the
// composed program (its keyer included).
func TestMultiview(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "red", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "lime", URL: "gen://color?c=lime"}, ingest.SourceConfig{Name: "blue", URL: "gen://color?c=blue"})
	cfg.HTTP.Token = "wall"
	a, _ := startApp(t, cfg)
	for _, name := range []string{"red", "lime", "blue"} {
		require.NoError(t, waitDecoded(a, name))
	}
	_, err := a.mixer.Switcher().SetProgram("red")
	require.NoError(t, err)
	_, err = a.mixer.Switcher().SetPreview("blue")
	require.NoError(t, err)
	// a white box over the program's left half: the wall must show it
	_, err = a.mixer.KeyerSet().AddKeyer(keyerSpec(`{"type":"text","text":" ","background":"white","rect":{"x":0,"y":0,"w":160,"h":240},"on":true}`))
	require.NoError(t, err)

	url := "http://" + a.http.Addr().String() + "/multiview.mjpeg"
	resp, err := httpClient.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the wall needs the token")

	resp, err = http.Get(url + "?token=wall") // no client timeout: it streams
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/x-mixed-replace", mt)
	parts := multipart.NewReader(resp.Body, params["boundary"])
	next := func() image.Image {
		t.Helper()
		p, err := parts.NextPart()
		require.NoError(t, err)
		require.Equal(t, "image/jpeg", p.Header.Get("Content-Type"))
		img, err := jpeg.Decode(p)
		require.NoError(t, err)
		return img
	}

	// The very first picture shows the program: the wall waits for the
	// clock's first hand-over rather than opening on a black window.
	img := next()
	require.Equal(t, image.Rect(0, 0, 960, 540), img.Bounds())
	if f, err := os.Create(filepath.Join(artifactDir(t), "multiview.jpg")); err == nil {
		_ = jpeg.Encode(f, img, nil)
		f.Close()
	}
	pvw, pgm, tiles := mixer.MultiviewConfig{Width: 960, Height: 540}.Layout(3)
	require.Equal(t, mixer.MultiviewConfig{Width: 960, Height: 540, FPS: 10, Quality: 75}, a.mixer.Multiview().Config())
	centre := func(r av.Rect) (int, int) { return r.X + r.W/2, r.Y + r.H/3 }
	check := func(x, y, r, g, b int, what string) {
		t.Helper()
		require.True(t, is(img.At(x, y), r, g, b), "%s at %d,%d: %v", what, x, y, img.At(x, y))
	}
	x, y := centre(pvw)
	check(x, y, 0, 0, 255, "preview window shows blue")
	check(pvw.X+1, pvw.Y+pvw.H/2, 30, 200, 60, "preview window's green border")
	check(pgm.X+1, pgm.Y+pgm.H/2, 230, 30, 30, "program window's red border")
	check(600, 120, 255, 255, 255, "program window shows the keyer")
	check(800, 120, 255, 0, 0, "program window shows red beside it")
	require.Len(t, tiles, 3)
	for i, c := range []struct {
		r, g, b    int
		tally      [3]int
		name, what string
	}{
		{0, 0, 255, [3]int{30, 200, 60}, "blue", "on preview: green"},
		{0, 255, 0, [3]int{60, 60, 66}, "lime", "on no bus: grey"},
		{255, 0, 0, [3]int{230, 30, 30}, "red", "on program: red"},
	} {
		x, y := centre(tiles[i])
		check(x, y, c.r, c.g, c.b, "tile "+c.name)
		check(tiles[i].X+1, tiles[i].Y+tiles[i].H/2, c.tally[0], c.tally[1], c.tally[2], c.name+" tile border "+c.what)
	}

	// A viewer who comes back later sees the program of now, not the last
	// picture of the run before: cut to blue, leave, come back.
	resp.Body.Close()
	waitFor(t, 5*time.Second, "the wall stopped with no viewer", func() bool {
		return !a.mixer.Multiview().Running()
	})
	_, err = a.mixer.Switcher().SetProgram("blue")
	require.NoError(t, err)
	resp, err = http.Get(url + "?token=wall")
	require.NoError(t, err)
	defer resp.Body.Close()
	_, params, err = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	parts = multipart.NewReader(resp.Body, params["boundary"])
	img = next()
	check(800, 120, 0, 0, 255, "the first picture of a new viewer shows the program of now (blue)")

	// It keeps coming at its own rate: 10 pictures a second, 8 at least
	// over 2 s. A window in which the process was held back over 0.3 s (a
	// 10-ms ticker's worst lateness: a loaded machine's stall holds back
	// the wall and this reader alike) is measured again, twice at most.
	for try := 1; ; try++ {
		stalls := watchStalls()
		t.Cleanup(func() { stalls() })
		start, n := time.Now(), 0
		for time.Since(start) < 2*time.Second {
			next()
			n++
		}
		took, stalled := time.Since(start), stalls()
		rate := float64(n) / took.Seconds()
		t.Logf("multiview: %.1f pictures/s at 960×540 (the process held back %v at worst)", rate, stalled.Round(time.Millisecond))
		if stalled > 300*time.Millisecond && try < 3 {
			continue
		}
		require.GreaterOrEqual(t, rate, 8.0, "the wall keeps its 10 pictures a second")
		break
	}
}

// waitDecoded waits until the mixer holds a picture of a source.
func waitDecoded(a *app, name string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := a.mixer.Switcher().Snapshot(name, 64)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func keyerSpec(js string) keyer.Spec {
	var s keyer.Spec
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		panic(err)
	}
	return s
}

// is reports whether c is within 40 of r,g,b on every channel (JPEG and
// scaling blur the edges; the checks sample inside regions).
func is(c color.Color, r, g, b int) bool {
	cr, cg, cb, _ := c.RGBA()
	d := func(a uint32, b int) bool { return int(a>>8)-b < 40 && b-int(a>>8) < 40 }
	return d(cr, r) && d(cg, g) && d(cb, b)
}
