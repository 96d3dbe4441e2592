package mixer

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/image/font"

	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/media/draw"
)

// MultiviewConfig is the monitor wall's format.
type MultiviewConfig struct {
	Width, Height int // default 960×540
	FPS           int // default 10
	Quality       int // JPEG quality, default 75
}

// Multiview composes the monitor wall — preview and program large, every
// source as a tile with its name, tally borders and an audio meter — as
// JPEG pictures at its own rate, on its own goroutine, only while someone
// watches. The program picture is the tick's composed canvas (keyers and
// all), handed over by reference-counted copy every few ticks; the rest are
// the sources' latest pictures, shared by reference and scaled here.
type Multiview struct {
	cfg MultiviewConfig
	log *slog.Logger
	// sources takes this round's pictures of the buses and the sources,
	// the program's window last and empty (Switcher.wall)
	sources func(MultiviewConfig) []mvPicture
	black   *av.Frame // the program window before the clock hands a picture

	// the program picture: the clock hands a copy of its canvas every
	// every ticks while the wall runs (want), into prog (under progMu)
	want   atomic.Bool
	every  int64
	pool   *av.FramePool
	progMu sync.Mutex
	prog   *av.Frame
	// fresh has a token when the clock hands over a program picture: a
	// wall that starts waits for one, never showing a stale or black
	// program window first
	fresh chan struct{}

	mu      sync.Mutex
	subs    map[chan []byte]struct{}
	running bool
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

// newMultiview makes the wall of a program of format prog.
func newMultiview(cfg MultiviewConfig, prog Config, log *slog.Logger, black *av.Frame, sources func(MultiviewConfig) []mvPicture) *Multiview {
	if cfg.Width == 0 || cfg.Height == 0 {
		cfg.Width, cfg.Height = 960, 540
	}
	cfg.Width, cfg.Height = cfg.Width&^1, cfg.Height&^1
	if cfg.FPS == 0 {
		cfg.FPS = 10
	}
	if cfg.Quality == 0 {
		cfg.Quality = 75
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Multiview{cfg: cfg, log: log, sources: sources, black: black, subs: map[chan []byte]struct{}{}, ctx: ctx, cancel: cancel,
		every: max(1, int64(math.Round(float64(prog.FPSNum)/float64(prog.FPSDen)/float64(cfg.FPS)))),
		pool:  av.NewFramePool(prog.Width, prog.Height), fresh: make(chan struct{}, 1)}
}

// wants tells whether the clock hands program frame n to the wall.
func (m *Multiview) wants(n int64) bool { return m.want.Load() && n%m.every == 0 }

// Running reports whether the wall is being composed (it has viewers).
func (m *Multiview) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running
}

// Config returns the wall's format.
func (m *Multiview) Config() MultiviewConfig { return m.cfg }

// Subscribe returns a channel of JPEG pictures (the latest one; a slow
// reader skips pictures) and a function to stop. The wall is composed only
// while it has subscribers.
func (m *Multiview) Subscribe() (<-chan []byte, func()) {
	ch := make(chan []byte, 1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		close(ch)
		return ch, func() {}
	}
	m.subs[ch] = struct{}{}
	if !m.running {
		m.running = true
		m.done = make(chan struct{})
		m.want.Store(true)
		go m.run(m.done)
	}
	return ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, ch)
	}
}

// free frees the program picture and the pool (at engine Close, after the
// clock and the wall stopped).
func (m *Multiview) free() {
	if m.prog != nil {
		m.prog.Release()
		m.prog = nil
	}
	m.pool.Close()
}

// close stops the wall (at engine Close).
func (m *Multiview) close() {
	m.mu.Lock()
	m.closed = true
	m.cancel()
	done := m.done
	running := m.running
	m.mu.Unlock()
	if running {
		<-done
	}
}

// mvPicture is one window of the wall this round.
type mvPicture struct {
	name  string
	pic   *av.PictureRef
	frame *av.Frame // a slate, or the program canvas
	rect  av.Rect
	tally color.YUV
	level float64 // dBFS peak for the meter; NaN: no meter
	label string
}

func (p *mvPicture) release() {
	if p.pic != nil {
		p.pic.Release()
	}
	if p.frame != nil {
		p.frame.Release()
	}
	p.pic, p.frame = nil, nil
}

var (
	tallyPGM  = color.FromRGB(230, 30, 30)
	tallyPVW  = color.FromRGB(30, 200, 60)
	tallyNone = color.FromRGB(60, 60, 66)
)

func (m *Multiview) run(done chan struct{}) {
	defer close(done)
	w, h := m.cfg.Width, m.cfg.Height
	canvas, err := av.NewFrame(w, h)
	if err != nil {
		m.log.Error("multiview: cannot allocate its canvas", "err", err)
		m.stopRunning()
		return
	}
	defer canvas.Free()
	out, err := av.NewFrame(w, h) // the canvas in full range, for JPEG
	if err != nil {
		m.log.Error("multiview: cannot allocate its canvas", "err", err)
		m.stopRunning()
		return
	}
	defer out.Free()
	enc, err := av.NewJPEGEncoder(w, h, m.cfg.Quality)
	if err != nil {
		m.log.Error("multiview: cannot open its JPEG encoder", "err", err)
		m.stopRunning()
		return
	}
	defer enc.Close()
	var scalers []av.Scaler
	defer func() {
		for i := range scalers {
			scalers[i].Close()
		}
	}()
	face, err := draw.Face(float64(h) / 30)
	if err != nil {
		m.log.Error("multiview: font", "err", err)
		m.stopRunning()
		return
	}
	defer face.Close()
	size := w * h / 4 // a JPEG's first guess; then the last one's size
	encFailed := false
	ticker := time.NewTicker(time.Second / time.Duration(m.cfg.FPS))
	defer ticker.Stop()
	// The first picture waits for the program clock to hand over a program
	// picture of this run (it hands them only while the wall runs), so the
	// program window never opens black or on a picture from an earlier
	// run; a clock that hands none within a second does not hold it back.
	select {
	case <-m.fresh: // from an earlier run
	default:
	}
	select {
	case <-m.ctx.Done():
		m.stopRunning()
		return
	case <-m.fresh:
	case <-time.After(time.Second):
	}
	for {
		m.mu.Lock()
		if len(m.subs) == 0 || m.closed {
			m.stopLocked() // under mu: a Subscribe from now on starts a new run
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()

		pics := m.gather()
		if n := len(pics); len(scalers) < n {
			scalers = append(scalers, make([]av.Scaler, n-len(scalers))...)
		}
		m.compose(canvas, pics, scalers, face)
		for i := range pics {
			pics[i].release()
		}
		toFullRange(out, canvas)
		// a fresh slice each picture: the subscribers keep theirs
		if jpg, err := enc.Append(make([]byte, 0, size+size/8), out); err == nil {
			size = len(jpg)
			m.broadcast(jpg)
		} else if !encFailed { // once a run, never per picture
			encFailed = true
			m.log.Error("multiview: JPEG encode failed (the wall shows its last good picture)", "err", err)
		}
		select {
		case <-m.ctx.Done():
			m.stopRunning()
			return
		case <-ticker.C:
		}
	}
}

func (m *Multiview) stopRunning() {
	m.mu.Lock()
	m.stopLocked()
	m.mu.Unlock()
}

// stopLocked marks the run over; with mu held, so a new run's start (which
// sets both again) cannot interleave.
func (m *Multiview) stopLocked() {
	m.running = false
	m.want.Store(false)
}

func (m *Multiview) broadcast(jpg []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs {
		select { // keep only the latest picture for a slow reader
		case <-ch:
		default:
		}
		ch <- jpg
	}
}

// Layout returns where the wall puts preview, program and n source tiles:
// preview and program side by side on the top half; the tiles in rows of
// four (up to 8 sources) or six (up to 18) below. Sources beyond the grid
// are not shown.
func (c MultiviewConfig) Layout(n int) (pvw, pgm av.Rect, tiles []av.Rect) {
	w, h := c.Width, c.Height
	pvw = av.Rect{X: 0, Y: 0, W: w / 2 &^ 1, H: h / 2 &^ 1}
	pgm = av.Rect{X: w / 2 &^ 1, Y: 0, W: w / 2 &^ 1, H: h / 2 &^ 1}
	cols, rows := 4, 2
	if n > 8 {
		cols, rows = 6, 3
	}
	tw, th := (w/cols)&^1, (h/2/rows)&^1
	for i := range min(n, cols*rows) {
		tiles = append(tiles, av.Rect{X: (i % cols) * tw, Y: h/2&^1 + (i/cols)*th, W: tw, H: th})
	}
	return pvw, pgm, tiles
}

// gather takes this round's pictures: the sources' (wallSources) and the
// program picture the clock handed over last.
func (m *Multiview) gather() []mvPicture {
	pics := m.sources(m.cfg)
	pg := &pics[len(pics)-1]
	m.progMu.Lock()
	if pg.frame = m.prog; pg.frame != nil {
		pg.frame.Retain()
	} else {
		m.black.Retain()
		pg.frame = m.black
	}
	m.progMu.Unlock()
	return pics
}

// compose draws the wall.
func (m *Multiview) compose(dst *av.Frame, pics []mvPicture, scalers []av.Scaler, face font.Face) {
	bg := color.FromRGB(12, 12, 14)
	dst.Fill(bg.Y, bg.U, bg.V)
	bw := max(2, m.cfg.Width/240) &^ 1 // tally border, even
	for i := range pics {
		p := &pics[i]
		draw.FillRect(dst, p.rect, p.tally)
		inner := av.Rect{X: p.rect.X + bw, Y: p.rect.Y + bw, W: p.rect.W - 2*bw, H: p.rect.H - 2*bw}
		draw.FillRect(dst, inner, color.Black)
		var src av.Picture
		if p.pic != nil {
			src = p.pic.Picture()
		} else {
			src = p.frame.Picture()
		}
		fit := draw.Fit(src.Width(), src.Height(), inner)
		if err := scalers[i].Scale(src, dst, fit); err != nil {
			draw.FillRect(dst, inner, color.Black)
		}
		// the name on a dark strip along the bottom
		m2 := face.Metrics()
		sh := (m2.Ascent + m2.Descent).Ceil() + 4
		strip := av.Rect{X: inner.X, Y: inner.Y + inner.H - sh, W: inner.W, H: sh}
		draw.FillRect(dst, strip, color.FromRGB(0, 0, 0))
		draw.Text(dst, face, strip.X+6, strip.Y+2+m2.Ascent.Ceil(), p.label, color.FromRGB(240, 240, 240))
		if !math.IsNaN(p.level) {
			drawMeter(dst, av.Rect{X: inner.X + inner.W - 3*bw, Y: inner.Y + bw, W: 2 * bw, H: inner.H - sh - 2*bw}, p.level)
		}
	}
}

// drawMeter draws a vertical peak meter: −60 dBFS at the bottom, 0 at the top;
// green to −18, yellow to −6, red above.
func drawMeter(dst *av.Frame, r av.Rect, peakDB float64) {
	draw.FillRect(dst, r, color.FromRGB(30, 30, 30))
	frac := min(max((peakDB+60)/60, 0), 1)
	hgt := int(frac*float64(r.H)) &^ 1
	for _, seg := range []struct {
		from, to float64
		c        color.YUV
	}{{0, 42.0 / 60, color.FromRGB(40, 200, 70)}, {42.0 / 60, 54.0 / 60, color.FromRGB(230, 200, 40)}, {54.0 / 60, 1, color.FromRGB(230, 40, 40)}} {
		lo, hi := int(seg.from*float64(r.H)), min(int(seg.to*float64(r.H)), hgt)
		if hi > lo {
			draw.FillRect(dst, av.Rect{X: r.X, Y: r.Y + r.H - hi, W: r.W, H: hi - lo}, seg.c)
		}
	}
}

// Limited range (video levels) to the full range JPEG decoders assume.
var lumaFull, chromaFull = func() (y, c [256]byte) {
	for i := range 256 {
		y[i] = byte(min(max((i-16)*255/219, 0), 255))
		c[i] = byte(min(max((i-128)*255/224+128, 0), 255))
	}
	return y, c
}()

func toFullRange(dst, src *av.Frame) {
	w, h := src.Width, src.Height
	for y := range h {
		d, s := dst.Y[y*dst.StrideY:y*dst.StrideY+w], src.Y[y*src.StrideY:y*src.StrideY+w]
		for i, v := range s {
			d[i] = lumaFull[v]
		}
	}
	cw := (w + 1) / 2
	for y := range (h + 1) / 2 {
		for _, p := range [2]struct{ d, s []byte }{{dst.U, src.U}, {dst.V, src.V}} {
			d, s := p.d[y*dst.StrideC:y*dst.StrideC+cw], p.s[y*src.StrideC:y*src.StrideC+cw]
			for i, v := range s {
				d[i] = chromaFull[v]
			}
		}
	}
}

// handOver gives the wall a copy of the composed program canvas (a pooled
// frame: no allocation once the pool is warm), on the clock's thread.
func (m *Multiview) handOver(canvas *av.Frame) {
	f, err := m.pool.Get()
	if err != nil {
		return
	}
	f.CopyFrom(canvas)
	m.progMu.Lock()
	old := m.prog
	m.prog = f
	m.progMu.Unlock()
	if old != nil {
		old.Release()
	}
	select {
	case m.fresh <- struct{}{}:
	default:
	}
}
