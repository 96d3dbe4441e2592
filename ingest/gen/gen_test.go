package gen

import (
	"context"
	"image"
	"image/color"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/media/draw"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// publish runs a generator for url at w×h and fps until want says it has
// read enough, and returns the units it published, in order.
func publish(t *testing.T, url string, w, h, fps int, want func([]*media.Unit) bool) []*media.Unit {
	t.Helper()
	reg := ingest.NewRegistry(quiet)
	src, err := reg.Add(ingest.SourceConfig{Name: "g"})
	require.NoError(t, err)
	rd := src.Stream().NewReader(1024)
	defer rd.Close()
	g, err := New(Config{Source: "g", URL: url, Width: w, Height: h, FPSNum: fps, FPSDen: 1, BitrateBPS: 8_000_000}, reg, quiet)
	require.NoError(t, err)
	require.NoError(t, g.Start())
	defer g.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var units []*media.Unit
	for !want(units) {
		u, err := rd.Next(ctx)
		require.NoError(t, err, "%d units published before the deadline", len(units))
		units = append(units, u)
	}
	return units
}

func videoUnits(units []*media.Unit) []*media.Unit {
	var out []*media.Unit
	for _, u := range units {
		if u.Track.Kind == media.KindVideo {
			out = append(out, u)
		}
	}
	return out
}

// decode decodes the video units up to and including the last and returns
// its picture as an I420 frame of the track's size.
func decode(t *testing.T, units []*media.Unit) *av.Frame {
	t.Helper()
	dec, err := av.NewVideoDecoder("h264", 1)
	require.NoError(t, err)
	defer dec.Close()
	tr := units[0].Track
	f, err := av.NewFrame(tr.Width, tr.Height)
	require.NoError(t, err)
	t.Cleanup(f.Free)
	var sc av.Scaler
	defer sc.Close()
	got := false
	for _, u := range units {
		require.NoError(t, dec.Decode(u.Data, int64(u.PTS), func(p av.Picture, _ int64) {
			require.NoError(t, sc.Scale(p, f, av.Rect{W: f.Width, H: f.Height}))
			got = true
		}))
	}
	require.True(t, got, "the decoder gave a picture")
	return f
}

// TestColorPublishesAtItsRate: gen://color publishes one H.264 picture per
// frame at exact timestamps, a key frame every two seconds, and shows its
// colour.
func TestColorPublishesAtItsRate(t *testing.T) {
	const fps = 25
	units := videoUnits(publish(t, "gen://color?c=red", 160, 90, fps, func(u []*media.Unit) bool { return len(u) >= 2*fps+2 }))
	for i, u := range units {
		require.Equal(t, time.Duration(i)*time.Second/fps, u.PTS, "picture %d's time", i)
		require.Equal(t, u.PTS, u.DTS, "no reordering")
		require.Equal(t, i%(2*fps) == 0, u.Key, "picture %d: a key frame every two seconds and none between", i)
	}
	tr := units[0].Track
	require.Equal(t, "h264", tr.Codec)
	require.Equal(t, [2]int{160, 90}, [2]int{tr.Width, tr.Height})
	require.InDelta(t, float64(fps), tr.FPS, 0.01)

	f := decode(t, units[:1])
	red, _ := draw.ParseColor("red")
	for _, p := range [][2]int{{0, 0}, {80, 44}, {159, 89}} {
		require.InDelta(t, float64(red.Y), float64(f.Y[p[1]*f.StrideY+p[0]]), 2, "luma at %v", p)
		ci := p[1]/2*f.StrideC + p[0]/2
		require.InDelta(t, float64(red.U), float64(f.U[ci]), 2, "Cb at %v", p)
		require.InDelta(t, float64(red.V), float64(f.V[ci]), 2, "Cr at %v", p)
	}
}

func solid(w, h int, c color.Color) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

// TestImageLetterboxed: a still is fitted whole, centred, its aspect kept,
// on black — to the pixel, for an image wider and one taller than the frame.
func TestImageLetterboxed(t *testing.T) {
	white := draw.FromRGB(255, 255, 255)
	for _, c := range []struct {
		name       string
		iw, ih     int
		x0, y0     int // first row and column of the picture
		x1, y1     int // one past its last
		horizontal bool
	}{
		{"wider", 200, 50, 0, 50, 320, 130, false},  // 320×80, bars above and below
		{"taller", 50, 100, 115, 0, 205, 180, true}, // 90×180, bars left and right
		{"same aspect", 32, 18, 0, 0, 320, 180, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := av.NewFrame(320, 180)
			require.NoError(t, err)
			defer f.Free()
			f.Fill(100, 100, 100) // whatever was there before
			drawImage(f, solid(c.iw, c.ih, color.White))
			for y := range 180 {
				for x := range 320 {
					in := x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1
					want := byte(16)
					if in {
						want = white.Y
					}
					require.Equal(t, want, f.Y[y*f.StrideY+x], "pixel %d,%d (inside the picture: %v)", x, y, in)
				}
			}
			for y := range 90 {
				for x := range 160 {
					require.Equal(t, [2]byte{128, 128}, [2]byte{f.U[y*f.StrideC+x], f.V[y*f.StrideC+x]}, "chroma %d,%d: black and white carry none", x, y)
				}
			}
		})
	}
}

// TestImageTransparency: where a still is transparent the black beneath
// shows; half transparent, half of its colour.
func TestImageTransparency(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 96, 54))
	for y := range 54 {
		for x := range 96 {
			switch {
			case x < 32:
				img.Set(x, y, color.NRGBA{255, 255, 255, 0}) // white, fully transparent
			case x < 64:
				img.Set(x, y, color.NRGBA{255, 255, 255, 128})
			default:
				img.Set(x, y, color.NRGBA{0, 255, 0, 255})
			}
		}
	}
	f, err := av.NewFrame(96, 54)
	require.NoError(t, err)
	defer f.Free()
	drawImage(f, img)
	at := func(x, y int) draw.YUV {
		ci := y/2*f.StrideC + x/2
		return draw.YUV{Y: f.Y[y*f.StrideY+x], U: f.U[ci], V: f.V[ci]}
	}
	near := func(want, got draw.YUV, what string) {
		for i, p := range [][2]byte{{want.Y, got.Y}, {want.U, got.U}, {want.V, got.V}} {
			require.InDelta(t, float64(p[0]), float64(p[1]), 1, "%s: component %d of %+v, want %+v", what, i, got, want)
		}
	}
	for _, y := range []int{0, 26, 53} {
		near(draw.FromRGB(0, 0, 0), at(12, y), "transparent: the black beneath")
		near(draw.FromRGB(128, 128, 128), at(48, y), "half transparent white: grey")
		near(draw.FromRGB(0, 255, 0), at(84, y), "opaque green")
	}
}

// TestClockShowsTheTime: gen://clock's picture is the time of day when it
// was drawn, to the second.
func TestClockShowsTheTime(t *testing.T) {
	before := time.Now()
	units := videoUnits(publish(t, "gen://clock", 320, 180, 10, func(u []*media.Unit) bool { return len(videoUnits(u)) >= 1 }))
	after := time.Now()
	f := decode(t, units[:1])

	face, err := draw.Face(180.0 / 5)
	require.NoError(t, err)
	bg := draw.FromRGB(16, 32, 64)
	ref, err := av.NewFrame(320, 180)
	require.NoError(t, err)
	defer ref.Free()
	// How far the picture is from the clock drawn at each second around
	// the test: the right one is close (the encoder's loss), the others
	// differ in their digits.
	diff := map[int64]float64{}
	for s := before.Unix() - 2; s <= after.Unix()+2; s++ {
		// the clock as an operator reads it: HH:MM:SS, light, centred
		ref.Fill(bg.Y, bg.U, bg.V)
		draw.TextCentered(ref, face, 90+180/14, time.Unix(s, 0).Format("15:04:05"), draw.FromRGB(240, 240, 240))
		sum := 0.0
		for y := range 180 {
			for x := range 320 {
				sum += math.Abs(float64(ref.Y[y*ref.StrideY+x]) - float64(f.Y[y*f.StrideY+x]))
			}
		}
		diff[s] = sum / (320 * 180)
	}
	best := int64(0)
	for s, d := range diff {
		if best == 0 || d < diff[best] {
			best = s
		}
	}
	t.Logf("mean luma difference by second: %v", diff)
	require.True(t, best >= before.Unix() && best <= after.Unix(), "the clock shows %s, drawn between %s and %s",
		time.Unix(best, 0).Format("15:04:05"), before.Format("15:04:05.000"), after.Format("15:04:05.000"))
	require.Less(t, diff[best], 1.0, "the picture is the clock as drawn")
	for s, d := range diff {
		if s != best {
			require.Greater(t, d, 2*diff[best]+0.2, "%s is told apart from %s", time.Unix(s, 0).Format("15:04:05"), time.Unix(best, 0).Format("15:04:05"))
		}
	}
	// And the text is there: light pixels over the background.
	light := 0
	for y := range 180 {
		for x := range 320 {
			if f.Y[y*f.StrideY+x] > 180 {
				light++
			}
		}
	}
	require.Greater(t, light, 500, "the time is written in light pixels")
}

// TestToneIsLineUp: gen://tone publishes AAC at 48 kHz, continuous, a sine
// of its frequency at −18 dBFS on both channels.
func TestToneIsLineUp(t *testing.T) {
	units := publish(t, "gen://tone?freq=440", 160, 90, 25, func(u []*media.Unit) bool { return len(u)-len(videoUnits(u)) >= 60 })
	var audio []*media.Unit
	for _, u := range units {
		if u.Track.Kind == media.KindAudio {
			audio = append(audio, u)
		}
	}
	tr := audio[0].Track
	require.Equal(t, "aac", tr.Codec)
	require.Equal(t, 48000, tr.SampleRate)
	require.Equal(t, 2, tr.Channels)
	sample := func(d time.Duration) int64 { return int64(math.Round(d.Seconds() * 48000)) }
	for i := 1; i < len(audio); i++ {
		require.Equal(t, sample(audio[i-1].PTS)+1024, sample(audio[i].PTS), "unit %d follows the one before, sample for sample", i)
		require.Equal(t, time.Duration(sample(audio[i].PTS))*time.Second/48000, audio[i].PTS, "unit %d is timed on its first sample", i)
	}
	dec, err := av.NewAudioDecoder("aac", tr.Config, tr.SampleRate, tr.Channels, 48000)
	require.NoError(t, err)
	defer dec.Close()
	var left, right []float32
	for _, u := range audio {
		require.NoError(t, dec.Decode(u.Data[0], func(s []float32) {
			for i := 0; i+1 < len(s); i += 2 {
				left, right = append(left, s[i]), append(right, s[i+1])
			}
		}))
	}
	left, right = left[4096:], right[4096:] // past the codec's start-up
	peak, crossings := 0.0, 0
	for i, v := range left {
		require.InDelta(t, v, right[i], 1e-6, "both channels carry the tone")
		peak = max(peak, math.Abs(float64(v)))
		if i > 0 && (left[i-1] < 0) != (v < 0) {
			crossings++
		}
	}
	require.InDelta(t, -18, 20*math.Log10(peak), 0.5, "peak level in dBFS")
	hz := float64(crossings) / 2 / (float64(len(left)) / 48000)
	require.InDelta(t, 440, hz, 440*0.01, "frequency")
}
