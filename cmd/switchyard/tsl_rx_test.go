package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A TSL UMD receiver for the tests, decoding every byte against the
// protocol documents' layouts (output/tally's tsl.go quotes them), written
// apart from the sender so that one cannot share the other's mistake.

// tslDisplay is one display's message as a receiver decodes it.
type tslDisplay struct {
	Index  int
	Color  string // off, red, green, amber
	Bright int
	Text   string
}

// tslPacket is one packet as it arrived.
type tslPacket struct {
	at       time.Time
	screen   int
	displays []tslDisplay
	err      error
}

var colorNames = []string{"off", "red", "green", "amber"}

// decode31 decodes an 18-byte TSL 3.1 message: HEADER 0x80+address
// (0–126), CONTROL (tally 1–4 in bits 0–3, brightness in bits 4–5, bits 6
// and 7 clear), 16 characters 0x20–0x7E.
func decode31(p []byte) (tslDisplay, error) {
	if len(p) != 18 {
		return tslDisplay{}, fmt.Errorf("TSL 3.1: %d bytes, want 18", len(p))
	}
	if p[0] < 0x80 || p[0] > 0x80+126 {
		return tslDisplay{}, fmt.Errorf("TSL 3.1: header %#x is not 0x80 + 0–126", p[0])
	}
	ctrl := p[1]
	if ctrl&0xC0 != 0 {
		return tslDisplay{}, fmt.Errorf("TSL 3.1: control %#x has bit 6 or 7 set", ctrl)
	}
	d := tslDisplay{Index: int(p[0] - 0x80), Bright: int(ctrl>>4) & 3}
	switch ctrl & 0x0F {
	case 0:
		d.Color = "off"
	case 1: // tally 1: program
		d.Color = "red"
	case 2: // tally 2: preview
		d.Color = "green"
	default:
		return tslDisplay{}, fmt.Errorf("TSL 3.1: tallies %04b: not one lamp", ctrl&0x0F)
	}
	for i, b := range p[2:] {
		if b < 0x20 || b > 0x7E {
			return tslDisplay{}, fmt.Errorf("TSL 3.1: character %d is %#x, not displayable ASCII", i, b)
		}
	}
	d.Text = string(p[2:])
	return d, nil
}

// decode5 decodes a TSL 5.0 packet: PBC (the bytes after it), VER 0,
// FLAGS 0 (ASCII display messages), SCREEN, then DMSGs of INDEX, CONTROL
// (RH tally bits 0–1, text tally 2–3, LH tally 4–5, brightness 6–7, bits
// 8–15 clear), LENGTH and TEXT; 16-bit values little-endian.
func decode5(p []byte) (tslPacket, error) {
	le := binary.LittleEndian
	if len(p) < 6 {
		return tslPacket{}, fmt.Errorf("TSL 5.0: %d bytes, shorter than the header", len(p))
	}
	if len(p) > 2048 {
		return tslPacket{}, fmt.Errorf("TSL 5.0: %d bytes, longer than 2048", len(p))
	}
	if pbc := int(le.Uint16(p)); pbc != len(p)-2 {
		return tslPacket{}, fmt.Errorf("TSL 5.0: PBC %d, but %d bytes follow it", pbc, len(p)-2)
	}
	if p[2] != 0 || p[3] != 0 {
		return tslPacket{}, fmt.Errorf("TSL 5.0: VER %d FLAGS %#x, want 0 and 0 (ASCII display messages)", p[2], p[3])
	}
	pk := tslPacket{screen: int(le.Uint16(p[4:]))}
	for rest := p[6:]; len(rest) > 0; {
		if len(rest) < 6 {
			return tslPacket{}, fmt.Errorf("TSL 5.0: %d bytes left, shorter than a DMSG header", len(rest))
		}
		ctrl := le.Uint16(rest[2:])
		n := int(le.Uint16(rest[4:]))
		if ctrl&0xFF00 != 0 {
			return tslPacket{}, fmt.Errorf("TSL 5.0: control %#04x has bits 8–15 set", ctrl)
		}
		rh, txt, lh := ctrl&3, ctrl>>2&3, ctrl>>4&3
		if rh != txt || rh != lh {
			return tslPacket{}, fmt.Errorf("TSL 5.0: tallies RH %d text %d LH %d differ", rh, txt, lh)
		}
		if len(rest) < 6+n {
			return tslPacket{}, fmt.Errorf("TSL 5.0: LENGTH %d, %d bytes left", n, len(rest)-6)
		}
		text := rest[6 : 6+n]
		for i, b := range text {
			if b < 0x20 || b > 0x7E {
				return tslPacket{}, fmt.Errorf("TSL 5.0: character %d is %#x, not printable ASCII", i, b)
			}
		}
		pk.displays = append(pk.displays, tslDisplay{Index: int(le.Uint16(rest)), Color: colorNames[rh], Bright: int(ctrl>>6) & 3, Text: string(text)})
		rest = rest[6+n:]
	}
	return pk, nil
}

// unwrap reads one DLE/STX-wrapped TSL 5.0 packet from a byte stream:
// DLE STX, then the packet with each DLE doubled; its PBC says where it ends.
func unwrap(r *bufio.Reader) ([]byte, error) {
	b1, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	b2, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if b1 != 0xFE || b2 != 0x02 {
		return nil, fmt.Errorf("TSL 5.0 stream: packet starts %#x %#x, not DLE/STX", b1, b2)
	}
	next := func() (byte, error) {
		b, err := r.ReadByte()
		if err != nil || b != 0xFE {
			return b, err
		}
		b2, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if b2 != 0xFE {
			return 0, fmt.Errorf("TSL 5.0 stream: a DLE inside a packet followed by %#x, not stuffed", b2)
		}
		return 0xFE, nil
	}
	var p []byte
	for len(p) < 2 || len(p) < 2+int(binary.LittleEndian.Uint16(p)) {
		b, err := next()
		if err != nil {
			return nil, err
		}
		p = append(p, b)
	}
	return p, nil
}

// tslRx is a receiver listening on loopback: UDP (TSL 3.1, TSL 5.0 bare
// or wrapped) or TCP (TSL 5.0 wrapped).
type tslRx struct {
	proto   string // tsl31, tsl5
	wrapped bool
	addr    string
	packets chan tslPacket
	accepts chan struct{} // a TCP connection accepted

	mu   sync.Mutex
	conn net.Conn // the TCP connection now
	last map[int]tslDisplay
	done chan struct{}
	stop func()
}

func newUDPRx(t *testing.T, proto string, wrapped bool) *tslRx {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	rx := &tslRx{proto: proto, wrapped: wrapped, addr: pc.LocalAddr().String(), packets: make(chan tslPacket, 4096),
		last: map[int]tslDisplay{}, done: make(chan struct{})}
	rx.stop = func() { _ = pc.Close() }
	go func() {
		defer close(rx.done)
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			rx.push(rx.decodeDatagram(buf[:n]))
		}
	}()
	t.Cleanup(rx.close)
	return rx
}

func (rx *tslRx) decodeDatagram(p []byte) tslPacket {
	at := time.Now()
	if rx.proto == "tsl31" {
		d, err := decode31(p)
		return tslPacket{at: at, displays: []tslDisplay{d}, err: err}
	}
	if rx.wrapped {
		b, err := unwrap(bufio.NewReader(bytes.NewReader(p)))
		if err != nil {
			return tslPacket{at: at, err: err}
		}
		p = b
	}
	pk, err := decode5(p)
	pk.at, pk.err = at, err
	return pk
}

// newTCPRx listens for TSL 5.0 over TCP on addr ("127.0.0.1:0": any port).
func newTCPRx(t *testing.T, addr string) *tslRx {
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	rx := &tslRx{proto: "tsl5", wrapped: true, addr: ln.Addr().String(), packets: make(chan tslPacket, 4096),
		accepts: make(chan struct{}, 64), last: map[int]tslDisplay{}, done: make(chan struct{})}
	var wg sync.WaitGroup
	rx.stop = func() {
		_ = ln.Close()
		rx.mu.Lock()
		if rx.conn != nil {
			_ = rx.conn.Close()
		}
		rx.mu.Unlock()
		wg.Wait()
	}
	go func() {
		defer close(rx.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rx.mu.Lock()
			rx.conn = c
			rx.mu.Unlock()
			rx.accepts <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := bufio.NewReader(c)
				for {
					p, err := unwrap(r)
					if err != nil {
						if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
							rx.push(tslPacket{at: time.Now(), err: err})
						}
						return
					}
					pk, err := decode5(p)
					pk.at, pk.err = time.Now(), err
					rx.push(pk)
				}
			}()
		}
	}()
	t.Cleanup(rx.close)
	return rx
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

// dropConn closes the TCP connection from the receiver's side.
func (rx *tslRx) dropConn() {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	if rx.conn != nil {
		_ = rx.conn.Close()
	}
}

func (rx *tslRx) push(p tslPacket) {
	select {
	case rx.packets <- p:
	default: // the test fell behind; it looks at the latest state only
	}
}

func (rx *tslRx) close() {
	rx.stop()
	<-rx.done
}

// next returns the next packet, applying it to the state.
func (rx *tslRx) next(t *testing.T, within time.Duration) tslPacket {
	t.Helper()
	select {
	case p := <-rx.packets:
		require.NoError(t, p.err, "%s receiver %s", rx.proto, rx.addr)
		for _, d := range p.displays {
			rx.last[d.Index] = d
		}
		return p
	case <-time.After(within):
		t.Fatalf("%s receiver %s: no packet within %s", rx.proto, rx.addr, within)
	}
	return tslPacket{}
}

// waitColors reads packets until each index shows its colour, and returns
// the state then and the packet that completed it.
func (rx *tslRx) waitColors(t *testing.T, want map[int]string, within time.Duration) (map[int]tslDisplay, tslPacket) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var p tslPacket
		select {
		case p = <-rx.packets:
			require.NoError(t, p.err, "%s receiver %s", rx.proto, rx.addr)
			for _, d := range p.displays {
				rx.last[d.Index] = d
			}
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%s receiver %s: after %s the colours are %v, want %v", rx.proto, rx.addr, within, rx.last, want)
		}
		ok := true
		for idx, c := range want {
			if rx.last[idx].Color != c {
				ok = false
			}
		}
		if ok {
			return rx.last, p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s receiver %s: colours %v, want %v", rx.proto, rx.addr, rx.last, want)
		}
	}
}

// drain forgets the packets that arrived so far.
func (rx *tslRx) drain() {
	for {
		select {
		case p := <-rx.packets:
			for _, d := range p.displays {
				rx.last[d.Index] = d
			}
		default:
			return
		}
	}
}
