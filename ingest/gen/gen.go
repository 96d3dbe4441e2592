// Package gen publishes built-in sources that need no camera: colour bars,
// bars with a line-up tone, a solid colour, a clock and a still image (a slate
// or logo), encoded to H.264 (and AAC for the tone) at the program's size and
// rate.
package gen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"golang.org/x/image/font"

	"switchyard/ingest"
	"switchyard/internal/assets"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/media/draw"
)

// Config configures one generator.
type Config struct {
	// Source is the registry name the generator publishes to.
	Source string
	// URL is gen://bars, gen://tone?freq=HZ, gen://color?c=NAME, gen://clock
	// or gen://image?path=FILE (a PNG or JPEG in Assets).
	URL string
	// Assets is the folder gen://image reads from.
	Assets         *assets.Dir
	Width, Height  int
	FPSNum, FPSDen int
	// BitrateBPS defaults to 1 Mbit/s.
	BitrateBPS int
}

// MaxGenerators bounds the generators a show runs: each is an H.264 encoder.
const MaxGenerators = ingest.MaxGenerators

// ErrTooMany refuses a generator past MaxGenerators.
var ErrTooMany = ingest.ErrTooManyGenerators

// Kind returns the generator kind of a gen:// URL, or an error for anything else.
func Kind(raw string) (string, url.Values, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "gen" {
		return "", nil, errors.New("not a gen:// URL")
	}
	switch u.Host {
	case "bars", "tone", "color", "clock", "image":
		return u.Host, u.Query(), nil
	}
	return "", nil, fmt.Errorf("unknown generator %q (use gen://bars, gen://tone, gen://color?c=NAME, gen://clock or gen://image?path=FILE)", u.Host)
}

// Check validates a gen:// URL and its parameters without reading any file:
// what the show file, show.json and the API check before a generator starts.
func Check(raw string) error {
	kind, q, err := Kind(raw)
	if err != nil {
		return err
	}
	switch kind {
	case "color":
		if c := q.Get("c"); c != "" {
			if _, err := draw.ParseColor(c); err != nil {
				return err
			}
		}
	case "image":
		if q.Get("path") == "" {
			return errors.New("gen://image needs ?path=FILE (a PNG or JPEG)")
		}
	case "tone":
		if f := q.Get("freq"); f != "" {
			if v, err := strconv.ParseFloat(f, 64); err != nil || !(v >= 20 && v <= 20000) {
				return fmt.Errorf("tone freq %q must be 20 to 20000 Hz", f)
			}
		}
	}
	return nil
}

// Generator renders and publishes one built-in source.
type Generator struct {
	cfg  Config
	reg  *ingest.Registry
	log  *slog.Logger
	kind string
	bg   draw.YUV
	img  image.Image // gen://image, decoded once
	freq float64     // gen://tone

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New validates cfg; Start begins publishing.
func New(cfg Config, reg *ingest.Registry, log *slog.Logger) (*Generator, error) {
	if err := Check(cfg.URL); err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Source, err)
	}
	kind, q, _ := Kind(cfg.URL)
	if cfg.BitrateBPS == 0 {
		cfg.BitrateBPS = 1_000_000
	}
	g := &Generator{cfg: cfg, reg: reg, kind: kind, log: log.With("component", "ingest.gen", "source", cfg.Source)}
	switch kind { // the parameters were checked by Check
	case "color":
		g.bg, _ = draw.ParseColor(cmp.Or(q.Get("c"), "black"))
	case "clock":
		g.bg = draw.FromRGB(16, 32, 64)
	case "image":
		var err error
		if g.img, err = cfg.Assets.Image(q.Get("path")); err != nil {
			return nil, fmt.Errorf("source %s: gen://image: %w", cfg.Source, err)
		}
	case "tone":
		g.freq = 1000
		if f := q.Get("freq"); f != "" {
			g.freq, _ = strconv.ParseFloat(f, 64)
		}
	}
	return g, nil
}

// Start claims the source and begins publishing.
func (g *Generator) Start() error {
	pub, err := g.reg.Publish(g.cfg.Source, "", "gen")
	if err != nil {
		return err
	}
	enc, err := av.NewH264Encoder(av.H264Config{
		Width: g.cfg.Width, Height: g.cfg.Height, FPSNum: g.cfg.FPSNum, FPSDen: g.cfg.FPSDen,
		BitrateBPS: g.cfg.BitrateBPS, GOP: 2 * g.cfg.FPSNum / g.cfg.FPSDen, Preset: "ultrafast", Threads: 1,
	})
	if err != nil {
		pub.Close()
		return err
	}
	track, err := media.H264TrackFromAnnexB(enc.Extradata(), float64(g.cfg.FPSNum)/float64(g.cfg.FPSDen))
	if err != nil {
		enc.Close()
		pub.Close()
		return err
	}
	frame, err := av.NewFrame(g.cfg.Width, g.cfg.Height)
	if err != nil {
		enc.Close()
		pub.Close()
		return err
	}
	var tone *toneGen
	if g.kind == "tone" {
		if tone, err = newTone(g.freq); err != nil {
			frame.Free()
			enc.Close()
			pub.Close()
			return err
		}
		pub.SetTracks(track, tone.track)
	} else {
		pub.SetTracks(track)
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer pub.Close()
		defer enc.Close()
		defer frame.Free()
		if tone != nil {
			defer tone.enc.Close()
		}
		g.run(pub, enc, track, frame, tone)
	}()
	return nil
}

// Close stops publishing and waits. Safe twice.
func (g *Generator) Close() {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
}

// drawClock paints gen://clock's picture: the time of day to the second,
// centred on its background.
func drawClock(f *av.Frame, face font.Face, bg draw.YUV, now time.Time) {
	f.Fill(bg.Y, bg.U, bg.V)
	draw.TextCentered(f, face, f.Height/2+f.Height/14, now.Format("15:04:05"), draw.FromRGB(240, 240, 240))
}

func (g *Generator) run(pub *ingest.Publisher, enc *av.VideoEncoder, track *media.Track, frame *av.Frame, tone *toneGen) {
	fpsN, fpsD := int64(g.cfg.FPSNum), int64(g.cfg.FPSDen)
	var face font.Face
	if g.kind == "clock" {
		face, _ = draw.Face(float64(g.cfg.Height) / 5)
	}
	switch g.kind {
	case "bars", "tone":
		draw.Bars(frame)
	case "image":
		drawImage(frame, g.img)
	default:
		frame.Fill(g.bg.Y, g.bg.U, g.bg.V)
	}
	lastSec := int64(-1)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := int64(0); ; n++ {
		select {
		case <-g.ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		if g.kind == "clock" && face != nil {
			if sec := now.Unix(); sec != lastSec {
				lastSec = sec
				drawClock(frame, face, g.bg, now)
			}
		}
		pts := time.Duration(n * fpsD * int64(time.Second) / fpsN)
		err := enc.Encode(frame, n, false, func(p av.Packet) {
			var au h264.AnnexB
			if err := au.Unmarshal(append([]byte(nil), p.Data...)); err != nil {
				return
			}
			nalus, key := media.H264KeyWithParams(au, track.SPS, track.PPS)
			pub.WriteUnit(&media.Unit{Track: track, PTS: pts, DTS: pts, Key: key, Data: nalus})
		})
		if err == nil && tone != nil {
			err = tone.until(pts+time.Duration(fpsD*int64(time.Second)/fpsN), pub)
		}
		if err != nil {
			g.log.Error("encode failed, generator stops", "err", err)
			return
		}
		// Deadline scheduling: the next frame is due at start + (n+1)/fps, never drifting.
		next := start.Add(time.Duration((n + 1) * fpsD * int64(time.Second) / fpsN))
		timer.Reset(time.Until(next))
	}
}
