package keyer

import (
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"math"
	"strings"
	"sync"
	"time"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"switchyard/internal/assets"
	"switchyard/internal/fault"
	ycolor "switchyard/media/color"
)

// Limits on what a keyer reads.
const (
	MaxImageBytes  = assets.MaxImageBytes
	MaxImagePixels = assets.MaxImagePixels
	MaxFontBytes   = 32 << 20
)

var (
	builtinMu sync.Mutex
	builtins  = map[string]*opentype.Font{}
)

// Built-in fonts, by the names Font may also take.
var builtin = map[string][]byte{"go": goregular.TTF, "go-bold": gobold.TTF, "go-mono-bold": gomonobold.TTF}

// builtinFont parses a built-in font once and keeps it.
func builtinFont(name string) (*opentype.Font, error) {
	builtinMu.Lock()
	defer builtinMu.Unlock()
	if f := builtins[name]; f != nil {
		return f, nil
	}
	f, err := parseFont(name, builtin[name])
	if err != nil {
		return nil, err
	}
	builtins[name] = f
	return f, nil
}

func parseFont(name string, data []byte) (*opentype.Font, error) {
	f, err := opentype.Parse(data)
	if err != nil {
		if c, cerr := opentype.ParseCollection(data); cerr == nil && c.NumFonts() > 0 {
			f, err = c.Font(0) // a .ttc: its first face
		}
		if err != nil {
			return nil, fmt.Errorf("%s is not a TrueType/OpenType font: %w", name, err)
		}
	}
	return f, nil
}

// Load reads the files the spec names — its font and, for an image keyer,
// its image — from the assets folder, and keeps them in the spec for
// Normalize and Render, which do no I/O. Names are kept as the folder
// knows them (relative to it). What is already loaded for the same name
// is not read again; call it without holding any lock the program or the
// API's readers need: it reads files.
func (s *Spec) Load(d *assets.Dir) error {
	if s.Font != "" && builtin[s.Font] == nil {
		name, err := d.Name(s.Font)
		if err != nil {
			return &fault.Invalid{Field: "font", Msg: "font: " + err.Error(), Err: err}
		}
		s.Font = name
		if s.font == nil || s.fontName != name {
			data, err := d.ReadFile(name, MaxFontBytes)
			if err != nil {
				return &fault.Invalid{Field: "font", Msg: "font: " + err.Error(), Err: err}
			}
			f, err := parseFont(name, data)
			if err != nil {
				return fieldErr("font", "font: %v", err)
			}
			s.font, s.fontName = f, name
		}
	}
	if s.Type == TypeImage && s.Path != "" {
		name, err := d.Name(s.Path)
		if err != nil {
			return &fault.Invalid{Field: "path", Msg: "path: " + err.Error(), Err: err}
		}
		s.Path = name
		if s.img == nil || s.imgName != name {
			img, err := d.Image(name)
			if err != nil {
				return &fault.Invalid{Field: "path", Msg: "path: " + err.Error(), Err: err}
			}
			s.img, s.imgName = img, name
		}
	}
	return nil
}

// DropImage forgets the decoded image once it is rendered (it can be large);
// the next Load reads the file again.
func (s *Spec) DropImage() { s.img, s.imgName = nil, "" }

// fontFile returns the spec's own font: a built-in by name, or the file
// Load read.
func (s *Spec) fontFile() (*opentype.Font, error) {
	if builtin[s.Font] != nil {
		return builtinFont(s.Font)
	}
	if s.font == nil || s.fontName != s.Font {
		return nil, fmt.Errorf("%q is not loaded (Load reads it from the assets folder)", s.Font)
	}
	return s.font, nil
}

// face returns the keyer's font at size pixels: the configured one, else a
// built-in Go font (bold for titles, mono bold for clocks so digits do not dance).
func (s *Spec) face(size float64, bold bool) (font.Face, error) {
	f, err := s.fontFor(bold)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
}

func (s *Spec) fontFor(bold bool) (*opentype.Font, error) {
	if s.Font != "" {
		return s.fontFile()
	}
	switch {
	case s.Type == TypeClock:
		return builtinFont("go-mono-bold")
	case bold:
		return builtinFont("go-bold")
	}
	return builtinFont("go")
}

// measure returns the size of text's lines set in face.
func measure(face font.Face, text string) (w, h int) {
	m := face.Metrics()
	lines := strings.Split(text, "\n")
	for _, l := range lines {
		w = max(w, font.MeasureString(face, l).Ceil())
	}
	return w, len(lines) * m.Height.Ceil()
}

// CheckImage reports whether data is a PNG or JPEG the image keyer accepts,
// and its format ("png" or "jpeg").
func CheckImage(data []byte) (string, error) {
	format, _, _, err := assets.CheckImage(data)
	return format, err
}

// Clock is what a clock keyer needs besides its spec.
type Clock struct {
	Now     time.Time
	Started time.Time // when the keyer last went on (timers)
}

// ClockText is what a clock keyer shows at c.
func (s *Spec) ClockText(c Clock) string {
	switch s.Mode {
	case ClockCountUp, ClockCountDown:
		el := c.Now.Sub(c.Started)
		if c.Started.IsZero() || el < 0 {
			el = 0
		}
		secs := int64(el / time.Second)
		if s.Mode == ClockCountDown {
			// the seconds left, rounded up: 0:10 … 0:01, then 0:00
			left := time.Duration(s.DurationS)*time.Second - el
			secs = max(int64((left+time.Second-1)/time.Second), 0)
		}
		hh, mm, ss := secs/3600, secs/60%60, secs%60
		if hh > 0 {
			return fmt.Sprintf("%d:%02d:%02d", hh, mm, ss)
		}
		return fmt.Sprintf("%02d:%02d", mm, ss)
	}
	t := c.Now
	if s.Timezone != "" {
		if loc, err := time.LoadLocation(s.Timezone); err == nil {
			t = t.In(loc)
		}
	}
	switch s.Format {
	case "24h-short":
		return t.Format("15:04")
	case "12h":
		return t.Format("3:04:05 PM")
	}
	return t.Format("15:04:05")
}

// Render draws a keyer into a layer the size of its rectangle. A PiP's layer
// is its border (nil without one); its picture is scaled per frame. An image
// keyer without an image yet renders transparent.
func Render(s *Spec, c Clock) (*ycolor.Layer, error) {
	r := s.Rect
	img := image.NewRGBA(image.Rect(0, 0, r.W, r.H))
	switch s.Type {
	case TypeImage:
		if s.Path != "" {
			if s.img == nil || s.imgName != s.Path {
				return nil, fieldErr("path", "image %q is not loaded (Load reads it from the assets folder)", s.Path)
			}
			drawImage(img, s.img)
		}
	case TypeText:
		if err := s.drawText(img, s.Text); err != nil {
			return nil, err
		}
	case TypeClock:
		if err := s.drawText(img, s.ClockText(c)); err != nil {
			return nil, err
		}
	case TypeLowerThird:
		if err := s.drawLowerThird(img); err != nil {
			return nil, err
		}
	case TypePiP:
		if s.Border == nil || s.Border.Width == 0 {
			return nil, nil
		}
		bw := s.Border.Width
		c := rgba(s.Border.Color, 1)
		for _, b := range []image.Rectangle{image.Rect(0, 0, r.W, bw), image.Rect(0, r.H-bw, r.W, r.H),
			image.Rect(0, 0, bw, r.H), image.Rect(r.W-bw, 0, r.W, r.H)} {
			stddraw.Draw(img, b, image.NewUniform(c), image.Point{}, stddraw.Src)
		}
	default:
		return nil, fieldErr("type", "keyer type %q cannot be rendered", s.Type)
	}
	return ycolor.FromRGBA(img), nil
}

// rgba is a colour the keyer accepted (Normalize checked it) with alpha a.
func rgba(name string, a float64) color.NRGBA {
	c, _ := ycolor.ParseRGB(name)
	return color.NRGBA{R: c[0], G: c[1], B: c[2], A: uint8(math.Round(a * 255))}
}

func drawImage(dst *image.RGBA, src image.Image) {
	// fitted, centred, aspect kept; the rest stays transparent
	b, d := src.Bounds(), dst.Bounds()
	w, h := d.Dx(), b.Dy()*d.Dx()/b.Dx()
	if h > d.Dy() {
		w, h = b.Dx()*d.Dy()/b.Dy(), d.Dy()
	}
	at := image.Rect((d.Dx()-w)/2, (d.Dy()-h)/2, (d.Dx()-w)/2+w, (d.Dy()-h)/2+h)
	if at.Dx() == b.Dx() && at.Dy() == b.Dy() {
		stddraw.Draw(dst, at, src, b.Min, stddraw.Over)
	} else {
		xdraw.CatmullRom.Scale(dst, at, src, b, xdraw.Over, nil)
	}
}

// drawText sets text (lines split at \n) on the keyer's box, aligned and
// centred vertically, anti-aliased.
func (s *Spec) drawText(dst *image.RGBA, text string) error {
	b := dst.Bounds()
	if s.Background != "" {
		stddraw.Draw(dst, b, image.NewUniform(rgba(s.Background, *s.BackgroundOpacity)), image.Point{}, stddraw.Src)
	}
	face, err := s.face(s.Size, false)
	if err != nil {
		return err
	}
	defer face.Close()
	lines := strings.Split(text, "\n")
	m := face.Metrics()
	lh := m.Height.Ceil()
	top := (b.Dy() - lh*len(lines)) / 2
	pad := s.pad()
	for i, l := range lines {
		setLine(dst, face, l, s.Align, pad, top+i*lh+m.Ascent.Ceil(), rgba(s.Color, 1))
	}
	return nil
}

// setLine draws one line with its baseline at y, aligned in dst with pad
// pixels from the side it is aligned to. Only the glyphs that can touch dst
// are rasterised: a long line at a large size costs what shows, not what
// is written.
func setLine(dst *image.RGBA, face font.Face, line, align string, pad, y int, c color.Color) {
	b := dst.Bounds()
	m := face.Metrics()
	if y+m.Descent.Ceil() < 0 || y-m.Ascent.Ceil() > b.Dy() {
		return // the line is above or below the box
	}
	w := font.MeasureString(face, line).Ceil()
	x := pad
	switch align {
	case "center":
		x = (b.Dx() - w) / 2
	case "right":
		x = b.Dx() - pad - w
	}
	src := image.NewUniform(c)
	dot := fixed.P(x, y)
	slack := m.Height // glyphs may reach a little past their advance
	prev := rune(-1)
	for _, r := range line { // as font.Drawer.DrawString, skipping what cannot show
		if prev >= 0 {
			dot.X += face.Kern(prev, r)
		}
		if dot.X-slack > fixed.I(b.Dx()) {
			return // the rest is right of the box
		}
		if adv, ok := face.GlyphAdvance(r); ok && dot.X+adv+slack < 0 { // left of the box: moved over
			dot.X += adv
			prev = r
			continue
		}
		dr, mask, mp, adv, ok := face.Glyph(dot, r)
		if !ok {
			continue
		}
		stddraw.DrawMask(dst, dr, src, image.Point{}, mask, mp, stddraw.Over)
		dot.X += adv
		prev = r
	}
}

// drawLowerThird is the default template: a dark translucent band with an
// accent bar on its left, the title in bold over the subtitle.
func (s *Spec) drawLowerThird(dst *image.RGBA) error {
	b := dst.Bounds()
	w, h := b.Dx(), b.Dy()
	bar := max(4, h/12)
	stddraw.Draw(dst, image.Rect(bar, 0, w, h), image.NewUniform(color.NRGBA{R: 16, G: 20, B: 28, A: 224}), image.Point{}, stddraw.Src)
	stddraw.Draw(dst, image.Rect(0, 0, bar, h), image.NewUniform(rgba(s.Accent, 1)), image.Point{}, stddraw.Src)
	pad := bar + h/5
	titleSize, subSize := float64(h)*0.36, float64(h)*0.22
	if s.Subtitle == "" {
		titleSize = float64(h) * 0.46
	}
	title, err := s.face(titleSize, true)
	if err != nil {
		return err
	}
	defer title.Close()
	sub, err := s.face(subSize, false)
	if err != nil {
		return err
	}
	defer sub.Close()
	tm, sm := title.Metrics(), sub.Metrics()
	total := tm.Height.Ceil()
	if s.Subtitle != "" {
		total += sm.Height.Ceil()
	}
	y := (h-total)/2 + tm.Ascent.Ceil()
	if s.Title != "" {
		setLine(dst, title, s.Title, "left", pad, y, rgba(s.Color, 1))
	}
	if s.Subtitle != "" {
		setLine(dst, sub, s.Subtitle, "left", pad, y+tm.Descent.Ceil()+sm.Ascent.Ceil()+h/40, color.NRGBA{R: 200, G: 204, B: 212, A: 255})
	}
	return nil
}

// HasGlyphs reports whether the keyer's font has every rune of text (a
// missing one is drawn as an empty box).
func (s *Spec) HasGlyphs(text string, bold bool) bool {
	f, err := s.fontFor(bold)
	if err != nil {
		return false
	}
	var buf sfnt.Buffer
	for _, r := range text {
		if r == '\n' || r == ' ' {
			continue
		}
		if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
			return false
		}
	}
	return true
}
