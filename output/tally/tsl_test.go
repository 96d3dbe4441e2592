package tally

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The messages below are written out byte by byte from the protocol
// documents' layouts (tsl.go).

func TestPacket31(t *testing.T) {
	for _, c := range []struct {
		name   string
		d      Display
		bright int
		want   []byte
	}{
		{"program, full brightness", Display{Index: 1, Color: Red, Text: "CAM 1"}, 3,
			append([]byte{0x81, 0b0011_0001}, "CAM 1           "...)},
		{"preview, half", Display{Index: 126, Color: Green, Text: "Jib"}, 2,
			append([]byte{0x80 + 126, 0b0010_0010}, "Jib             "...)},
		{"off, dark, cut to 16", Display{Index: 0, Color: Off, Text: "A label far longer than sixteen"}, 0,
			append([]byte{0x80, 0}, "A label far long"...)},
		{"accents and others", Display{Index: 5, Color: Red, Text: "Café 東"}, 1,
			append([]byte{0x85, 0b0001_0001}, "Cafe ?          "...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Packet31(c.d, c.bright)
			require.Equal(t, c.want, got)
			require.Len(t, got, 18)
		})
	}
}

func TestPackets5(t *testing.T) {
	got := Packets5(2, 3, []Display{{Index: 1, Color: Red, Text: "CAM 1"}, {Index: 0x0203, Color: Green, Text: ""}, {Index: 3, Color: Off, Text: "é"}})
	want := []byte{
		0, 0, // PBC, filled below
		0,    // VER
		0,    // FLAGS: ASCII, display messages
		2, 0, // SCREEN 2
		1, 0, 0b11_01_01_01, 0, 5, 0, 'C', 'A', 'M', ' ', '1', // red on RH, text and LH; brightness 3
		3, 2, 0b11_10_10_10, 0, 0, 0, // green, no text
		3, 0, 0b11_00_00_00, 0, 1, 0, 'e',
	}
	binary.LittleEndian.PutUint16(want, uint16(len(want)-2))
	require.Equal(t, [][]byte{want}, got)

	// more displays than a packet holds: more packets, each at most 2048 bytes
	var many []Display
	for i := range 40 {
		many = append(many, Display{Index: i, Color: Red, Text: strings.Repeat("x", 200)})
	}
	pkts := Packets5(0, 3, many)
	require.Greater(t, len(pkts), 1)
	n := 0
	for _, p := range pkts {
		require.LessOrEqual(t, len(p), MaxPacket5)
		require.Equal(t, len(p)-2, int(binary.LittleEndian.Uint16(p)))
		n += (len(p) - header5) / (dmsgHeader + 200)
	}
	require.Equal(t, 40, n, "every display is sent")
}

func TestWrap(t *testing.T) {
	require.Equal(t, []byte{0xFE, 0x02, 0x01, 0xFE, 0xFE, 0x02, 0xFE, 0xFE}, Wrap([]byte{0x01, 0xFE, 0x02, 0xFE}))
}

func TestControl5(t *testing.T) {
	require.Equal(t, uint16(0b11_01_01_01), Control5(Red, 3))
	require.Equal(t, uint16(0b00_11_11_11), Control5(Amber, 0))
	require.Equal(t, uint16(0), Control5(Off, 0))
}

func TestLamps(t *testing.T) {
	srcs := []Source{{Name: "a", Index: 1}, {Name: "b", Index: 2}, {Name: "c", Index: 3}}
	colors := func(ls []Lamp) string {
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(l.Color[:1])
		}
		return b.String()
	}
	for _, c := range []struct {
		name   string
		air    Air
		keyers bool
		want   string // r, g, o per source
	}{
		{"program and preview", Air{Program: "a", Preview: "b"}, true, "rgo"},
		{"a transition: both red", Air{Program: "a", Preview: "b", Transition: true}, true, "rro"},
		{"a PiP keyer on air", Air{Program: "a", Preview: "b", Keyed: []string{"c"}}, true, "rgr"},
		{"keyers left out", Air{Program: "a", Preview: "b", Keyed: []string{"c"}}, false, "rgo"},
		{"the preview keyed: red", Air{Program: "a", Preview: "b", Keyed: []string{"b"}}, true, "rro"},
		{"black on both", Air{Program: "black", Preview: "black"}, true, "ooo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, colors(Lamps(c.air, srcs, c.keyers)))
		})
	}
}

// FuzzPackets5: whatever the displays, every packet is within the size
// limit, its byte counts are right, and it decodes to the displays sent
// (ASCII text, cut to what a packet holds); wrapped, it unwraps to itself.
func FuzzPackets5(f *testing.F) {
	f.Add(uint16(0), uint16(1), uint8(1), uint8(3), "CAM 1", 3)
	f.Add(uint16(0xFFFF), uint16(0xFEFE), uint8(2), uint8(0), "Caméra 東京 \x00\xfe", 40)
	f.Fuzz(func(t *testing.T, screen, index uint16, color, bright uint8, text string, count int) {
		count = 1 + abs(count)%60
		var ds []Display
		for i := range count {
			ds = append(ds, Display{Index: int(index) + i, Color: Color(color % 4), Text: text})
		}
		var got []Display
		for _, p := range Packets5(int(screen), int(bright%4), ds) {
			require.LessOrEqual(t, len(p), MaxPacket5)
			require.Equal(t, len(p)-2, int(binary.LittleEndian.Uint16(p)))
			require.Equal(t, screen, binary.LittleEndian.Uint16(p[4:]))
			got = append(got, decodeDMSGs(t, p[header5:], int(bright%4))...)
			require.Equal(t, p, unwrapOne(t, Wrap(p)))
		}
		require.Len(t, got, count)
		for i, d := range got {
			require.Equal(t, uint16(ds[i].Index), uint16(d.Index))
			require.Equal(t, ds[i].Color, d.Color)
			require.True(t, strings.HasPrefix(ASCII(ds[i].Text), d.Text))
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func decodeDMSGs(t *testing.T, b []byte, bright int) []Display {
	var out []Display
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), dmsgHeader)
		ctrl := binary.LittleEndian.Uint16(b[2:])
		n := int(binary.LittleEndian.Uint16(b[4:]))
		require.Equal(t, bright, int(ctrl>>6&3))
		require.Zero(t, ctrl&0xFF00)
		text := b[6 : 6+n]
		for _, c := range text {
			require.True(t, c >= 0x20 && c <= 0x7E, "printable ASCII")
		}
		out = append(out, Display{Index: int(binary.LittleEndian.Uint16(b)), Color: Color(ctrl & 3), Text: string(text)})
		b = b[6+n:]
	}
	return out
}

func unwrapOne(t *testing.T, w []byte) []byte {
	require.True(t, bytes.HasPrefix(w, []byte{dle, stx}))
	var out []byte
	for i := 2; i < len(w); i++ {
		if w[i] == dle {
			require.Less(t, i+1, len(w))
			require.Equal(t, byte(dle), w[i+1], "a DLE is doubled")
			i++
		}
		out = append(out, w[i])
	}
	return out
}

// TestIndexesOutOfReach: a TSL 3.1 receiver takes addresses 0–126; a
// source past them is not sent there, and is named in the status.
func TestIndexesOutOfReach(t *testing.T) {
	lamps := []Lamp{{Name: "a", Index: 5, code: Red}, {Name: "b", Index: 127}, {Name: "c", Index: 65534}}
	d31 := newDestination(Config{Protocol: TSL31, Address: "x:1"}.WithDefaults(), Options{}, nil)
	pkts, skipped := d31.packets(lamps)
	require.Equal(t, [][]byte{Packet31(Display{Index: 5, Color: Red}, 3)}, pkts)
	require.Equal(t, []string{"b", "c"}, skipped)
	d5 := newDestination(Config{Protocol: TSL5, Address: "x:1", Transport: TCP}.WithDefaults(), Options{}, nil)
	pkts, skipped = d5.packets(lamps)
	require.Empty(t, skipped)
	require.Len(t, pkts, 1)
	require.Equal(t, []byte{dle, stx}, pkts[0][:2], "TCP: wrapped")
}
