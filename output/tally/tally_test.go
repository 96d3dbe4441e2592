package tally

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"switchyard/internal/fault"
)

// TestSenderNeverWaits: a TCP receiver that accepts and never reads holds
// its own destination only: Changed returns at once whatever it does, the
// UDP receiver gets every state, the stuck one is dropped at the write
// deadline and dialled again, and Close leaves no goroutine behind.
func TestSenderNeverWaits(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var held []net.Conn
	var mu sync.Mutex
	accepts := make(chan struct{}, 64)
	go func() {
		for {
			c, err := stuck.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			accepts <- struct{}{}
		}
	}()
	defer func() {
		_ = stuck.Close()
		mu.Lock()
		for _, c := range held {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer udp.Close()

	var amu sync.Mutex
	air := Air{Program: "s0"}
	var srcs []Source
	big := make([]byte, 250)
	for i := range big {
		big[i] = 'x'
	}
	for i := range 60 {
		srcs = append(srcs, Source{Name: "s" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Index: i + 1, Label: string(big)})
	}
	srcs[0].Name = "s0"
	s, err := New(Options{Destinations: []Config{{Name: "stuck", Protocol: TSL5, Address: stuck.Addr().String(), Transport: TCP},
		{Name: "udp", Protocol: TSL5, Address: udp.LocalAddr().String()}},
		Air:          func() Air { amu.Lock(); defer amu.Unlock(); return air },
		Sources:      func() []Source { return srcs },
		WriteTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	s.Start()

	// 15 kB a state, a new one each time the UDP receiver has the last
	buf := make([]byte, 4096)
	for i := range 120 {
		amu.Lock()
		air.Program = srcs[i%60].Name
		amu.Unlock()
		t0 := time.Now()
		s.Changed()
		require.Less(t, time.Since(t0), 100*time.Millisecond, "Changed returns at once")
		want := byte(i%60 + 1)
		for got := false; !got; {
			require.NoError(t, udp.SetReadDeadline(time.Now().Add(10*time.Second)))
			n, _, err := udp.ReadFrom(buf)
			require.NoError(t, err, "state %d", i)
			// the first display message is index 1's: red when it is on program
			p := buf[:n]
			for off := header5; off+dmsgHeader <= n; {
				idx := int(p[off]) | int(p[off+1])<<8
				ctrl := p[off+2]
				l := int(p[off+4]) | int(p[off+5])<<8
				if idx == int(want) && ctrl&3 == byte(Red) {
					got = true
				}
				off += dmsgHeader + l
			}
		}
	}
	require.Eventually(t, func() bool {
		d := s.Status().Destinations[0]
		return d.LastError != "" && d.Attempt > 0
	}, 20*time.Second, 20*time.Millisecond, "the stuck receiver is dropped at the write deadline: %+v", s.Status().Destinations[0])
	require.Contains(t, s.Status().Destinations[0].LastError, "timeout")
	for range 2 { // the first connection, and one after the drop
		select {
		case <-accepts:
		case <-time.After(20 * time.Second):
			t.Fatal("the stuck receiver was not dialled again")
		}
	}
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg   Config
		field string
	}{
		{Config{Name: "t", Protocol: "tsl4", Address: "a:1"}, "protocol"},
		{Config{Protocol: TSL5, Address: "a:1"}, "name"},
		{Config{Name: "Desk 1", Protocol: TSL5, Address: "a:1"}, "name"},
		{Config{Name: "t", Protocol: TSL31, Address: "a:1", Transport: TCP}, "transport"},
		{Config{Name: "t", Protocol: TSL31, Address: "a:1", Wrap: true}, "wrap"},
		{Config{Name: "t", Protocol: TSL5, Address: "a"}, "address"},
		{Config{Name: "t", Protocol: TSL5, Address: "a:0"}, "address"},
		{Config{Name: "t", Protocol: TSL5, Address: "a:1", Transport: "sctp"}, "transport"},
		{Config{Name: "t", Protocol: TSL5, Address: "a:1", Screen: 70000}, "screen"},
		{Config{Name: "t", Protocol: TSL5, Address: "a:1", Brightness: func() *int { b := 4; return &b }()}, "brightness"},
	} {
		var fe *fault.Invalid
		require.ErrorAs(t, c.cfg.Validate(), &fe, "%+v", c.cfg)
		require.Equal(t, c.field, fe.Field, fe.Msg)
	}
	require.NoError(t, Config{Name: "desk", Protocol: TSL5, Address: "10.0.0.20:8900", Transport: TCP}.Validate())
	require.NoError(t, Config{Name: "t2", Protocol: TSL31, Address: "host:4001"}.Validate())
}
