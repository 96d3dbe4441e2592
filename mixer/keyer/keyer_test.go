package keyer

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media/av"
	"switchyard/media/draw"
)

func TestLayerColoursMatchTheMixer(t *testing.T) {
	for _, c := range [][3]uint8{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {0, 0, 0}, {30, 140, 200}} {
		img := image.NewRGBA(image.Rect(0, 0, 4, 4))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c[0], c[1], c[2], 255
		}
		l := FromRGBA(img)
		want := draw.FromRGB(c[0], c[1], c[2])
		require.InDelta(t, want.Y, l.Y[0], 1, "%v", c)
		require.InDelta(t, want.U, l.U[0], 1, "%v", c)
		require.InDelta(t, want.V, l.V[0], 1, "%v", c)
		require.EqualValues(t, 255, l.AC[0])
	}
}

func TestBlendOpacityAndAlpha(t *testing.T) {
	f, err := av.NewFrame(16, 16)
	require.NoError(t, err)
	defer f.Free()
	bg := draw.FromRGB(0, 0, 255)
	f.Fill(bg.Y, bg.U, bg.V)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	// left half opaque red, right half red at 50 % (premultiplied)
	for y := range 8 {
		for x := range 8 {
			c := color.RGBA{R: 255, A: 255}
			if x >= 4 {
				c = color.RGBA{R: 128, A: 128}
			}
			img.SetRGBA(x, y, c)
		}
	}
	l := FromRGBA(img)
	red := draw.FromRGB(255, 0, 0)
	Blend(f, l, 4, 4, 256)
	require.Equal(t, bg.Y, f.Y[0], "outside the rect untouched")
	require.Equal(t, bg.Y, f.Y[15*f.StrideY+15], "outside the rect untouched")
	require.InDelta(t, red.Y, f.Y[5*f.StrideY+5], 1, "opaque part")
	require.InDelta(t, (int(red.Y)+int(bg.Y))/2, f.Y[5*f.StrideY+10], 2, "half-alpha part")
	require.InDelta(t, red.V, f.V[3*f.StrideC+3], 1, "opaque chroma")

	f.Fill(bg.Y, bg.U, bg.V)
	Blend(f, l, 4, 4, 128)
	require.InDelta(t, (int(red.Y)+int(bg.Y))/2, f.Y[5*f.StrideY+5], 2, "opacity 0.5")
	require.InDelta(t, (int(red.U)+int(bg.U))/2, f.U[3*f.StrideC+3], 2, "opacity 0.5 chroma")

	// clipped at the frame's edges, no panic, nothing outside written
	f.Fill(bg.Y, bg.U, bg.V)
	Blend(f, l, 12, -4, 256)
	require.InDelta(t, red.Y, f.Y[0*f.StrideY+13], 1)
	require.Equal(t, bg.Y, f.Y[5*f.StrideY+13])
	Blend(f, l, 100, 100, 256)
	Blend(f, l, -100, 0, 256)
}

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
	white := draw.FromRGB(255, 255, 255)
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
		var fe *FieldError
		require.ErrorAs(t, err, &fe, "%+v", c.s)
		require.Equal(t, c.field, fe.Field, "%+v: %v", c.s, err)
	}
}

func TestImageWithoutRectTakesItsOwnSize(t *testing.T) {
	dir := t.TempDir()
	img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	path := filepath.Join(dir, "logo.png")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, img))
	f.Close()
	s := Spec{Type: TypeImage, Path: path}
	require.NoError(t, s.Normalize(1280, 720))
	require.Equal(t, Rect{X: 540, Y: 310, W: 200, H: 100}, *s.Rect, "centred at its own size")
	s = Spec{Type: TypeImage, Path: path}
	require.NoError(t, s.Normalize(160, 90))
	require.Equal(t, Rect{X: 0, Y: 4, W: 160, H: 80}, *s.Rect, "fitted into a smaller program, on even lines")
}
