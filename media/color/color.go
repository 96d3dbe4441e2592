// Package color holds the mixer's colours: YUV in BT.601 limited range,
// conversion from RGB, the colour names and hex forms the show file and the
// API accept, and premultiplied YUVA layers (what keyers render). It is pure
// Go, so specs validate and keyers render without FFmpeg; media/draw paints
// these colours and blends these layers on av frames.
package color

import (
	"fmt"
	"strings"
)

// YUV is a colour in BT.601 limited range, the convention ffmpeg's lavfi and
// swscale use by default.
type YUV struct{ Y, U, V byte }

// Black is video black.
var Black = YUV{Y: 16, U: 128, V: 128}

// FromRGB converts an 8-bit RGB colour to YUV (BT.601, limited range).
func FromRGB(r, g, b uint8) YUV {
	R, G, B := float64(r), float64(g), float64(b)
	y := 16 + (65.481*R+128.553*G+24.966*B)/255
	u := 128 + (-37.797*R-74.203*G+112.0*B)/255
	v := 128 + (112.0*R-93.786*G-18.214*B)/255
	return YUV{clamp(y), clamp(u), clamp(v)}
}

func clamp(f float64) byte {
	f += 0.5
	if f < 0 {
		return 0
	}
	if f > 255 {
		return 255
	}
	return byte(f)
}

// Named colours accepted by ParseColor, as ffmpeg names them.
var named = map[string][3]uint8{
	"black": {0, 0, 0}, "white": {255, 255, 255}, "red": {255, 0, 0}, "green": {0, 128, 0},
	"lime": {0, 255, 0}, "blue": {0, 0, 255}, "yellow": {255, 255, 0}, "cyan": {0, 255, 255},
	"magenta": {255, 0, 255}, "gray": {128, 128, 128}, "grey": {128, 128, 128},
	"orange": {255, 165, 0}, "purple": {128, 0, 128}, "navy": {0, 0, 128},
}

// ParseColor reads a colour name ("red") or hex RGB ("#ff8800", "ff8800", "0xff8800").
func ParseColor(s string) (YUV, error) {
	c, err := ParseRGB(s)
	if err != nil {
		return YUV{}, err
	}
	return FromRGB(c[0], c[1], c[2]), nil
}

// ParseRGB reads a colour as ParseColor does, as 8-bit RGB.
func ParseRGB(s string) ([3]uint8, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, ok := named[s]; ok {
		return c, nil
	}
	h := strings.TrimPrefix(strings.TrimPrefix(s, "#"), "0x")
	var r, g, b uint8
	if len(h) == 6 {
		if _, err := fmt.Sscanf(h, "%02x%02x%02x", &r, &g, &b); err == nil {
			return [3]uint8{r, g, b}, nil
		}
	}
	return [3]uint8{}, fmt.Errorf("unknown colour %q (use a name like red or hex like #ff8800)", s)
}
