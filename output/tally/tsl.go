package tally

import (
	"encoding/binary"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The TSL UMD wire formats, from the protocol documents TSL Products
// publish ("TSL UMD Protocol", V3.1 and V5.0), as receivers' manuals
// reproduce them (e.g. EVS Synapse MGU100/MGG100, Appendix 1 "Supported
// Protocols": https://manualshive.com/en/manual/evs/synapse-mgg200/2447680?page=57;
// TVLogic's "Dynamic UMD Protocol (TSL V3.1)" pages).
//
// V3.1: one 18-byte message per display —
//
//	HEADER   1 byte   0x80 + display address (0–126)
//	CONTROL  1 byte   bits 0–3 tally 1–4 (1 = on), bits 4–5 brightness
//	                  (0 = off, 1 = 1/7, 2 = 1/2, 3 = full), bit 6 reserved, bit 7 clear
//	DATA    16 bytes  displayable ASCII 0x20–0x7E; all 16 are sent
//
// V5.0 (16-bit values little-endian, LSB first):
//
//	PBC     16 bit  byte count of the rest of the packet
//	VER      8 bit  minor version: 0 for V5.00
//	FLAGS    8 bit  bit 0 set: strings UTF-16LE (clear: ASCII); bit 1 set:
//	                SCONTROL follows (clear: display messages); bits 2–7 clear
//	SCREEN  16 bit  screen index (0xFFFF: every screen)
//	DMSG…           display messages, each:
//	  INDEX   16 bit  display index (0xFFFF: every display)
//	  CONTROL 16 bit  bits 0–1 right-hand tally, 2–3 text tally, 4–5 left-hand
//	                  tally (0 off, 1 red, 2 green, 3 amber), 6–7 brightness
//	                  (0–3), bits 8–14 reserved, bit 15 clear (display data)
//	  LENGTH  16 bit  byte count of TEXT
//	  TEXT            the display text
//
// A packet is at most 2048 bytes. V5.0 packets go over UDP as they are;
// over a byte stream (TCP) each starts with DLE/STX (0xFE 0x02) and every
// DLE inside it is stuffed to DLE/DLE; byte counts are not affected by the
// stuffing. Some receivers expect the wrapping on UDP too (Config.Wrap).

// Color is a tally lamp's colour as TSL 5.0 codes it (TSL 3.1 has on/off
// lamps: red lights tally 1, green tally 2).
type Color int

// The lamp colours.
const (
	Off   Color = 0
	Red   Color = 1
	Green Color = 2
	Amber Color = 3
)

// String names the colour, as the API shows it.
func (c Color) String() string {
	switch c {
	case Red:
		return "red"
	case Green:
		return "green"
	case Amber:
		return "amber"
	}
	return "off"
}

// Display is one display's message: its index, lamp and text.
type Display struct {
	Index int
	Color Color
	Text  string
}

// Limits of the formats.
const (
	// MaxAddress31 is the highest TSL 3.1 display address.
	MaxAddress31 = 126
	// Text31 is the length of a TSL 3.1 display text.
	Text31 = 16
	// MaxIndex5 is the highest TSL 5.0 display index (0xFFFF addresses every display).
	MaxIndex5 = 0xFFFE
	// MaxPacket5 is the longest TSL 5.0 packet, in bytes (before wrapping).
	MaxPacket5 = 2048
	dle, stx   = 0xFE, 0x02
	header5    = 6 // PBC, VER, FLAGS, SCREEN
	dmsgHeader = 6 // INDEX, CONTROL, LENGTH
)

// ASCII turns text into printable ASCII (0x20–0x7E), as both versions
// send it: letters with accents lose them (é → e), other characters that
// ASCII lacks become '?', control characters spaces.
func ASCII(text string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(text) {
		switch {
		case r >= 0x20 && r <= 0x7E:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r): // a combining accent, split off by NFD
		case unicode.IsControl(r) || unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Packet31 is a display's TSL 3.1 message: 18 bytes. The text is made
// ASCII and cut or space-padded to 16 characters.
func Packet31(d Display, brightness int) []byte {
	p := make([]byte, 2, 2+Text31)
	p[0] = 0x80 + byte(d.Index&0x7F)
	switch d.Color {
	case Red:
		p[1] = 1 << 0 // tally 1: program
	case Green:
		p[1] = 1 << 1 // tally 2: preview
	case Amber:
		p[1] = 1<<0 | 1<<1
	}
	p[1] |= byte(brightness&3) << 4
	text := ASCII(d.Text)
	if len(text) > Text31 {
		text = text[:Text31]
	}
	p = append(p, text...)
	for len(p) < 2+Text31 {
		p = append(p, ' ')
	}
	return p
}

// Control5 is a TSL 5.0 CONTROL word: the three tallies in the colour,
// the brightness, display data (bit 15 clear).
func Control5(c Color, brightness int) uint16 {
	v := uint16(c) & 3
	return v | v<<2 | v<<4 | uint16(brightness&3)<<6
}

// Packets5 are the TSL 5.0 packets carrying every display's message for
// screen, as many to a packet as fit in MaxPacket5 bytes. Texts are ASCII
// (FLAGS bit 0 clear), each cut to what one packet holds.
func Packets5(screen, brightness int, displays []Display) [][]byte {
	var out [][]byte
	var p []byte
	flush := func() {
		if len(p) > header5 {
			binary.LittleEndian.PutUint16(p[0:2], uint16(len(p)-2))
			out = append(out, p)
		}
		p = nil
	}
	for _, d := range displays {
		text := ASCII(d.Text)
		if room := MaxPacket5 - header5 - dmsgHeader; len(text) > room {
			text = text[:room]
		}
		if p != nil && len(p)+dmsgHeader+len(text) > MaxPacket5 {
			flush()
		}
		if p == nil {
			p = make([]byte, header5, 256)
			p[2], p[3] = 0, 0 // VER 0 (V5.00), FLAGS 0: ASCII display messages
			binary.LittleEndian.PutUint16(p[4:6], uint16(screen))
		}
		p = binary.LittleEndian.AppendUint16(p, uint16(d.Index))
		p = binary.LittleEndian.AppendUint16(p, Control5(d.Color, brightness))
		p = binary.LittleEndian.AppendUint16(p, uint16(len(text)))
		p = append(p, text...)
	}
	flush()
	return out
}

// Wrap frames a TSL 5.0 packet for a byte stream: DLE/STX, then the
// packet with every DLE doubled.
func Wrap(packet []byte) []byte {
	out := make([]byte, 0, len(packet)+4)
	out = append(out, dle, stx)
	for _, b := range packet {
		out = append(out, b)
		if b == dle {
			out = append(out, dle)
		}
	}
	return out
}
