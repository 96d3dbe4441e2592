package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/mixer/bus"
	"switchyard/mixer/keyer"
)

// fullFrame is one program frame decoded at the program's size.
type fullFrame struct {
	pix  []byte
	w, h int
}

func (f fullFrame) at(x, y int) rgb {
	i := (y*f.w + x) * 3
	return rgb{int(f.pix[i]), int(f.pix[i+1]), int(f.pix[i+2])}
}

// blue reports a pixel of the blue source, against the red one.
func (c rgb) blue() bool { return c.B > c.R }

// requireSpan checks, along a row (or a column), that exactly the pixels in
// [from, to) are blue and every other is red: an edge one pixel off fails.
func requireSpan(t *testing.T, f fullFrame, row bool, at, from, to int, what string) {
	t.Helper()
	n := f.w
	if !row {
		n = f.h
	}
	var wrong []int
	for i := 0; i < n; i++ {
		x, y := i, at
		if !row {
			x, y = at, i
		}
		if f.at(x, y).blue() != (i >= from && i < to) {
			wrong = append(wrong, i)
		}
	}
	require.Empty(t, wrong, "%s: pixels on the wrong side of the edge (want blue in [%d, %d))", what, from, to)
}

// TestEdgesExactToThePixel decodes the program at full size where an edge
// matters — a picture-in-picture's box, a hard wipe's border — and checks
// the edges to the pixel.
func TestEdgesExactToThePixel(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"}, ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue"})
	cfg.Program.VideoBitrate = 2_000_000 // flat colours: the edges are all the encoder spends bits on
	a, _ := startApp(t, cfg)
	waitPicture(t, a, "cam1")
	waitPicture(t, a, "cam2")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	prog := decodeProgramAt(t, a, 320, 240)
	prog.started(t)
	frame := func(n int64) fullFrame { return fullFrame{pix: prog.frame(t, n), w: 320, h: 240} }

	// A PiP of cam2 in a box at even coordinates that are not a multiple of
	// 16, of the source's own shape (4:3: no letterbox inside it).
	var k keyer.Status
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/keyers"),
		`{"type":"pip","source":"cam2","rect":{"x":98,"y":58,"w":128,"h":96},"on":true,"fade_ms":0}`, &k))
	waitFor(t, 5*time.Second, "the PiP on air", func() bool { return a.mixer.Stats().FramesOut > 0 })
	n := a.mixer.FrameAt(time.Now()) + 5
	f := frame(n)
	requireSpan(t, f, true, 58+47, 98, 98+128, "the PiP's row")
	requireSpan(t, f, false, 98+62, 58, 58+96, "the PiP's column")
	requireSpan(t, f, true, 57, 0, 0, "the row above the box")
	requireSpan(t, f, true, 58+96, 0, 0, "the row below the box")
	mustAPI(t, "DELETE", a.apiURL("/keyers/"+k.ID), "", nil)

	// A hard left wipe held at the T-bar's middle: cam2 on the left half,
	// exactly 160 pixels.
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	mustAPI(t, "PUT", a.apiURL("/transition"), `{"type":"wipe","direction":"left","duration_ms":60000,"softness_px":0}`, nil)
	var st bus.State
	mustAPI(t, "POST", a.apiURL("/transition/position"), `{"position":0.5}`, &st)
	f = frame(st.Frame + 2)
	for _, y := range []int{0, 1, 120, 239} {
		requireSpan(t, f, true, y, 0, 160, "the wipe's half")
	}
	mustAPI(t, "POST", a.apiURL("/transition/position"), `{"position":0.25}`, &st)
	f = frame(st.Frame + 2)
	requireSpan(t, f, true, 100, 0, 80, "the wipe's quarter")
}
