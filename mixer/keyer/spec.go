// Package keyer describes the mixer's overlay layers (image, text, lower
// third, clock, picture-in-picture), renders the graphic ones into
// premultiplied YUVA layers when they change, and blends layers over a frame
// rectangle by rectangle.
package keyer

import (
	"image"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/image/font/opentype"

	"switchyard/internal/fault"
	"switchyard/media/color"
)

// Types of keyer.
const (
	TypeImage      = "image"
	TypeText       = "text"
	TypeLowerThird = "lowerthird"
	TypeClock      = "clock"
	TypePiP        = "pip"
)

// Clock modes.
const (
	ClockTime      = "time"      // time of day
	ClockCountUp   = "countup"   // elapsed since the keyer went on
	ClockCountDown = "countdown" // duration_s left since the keyer went on, then 0:00
)

// Rect places a keyer on the program canvas, in pixels.
type Rect struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Border is a PiP's frame.
type Border struct {
	Color string `json:"color,omitempty"`
	Width int    `json:"width"`
}

// Spec is a keyer as the API shows and show.json keeps it. Normalize fills
// the defaults; after it every field the type uses is set.
type Spec struct {
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	On      bool     `json:"on"`
	Rect    *Rect    `json:"rect,omitempty"`
	Z       int      `json:"z"`
	Opacity *float64 `json:"opacity,omitempty"`
	FadeMS  int      `json:"fade_ms"`

	// image: a PNG or JPEG in the assets folder (data_dir/assets or
	// assets_dir), named relative to it; uploads are kept there as
	// keyers/ID.png
	Path string `json:"path,omitempty"`

	// text, and the look of clocks
	Text string `json:"text,omitempty"`
	// Font is a TTF/OTF/TTC file in the assets folder, or a built-in Go
	// font: go, go-bold, go-mono-bold; default the Go fonts
	Font              string   `json:"font,omitempty"`
	Size              float64  `json:"size,omitempty"` // pixels
	Color             string   `json:"color,omitempty"`
	Background        string   `json:"background,omitempty"` // a box behind the text; empty: none
	BackgroundOpacity *float64 `json:"background_opacity,omitempty"`
	Align             string   `json:"align,omitempty"` // left, center, right

	// lowerthird
	Title    string `json:"title,omitempty"`
	Subtitle string `json:"subtitle,omitempty"`
	Accent   string `json:"accent,omitempty"`

	// clock
	Mode      string `json:"mode,omitempty"`
	Format    string `json:"format,omitempty"`   // time: 24h, 24h-short or 12h
	Timezone  string `json:"timezone,omitempty"` // IANA name; default local
	DurationS int    `json:"duration_s,omitempty"`

	// pip
	Source string  `json:"source,omitempty"`
	Border *Border `json:"border,omitempty"`

	// auto: Normalize chose the rectangle to fit the content, so a change
	// of content may choose it again (not kept in show.json).
	auto bool
	// what Load read: the font for Font (kept: clocks render every
	// second) and the image for Path (dropped once rendered)
	font     *opentype.Font
	fontName string
	img      image.Image
	imgName  string
}

// MaxKeyers bounds the layers a show may hold (the mixer enforces it; the
// API reports it).
const MaxKeyers = 64

// Limits on a keyer's words: rendering costs grow with them.
const (
	MaxTextBytes  = 4096 // text
	MaxTitleBytes = 256  // title, subtitle
)

func fieldErr(field, format string, args ...any) error { return fault.Invalidf(field, format, args...) }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidID reports whether id is a valid keyer id (the API's name pattern).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Normalize validates s for a w×h canvas and fills its defaults: a rectangle
// for the type (text and clocks are sized to their content), opacity 1,
// colours, fonts, sizes.
func (s *Spec) Normalize(w, h int) error {
	if s.ID != "" && !ValidID(s.ID) {
		return fieldErr("id", "id %q must match [a-z0-9][a-z0-9_-]{0,31}", s.ID)
	}
	if s.Opacity == nil {
		s.Opacity = ptr(1.0)
	}
	if o := *s.Opacity; math.IsNaN(o) || o < 0 || o > 1 {
		return fieldErr("opacity", "opacity must be between 0 and 1")
	}
	if s.FadeMS < 0 || s.FadeMS > 60_000 {
		return fieldErr("fade_ms", "fade_ms must be between 0 and 60000")
	}
	if s.Z < -1000 || s.Z > 1000 {
		return fieldErr("z", "z must be between -1000 and 1000")
	}
	if s.Size == 0 {
		s.Size = max(float64(h)/18, 6)
		if s.Type == TypeClock {
			s.Size = max(float64(h)/14, 6)
		}
	}
	if math.IsNaN(s.Size) || s.Size < 6 || s.Size > float64(h) {
		return fieldErr("size", "size must be between 6 and %d pixels", h)
	}
	if s.Color == "" {
		s.Color = "white"
	}
	if _, err := color.ParseColor(s.Color); err != nil {
		return fieldErr("color", "color: %v", err)
	}
	if s.Background != "" {
		if _, err := color.ParseColor(s.Background); err != nil {
			return fieldErr("background", "background: %v", err)
		}
	}
	if s.BackgroundOpacity == nil {
		s.BackgroundOpacity = ptr(1.0)
	}
	if o := *s.BackgroundOpacity; math.IsNaN(o) || o < 0 || o > 1 {
		return fieldErr("background_opacity", "background_opacity must be between 0 and 1")
	}
	if err := oneOf("align", &s.Align, "left", "center", "right"); err != nil {
		return err
	}
	if s.Font != "" {
		if _, err := s.fontFile(); err != nil {
			return fieldErr("font", "font: %v", err)
		}
	}
	if len(s.Text) > MaxTextBytes {
		return fieldErr("text", "text is %d bytes; at most %d", len(s.Text), MaxTextBytes)
	}
	if len(s.Title) > MaxTitleBytes || len(s.Subtitle) > MaxTitleBytes {
		field := "title"
		if len(s.Subtitle) > MaxTitleBytes {
			field = "subtitle"
		}
		return fieldErr(field, "%s is longer than %d bytes", field, MaxTitleBytes)
	}
	var err error
	switch s.Type {
	case TypeImage:
		err = s.normalizeImage(w, h)
	case TypeText:
		if s.Text == "" {
			return fieldErr("text", "text is empty; give the words to show")
		}
		err = s.sizeToText(w, h, s.Text)
	case TypeLowerThird:
		if s.Title == "" && s.Subtitle == "" {
			return fieldErr("title", "a lower third needs a title or a subtitle")
		}
		if s.Accent == "" {
			s.Accent = "#e0a526"
		}
		if _, err := color.ParseColor(s.Accent); err != nil {
			return fieldErr("accent", "accent: %v", err)
		}
		if s.Rect == nil {
			s.Rect = &Rect{X: w * 6 / 100, Y: h * 72 / 100, W: w / 2, H: h * 16 / 100}
		}
	case TypeClock:
		err = s.normalizeClock(w, h)
	case TypePiP:
		if s.Source == "" {
			return fieldErr("source", "a pip needs a source")
		}
		if s.Rect == nil {
			pw, ph := w/3, h/3
			s.Rect = &Rect{X: w - pw - w/32, Y: h / 18, W: pw, H: ph}
		}
		if s.Border != nil {
			if s.Border.Color == "" {
				s.Border.Color = "white"
			}
			if _, err := color.ParseColor(s.Border.Color); err != nil {
				return fieldErr("border.color", "border.color: %v", err)
			}
			if s.Border.Width < 0 || s.Border.Width > 100 {
				return fieldErr("border.width", "border.width must be between 0 and 100 pixels")
			}
		}
	case "":
		return fieldErr("type", "type is missing: use image, text, lowerthird, clock or pip")
	default:
		return fieldErr("type", "keyer type %q: use image, text, lowerthird, clock or pip", s.Type)
	}
	if err != nil {
		return err
	}
	return s.checkRect(w, h)
}

func (s *Spec) checkRect(w, h int) error {
	r := s.Rect
	r.X, r.Y, r.W, r.H = r.X&^1, r.Y&^1, r.W&^1, r.H&^1
	if r.W < 2 || r.H < 2 {
		return fieldErr("rect", "rect must be at least 2×2 pixels")
	}
	// Compared without adding: x+w can overflow to a small number and let
	// an 8 TiB rectangle through to the allocation.
	if r.X < 0 || r.Y < 0 || r.W > w || r.H > h || r.X > w-r.W || r.Y > h-r.H {
		return fieldErr("rect", "rect %d,%d %dx%d is outside the %dx%d program", r.X, r.Y, r.W, r.H, w, h)
	}
	return nil
}

func (s *Spec) normalizeImage(w, h int) error {
	if s.Rect != nil {
		return nil
	}
	if s.Path == "" { // nothing to show yet: an upload will size it
		s.Rect = &Rect{W: w, H: h}
		s.auto = true
		return nil
	}
	if s.img == nil || s.imgName != s.Path {
		return fieldErr("path", "image %q is not loaded (Load reads it from the assets folder)", s.Path)
	}
	b := s.img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	if iw > w || ih > h { // fit inside the program
		fw, fh := w, ih*w/iw
		if fh > h {
			fw, fh = iw*h/ih, h
		}
		iw, ih = fw, fh
	}
	s.Rect = &Rect{X: (w - iw) / 2, Y: (h - ih) / 2, W: max(iw, 2), H: max(ih, 2)}
	s.auto = true
	return nil
}

func (s *Spec) normalizeClock(w, h int) error {
	if err := oneOf("mode", &s.Mode, ClockTime, ClockCountUp, ClockCountDown); err != nil {
		return err
	}
	if err := oneOf("format", &s.Format, "24h", "24h-short", "12h"); err != nil {
		return err
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return fieldErr("timezone", "timezone %q is not known (use an IANA name like Europe/Paris)", s.Timezone)
		}
	}
	if s.Mode == ClockCountDown && (s.DurationS <= 0 || s.DurationS > 100*3600) {
		return fieldErr("duration_s", "a countdown needs duration_s between 1 and 360000")
	}
	// sized for the widest text the clock will show
	sample := "00:00:00"
	switch {
	case s.Mode == ClockTime && s.Format == "12h":
		sample = "00:00:00 PM"
	case s.Mode == ClockTime && s.Format == "24h-short":
		sample = "00:00"
	}
	return s.sizeToText(w, h, sample)
}

// sizeToText gives s a rectangle fitting text (plus padding) when it has none.
func (s *Spec) sizeToText(w, h int, text string) error {
	if s.Rect != nil {
		return nil
	}
	face, err := s.face(s.Size, false)
	if err != nil {
		return fieldErr("font", "font: %v", err)
	}
	tw, th := measure(face, text)
	pad := s.pad()
	rw, rh := min(tw+2*pad+2, w), min(th+2*pad, h)
	s.Rect = &Rect{X: w * 5 / 100, Y: h * 5 / 100, W: rw, H: rh}
	s.auto = true
	if s.Type == TypeClock {
		s.Rect.X = w - w*5/100 - rw
	}
	if s.Rect.X+rw > w {
		s.Rect.X = w - rw
	}
	if s.Rect.Y+rh > h {
		s.Rect.Y = h - rh
	}
	return nil
}

func (s *Spec) pad() int { return int(math.Ceil(s.Size * 0.3)) }

// oneOf sets an empty *v to the first of allowed (the default) and refuses
// a value not among them.
func oneOf(field string, v *string, allowed ...string) error {
	if *v == "" {
		*v = allowed[0]
		return nil
	}
	if !slices.Contains(allowed, *v) {
		return fieldErr(field, "%s %q: use %s", field, *v, strings.Join(allowed, ", "))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// Clone returns a deep copy (the pointers are not shared).
func (s Spec) Clone() Spec {
	if s.Rect != nil {
		s.Rect = ptr(*s.Rect)
	}
	if s.Opacity != nil {
		s.Opacity = ptr(*s.Opacity)
	}
	if s.BackgroundOpacity != nil {
		s.BackgroundOpacity = ptr(*s.BackgroundOpacity)
	}
	if s.Border != nil {
		s.Border = ptr(*s.Border)
	}
	return s
}

// AutoRect reports whether Normalize chose the rectangle to fit the content.
func (s *Spec) AutoRect() bool { return s.auto }

// Dynamic reports whether the keyer's picture changes with time (a clock).
func (s *Spec) Dynamic() bool { return s.Type == TypeClock }
