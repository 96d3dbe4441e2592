package testpeer

import (
	"fmt"
	"net"
	"testing"
)

// FreeUDPPair finds two free UDP ports on loopback, an even one and the
// next (RTP and RTCP, as RTSP's UDP transport pairs them).
func FreeUDPPair(t testing.TB) (rtp, rtcp string) {
	t.Helper()
	for range 100 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("a UDP port on loopback: %v", err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		p &^= 1
		if p < 1024 || p > 65532 {
			continue
		}
		a, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		b, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return fmt.Sprintf("127.0.0.1:%d", p), fmt.Sprintf("127.0.0.1:%d", p+1)
	}
	t.Fatal("no free pair of UDP ports on loopback")
	return "", ""
}
