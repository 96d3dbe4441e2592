package keyer

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/math/fixed"

	"switchyard/internal/assets"
	"switchyard/internal/fault"
	ycolor "switchyard/media/color"
)

func TestTextIsAntiAliasedAndSpeaksUTF8(t *testing.T) {
	s := Spec{Type: TypeText, Text: "Café Zürich — ñ", Size: 40, Background: "black"}
	require.NoError(t, s.Normalize(1280, 720))
	require.True(t, s.AutoRect())
	require.True(t, s.HasGlyphs(s.Text, false), "the Go fonts carry Latin accents")
	require.False(t, s.HasGlyphs("東京", false), "and no CJK: the status says so")
	l, err := Render(&s, Clock{})
	require.NoError(t, err)
	require.Equal(t, s.Rect.W&^1, l.W)
	var mid, full int
	white := ycolor.FromRGB(255, 255, 255)
	for _, y := range l.Y {
		switch {
		case y >= white.Y-1:
			full++
		case y > 20 && y < white.Y-20:
			mid++
		}
	}
	require.Greater(t, full, 100, "solid strokes")
	require.Greater(t, mid, 100, "anti-aliased edges")
}

func TestClockText(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	s := Spec{Type: TypeClock, Mode: ClockCountDown, DurationS: 90}
	require.NoError(t, s.Normalize(1280, 720))
	require.Equal(t, "01:30", s.ClockText(Clock{Now: start, Started: start}))
	require.Equal(t, "01:30", s.ClockText(Clock{Now: start.Add(300 * time.Millisecond), Started: start}))
	require.Equal(t, "01:29", s.ClockText(Clock{Now: start.Add(time.Second), Started: start}))
	require.Equal(t, "00:00", s.ClockText(Clock{Now: start.Add(time.Hour), Started: start}))
	s = Spec{Type: TypeClock, Mode: ClockCountUp}
	require.NoError(t, s.Normalize(1280, 720))
	require.Equal(t, "1:01:05", s.ClockText(Clock{Now: start.Add(time.Hour + 65*time.Second), Started: start}))
	s = Spec{Type: TypeClock, Timezone: "Europe/Paris", Format: "24h"}
	require.NoError(t, s.Normalize(1280, 720))
	require.Equal(t, "11:00:00", s.ClockText(Clock{Now: start}))
}

func TestNormalizeRefusesBadSpecs(t *testing.T) {
	for _, c := range []struct {
		s     Spec
		field string
	}{
		{Spec{}, "type"},
		{Spec{Type: "hologram"}, "type"},
		{Spec{Type: TypeText}, "text"},
		{Spec{Type: TypeText, Text: "x", Color: "plaid"}, "color"},
		{Spec{Type: TypeText, Text: "x", Rect: &Rect{X: 1200, Y: 0, W: 200, H: 50}}, "rect"},
		// x+w overflows to a small number: compared without adding
		{Spec{Type: TypeImage, Rect: &Rect{X: 9223370937343148032, Y: 0, W: 1099511627776, H: 2}}, "rect"},
		{Spec{Type: TypeImage, Rect: &Rect{X: 0, Y: math.MaxInt - 1, W: 2, H: math.MaxInt - 1}}, "rect"},
		{Spec{Type: TypeImage, Rect: &Rect{X: 2, Y: 2, W: math.MaxInt &^ 1, H: 2}}, "rect"},
		{Spec{Type: TypeImage, Rect: &Rect{X: math.MinInt, Y: 0, W: 2, H: 2}}, "rect"},
		{Spec{Type: TypeText, Text: strings.Repeat("x", MaxTextBytes+1)}, "text"},
		{Spec{Type: TypeLowerThird, Title: "x", Subtitle: strings.Repeat("x", MaxTitleBytes+1)}, "subtitle"},
		{Spec{Type: TypeText, Text: "x", Opacity: ptr(1.5)}, "opacity"},
		{Spec{Type: TypeText, Text: "x", FadeMS: -1}, "fade_ms"},
		{Spec{Type: TypeText, Text: "x", Font: "/nonexistent.ttf"}, "font"},
		{Spec{Type: TypeLowerThird}, "title"},
		{Spec{Type: TypeClock, Mode: "sundial"}, "mode"},
		{Spec{Type: TypeClock, Mode: ClockCountDown}, "duration_s"},
		{Spec{Type: TypeClock, Timezone: "Mars/Olympus"}, "timezone"},
		{Spec{Type: TypePiP}, "source"},
		{Spec{Type: TypePiP, Source: "cam1", Border: &Border{Width: 500}}, "border.width"},
		{Spec{Type: TypeImage, Path: "/nonexistent.png"}, "path"},
		{Spec{ID: "Bad Id", Type: TypeText, Text: "x"}, "id"},
	} {
		err := c.s.Normalize(1280, 720)
		var fe *fault.Invalid
		require.ErrorAs(t, err, &fe, "%+v", c.s)
		require.Equal(t, c.field, fe.Field, "%+v: %v", c.s, err)
	}
}

func TestImageWithoutRectTakesItsOwnSize(t *testing.T) {
	d := testAssets(t)
	s := Spec{Type: TypeImage, Path: "logo.png"}
	require.NoError(t, s.Load(d))
	require.NoError(t, s.Normalize(1280, 720))
	require.Equal(t, Rect{X: 540, Y: 310, W: 200, H: 100}, *s.Rect, "centred at its own size")
	s = Spec{Type: TypeImage, Path: filepath.Join(d.Path(), "logo.png")}
	require.NoError(t, s.Load(d))
	require.Equal(t, "logo.png", s.Path, "an absolute path inside the folder is kept relative")
	require.NoError(t, s.Normalize(160, 90))
	require.Equal(t, Rect{X: 0, Y: 4, W: 160, H: 80}, *s.Rect, "fitted into a smaller program, on even lines")
}

// testAssets is an assets folder holding logo.png (200×100) and go.ttf.
func testAssets(t testing.TB) *assets.Dir {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "assets")
	d, err := assets.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 200, 100))))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logo.png"), b.Bytes(), 0o640))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.ttf"), goregular.TTF, 0o640))
	return d
}

// TestLoadReadsOnlyTheAssetsFolder: fonts and images come from the assets
// folder; anything else is refused in the same words, at once (a FIFO does
// not hang the request), and Normalize and Render read nothing themselves.
func TestLoadReadsOnlyTheAssetsFolder(t *testing.T) {
	d := testAssets(t)
	require.NoError(t, syscall.Mkfifo(filepath.Join(d.Path(), "pipe.ttf"), 0o640))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(d.Path(), "passwd.ttf")))

	s := Spec{Type: TypeText, Text: "Hi", Font: "go.ttf"}
	require.NoError(t, s.Load(d))
	require.NoError(t, s.Normalize(1280, 720))
	_, err := Render(&s, Clock{})
	require.NoError(t, err)
	clone := s.Clone()
	require.NoError(t, clone.Normalize(1280, 720), "a clone keeps the loaded font")

	for _, c := range []Spec{
		{Type: TypeText, Text: "x", Font: "/etc/passwd"},
		{Type: TypeText, Text: "x", Font: "../../../../etc/passwd"},
		{Type: TypeText, Text: "x", Font: "pipe.ttf"},
		{Type: TypeText, Text: "x", Font: "passwd.ttf"},
		{Type: TypeText, Text: "x", Font: "/dev/zero"},
		{Type: TypeImage, Path: "/etc/passwd"},
		{Type: TypeImage, Path: "pipe.ttf"},
		{Type: TypeImage, Path: "nosuch.png"},
	} {
		err := c.Load(d)
		var fe *fault.Invalid
		require.ErrorAs(t, err, &fe, "%+v", c)
		require.ErrorIs(t, err, assets.ErrRefused, "%+v", c)
		require.NotContains(t, err.Error(), "root:", "nothing of the file shows")
	}
	s = Spec{Type: TypeText, Text: "x", Font: "logo.png"}
	require.ErrorContains(t, s.Load(d), "not a TrueType/OpenType font")
	s = Spec{Type: TypeImage, Path: "go.ttf"}
	require.ErrorContains(t, s.Load(d), "not a PNG or JPEG")
	s = Spec{Type: TypeText, Text: "x", Font: "go.ttf"}
	require.ErrorContains(t, s.Normalize(1280, 720), "not loaded", "Normalize reads no file")
}

// countingFace counts the glyphs it rasterises.
type countingFace struct {
	font.Face
	n int
}

func (f *countingFace) Glyph(dot fixed.Point26_6, r rune) (image.Rectangle, image.Image, image.Point, fixed.Int26_6, bool) {
	f.n++
	return f.Face.Glyph(dot, r)
}

// TestLongLinesRasteriseWhatShows: a line far wider than its box, at a
// large size, costs the glyphs that show, whatever its alignment.
func TestLongLinesRasteriseWhatShows(t *testing.T) {
	s := Spec{Type: TypeText, Text: "x", Size: 200}
	require.NoError(t, s.Normalize(1280, 720))
	face, err := s.face(200, false)
	require.NoError(t, err)
	line := strings.Repeat("W", MaxTextBytes)
	for _, align := range []string{"left", "center", "right"} {
		cf := &countingFace{Face: face}
		dst := image.NewRGBA(image.Rect(0, 0, 640, 240))
		setLine(dst, cf, line, align, 10, 200, image.White)
		require.Positive(t, cf.n, align)
		require.Less(t, cf.n, 10, "%s: %d glyphs rasterised for a 640-pixel box", align, cf.n)
	}
	cf := &countingFace{Face: face}
	setLine(image.NewRGBA(image.Rect(0, 0, 640, 240)), cf, line, "left", 10, 5000, image.White)
	require.Zero(t, cf.n, "a line below the box draws nothing")
}

// FuzzSpec: any keyer the API can be sent is refused with a field error or
// renders into a layer of its rectangle, inside the canvas.
func FuzzSpec(f *testing.F) {
	for _, seed := range []string{
		`{"type":"image","rect":{"x":9223370937343148032,"y":0,"w":1099511627776,"h":2}}`,
		`{"type":"image","path":"logo.png"}`,
		`{"type":"image","path":"logo.png","rect":{"x":10,"y":10,"w":100,"h":40}}`,
		`{"type":"text","text":"Café Zürich","size":48,"background":"#000000","background_opacity":0.6}`,
		`{"type":"text","text":"a\nb\nc","font":"go.ttf","align":"right"}`,
		`{"type":"lowerthird","title":"Ada Lovelace","subtitle":"Analyst","fade_ms":300}`,
		`{"type":"clock","mode":"countdown","duration_s":300}`,
		`{"type":"clock","format":"12h","timezone":"Europe/Paris"}`,
		`{"type":"pip","source":"cam2","rect":{"x":834,"y":20,"w":426,"h":240},"border":{"width":4}}`,
		`{"type":"text","text":"x","rect":{"x":-2,"y":0,"w":4,"h":4}}`,
	} {
		f.Add([]byte(seed), uint16(1280), uint16(720))
	}
	d := testAssets(f)
	f.Fuzz(func(t *testing.T, body []byte, w, h uint16) {
		cw, ch := 16+int(w)%1265&^1, 16+int(h)%705&^1 // canvases from 16×16 to 1280×720
		var s Spec
		if json.Unmarshal(body, &s) != nil {
			return
		}
		if err := s.Load(d); err != nil {
			requireFieldError(t, err)
			return
		}
		if err := s.Normalize(cw, ch); err != nil {
			requireFieldError(t, err)
			return
		}
		r := *s.Rect
		if r.X < 0 || r.Y < 0 || r.W < 2 || r.H < 2 || r.X+r.W > cw || r.Y+r.H > ch {
			t.Fatalf("accepted rect %+v is outside the %dx%d canvas", r, cw, ch)
		}
		l, err := Render(&s, Clock{Now: time.Unix(1e9, 0), Started: time.Unix(1e9-5, 0)})
		if err != nil {
			t.Fatalf("a normalized spec fails to render: %v", err)
		}
		if l == nil {
			if s.Type != TypePiP {
				t.Fatalf("a %s keyer rendered no layer", s.Type)
			}
			return
		}
		if l.W != r.W || l.H != r.H {
			t.Fatalf("layer %dx%d for rect %+v", l.W, l.H, r)
		}
	})
}

func requireFieldError(t *testing.T, err error) {
	t.Helper()
	var fe *fault.Invalid
	if !errors.As(err, &fe) || fe.Field == "" || fe.Msg == "" {
		t.Fatalf("not a field error: %v", err)
	}
}

// FuzzSpecFields is FuzzSpec with the numbers fuzzed directly (a JSON body
// spends most mutations on its syntax): any rect, size, opacity, border
// and text on any canvas is refused with a field error or renders inside
// the canvas.
func FuzzSpecFields(f *testing.F) {
	f.Add(uint8(0), 9223370937343148032, 0, 1099511627776, 2, 0.0, 1.0, 0, "", uint16(1280), uint16(720))
	f.Add(uint8(1), 10, 10, 300, 60, 48.0, 0.5, 4, "Café\nZürich", uint16(1280), uint16(720))
	f.Add(uint8(2), 0, 0, 0, 0, 0.0, 1.0, 0, "Ada Lovelace", uint16(640), uint16(360))
	f.Add(uint8(3), -2, -2, 4, 4, 6.0, 0.0, 100, "", uint16(16), uint16(16))
	f.Add(uint8(4), 834, 20, 426, 240, 0.0, 1.0, 8, "", uint16(1280), uint16(720))
	f.Add(uint8(1), math.MaxInt-1, math.MaxInt-1, math.MaxInt&^1, math.MaxInt&^1, math.Inf(1), math.NaN(), math.MinInt, strings.Repeat("W", 5000), uint16(1280), uint16(720))
	types := []string{TypeImage, TypeText, TypeLowerThird, TypeClock, TypePiP}
	d := testAssets(f)
	f.Fuzz(func(t *testing.T, typ uint8, x, y, w, h int, size, opacity float64, border int, text string, cw16, ch16 uint16) {
		cw, ch := 16+int(cw16)%1265&^1, 16+int(ch16)%705&^1
		s := Spec{Type: types[int(typ)%len(types)], Size: size, Opacity: &opacity, Text: text, Title: text, Subtitle: text,
			Source: "cam1", Mode: ClockCountDown, DurationS: 90}
		if w != 0 || h != 0 {
			s.Rect = &Rect{X: x, Y: y, W: w, H: h}
		}
		if border != 0 {
			s.Border = &Border{Width: border}
		}
		if typ&0x80 != 0 {
			s.Path, s.Font = "logo.png", "go.ttf"
		}
		if err := s.Load(d); err != nil {
			requireFieldError(t, err)
			return
		}
		if err := s.Normalize(cw, ch); err != nil {
			requireFieldError(t, err)
			return
		}
		r := *s.Rect
		if r.X < 0 || r.Y < 0 || r.W < 2 || r.H < 2 || r.X+r.W > cw || r.Y+r.H > ch {
			t.Fatalf("accepted rect %+v is outside the %dx%d canvas", r, cw, ch)
		}
		l, err := Render(&s, Clock{Now: time.Unix(1e9, 0), Started: time.Unix(1e9-5, 0)})
		if err != nil {
			t.Fatalf("a normalized spec fails to render: %v", err)
		}
		if l != nil && (l.W != r.W || l.H != r.H) {
			t.Fatalf("layer %dx%d for rect %+v", l.W, l.H, r)
		}
	})
}
