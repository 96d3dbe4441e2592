package gen

import (
	"image"
	"math"
	"time"

	xdraw "golang.org/x/image/draw"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/media/draw"
)

// drawImage fits img into the frame (letterboxed on black, aspect kept),
// composited over black where it is transparent.
func drawImage(f *av.Frame, img image.Image) {
	f.Fill(16, 128, 128)
	b := img.Bounds()
	w, h := f.Width, b.Dy()*f.Width/max(b.Dx(), 1)
	if h > f.Height {
		w, h = b.Dx()*f.Height/max(b.Dy(), 1), f.Height
	}
	x0, y0 := (f.Width-w)/2, (f.Height-h)/2
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(rgba, rgba.Bounds(), img, b, xdraw.Src, nil)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := rgba.PixOffset(x, y)
			// premultiplied by alpha: over black, the colour as it is
			c := draw.FromRGB(rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
			f.Y[(y0+y)*f.StrideY+x0+x] = c.Y
			if (y0+y)%2 == 0 && (x0+x)%2 == 0 {
				ci := (y0+y)/2*f.StrideC + (x0+x)/2
				f.U[ci], f.V[ci] = c.U, c.V
			}
		}
	}
}

// toneGen is the line-up tone of gen://tone: a sine at −18 dBFS on both
// channels, AAC at 48 kHz.
type toneGen struct {
	enc     *av.AudioEncoder
	track   *media.Track
	freq    float64
	samples int64 // made so far
	buf     []float32
}

const toneRate = 48000

func newTone(freq float64) (*toneGen, error) {
	enc, err := av.NewAACEncoder(toneRate, 128_000)
	if err != nil {
		return nil, err
	}
	track, err := media.NewAACTrack(enc.Extradata())
	if err != nil {
		enc.Close()
		return nil, err
	}
	return &toneGen{enc: enc, track: track, freq: freq, buf: make([]float32, 2*enc.FrameSize())}, nil
}

// until encodes and publishes the tone up to media time t.
func (g *toneGen) until(t time.Duration, pub *ingest.Publisher) error {
	n := g.enc.FrameSize()
	amp := math.Pow(10, -18.0/20)
	for time.Duration(g.samples+int64(n))*time.Second/toneRate <= t {
		for i := 0; i < n; i++ {
			v := float32(amp * math.Sin(2*math.Pi*g.freq*float64(g.samples+int64(i))/toneRate))
			g.buf[2*i], g.buf[2*i+1] = v, v
		}
		err := g.enc.Encode(g.buf, g.samples, func(p av.Packet) {
			if p.PTS < 0 {
				return // the encoder's priming
			}
			ts := time.Duration(p.PTS) * time.Second / toneRate
			pub.WriteUnit(&media.Unit{Track: g.track, PTS: ts, DTS: ts, Key: true, Data: [][]byte{append([]byte(nil), p.Data...)}})
		})
		if err != nil {
			return err
		}
		g.samples += int64(n)
	}
	return nil
}
