package tally

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"switchyard/internal/fault"
)

// hangingTCP returns the address of a TCP listener whose accept queue is
// full and never drained: the kernel drops further SYNs, so a dial to it
// neither connects nor fails until it gives up.
func hangingTCP(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	// fill the queue: connections complete until it is full, then one hangs
	// (a loopback connect that can complete does so at once: the kernel answers)
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			var ne net.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "a dial to a full queue hangs: %v", err)
			return addr
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Fatal("the listener's accept queue never filled")
	return ""
}

// udpRx is a UDP receiver whose datagrams arrive on a channel.
func udpRx(t *testing.T) (string, chan []byte) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan []byte, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case ch <- append([]byte(nil), buf[:n]...):
			default:
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); wg.Wait() })
	return pc.LocalAddr().String(), ch
}

func waitPacket(t *testing.T, ch chan []byte, what string) []byte {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("no TSL packet: %s", what)
		return nil
	}
}

func drainCh(ch chan []byte) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestSenderDestinationsWhileRunning: destinations are added, changed and
// removed while the tally runs. An added one gets the state at once; a
// changed one moves to its new address and leaves the old; removing a TCP
// destination in the middle of a dial that never ends, or of a write to a
// receiver that stopped reading, returns at once (not at the dial or
// write timeout, set here to a minute); names are unique, there are at
// most MaxDestinations, and Close leaves no goroutine behind.
func TestSenderDestinationsWhileRunning(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // the last clean-up: after the receivers'
	a, rxA := udpRx(t)
	b, rxB := udpRx(t)
	hang := hangingTCP(t)

	var amu sync.Mutex
	air := Air{Program: "s1"}
	long := strings.Repeat("x", 250)
	var srcs []Source
	for i := range 60 {
		srcs = append(srcs, Source{Name: "s" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Index: i + 1, Label: long})
	}
	srcs[0].Name = "s1"
	s, err := New(Options{
		Air:          func() Air { amu.Lock(); defer amu.Unlock(); return air },
		Sources:      func() []Source { return srcs },
		Repeat:       100 * time.Millisecond,
		WriteTimeout: time.Minute, DialTimeout: time.Minute})
	require.NoError(t, err)
	s.Start()
	defer s.Close()

	_, err = s.Add(Config{Name: "a", Protocol: TSL5, Address: a})
	require.NoError(t, err)
	waitPacket(t, rxA, "an added destination is sent to")

	_, err = s.Add(Config{Name: "a", Protocol: TSL31, Address: b})
	require.ErrorIs(t, err, fault.Conflict, "a name taken")
	var fe *fault.Invalid
	_, err = s.Add(Config{Name: "x", Protocol: TSL5, Address: "nowhere"})
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "address", fe.Field)

	// a dial that never ends
	_, err = s.Add(Config{Name: "hang", Protocol: TSL5, Address: hang, Transport: TCP})
	require.NoError(t, err)
	// (testify may still run a check after Never returns: look the destination up by name)
	require.Never(t, func() bool {
		d, ok := destStatus(s, "hang")
		return ok && (d.State != "connecting" || d.LastError != "")
	},
		300*time.Millisecond, 20*time.Millisecond, "the dial hangs")
	within(t, 10*time.Second, "Remove during a dial", func() { require.NoError(t, s.Remove("hang")) })

	// a receiver that accepts and never reads: the writes block
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { // small windows: the sender's writes block soon
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	stuck, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var held []net.Conn
	var hmu sync.Mutex
	accepted := make(chan struct{}, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := stuck.Accept()
			if err != nil {
				return
			}
			hmu.Lock()
			held = append(held, c)
			hmu.Unlock()
			accepted <- struct{}{}
		}
	}()
	defer func() {
		_ = stuck.Close()
		wg.Wait()
		for _, c := range held {
			_ = c.Close()
		}
	}()
	_, err = s.Add(Config{Name: "stuck", Protocol: TSL5, Address: stuck.Addr().String(), Transport: TCP})
	require.NoError(t, err)
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck receiver was not dialled")
	}
	for i := range 200 { // 15 kB a state: far more than the socket buffers hold
		amu.Lock()
		air.Program = srcs[i%60].Name
		amu.Unlock()
		s.Changed()
		waitPacket(t, rxA, "the UDP destination goes on")
	}
	// the writes are blocked: the UDP destination goes on, this one sends nothing more
	d, _ := destStatus(s, "stuck")
	require.Equal(t, "connected", d.State)
	sent := d.Sent
	for range 5 {
		drainCh(rxA)
		s.Changed()
		waitPacket(t, rxA, "the UDP destination goes on")
	}
	d, _ = destStatus(s, "stuck")
	require.Equal(t, sent, d.Sent, "the stuck receiver's writes are blocked")
	within(t, 10*time.Second, "Remove during a blocked write", func() { require.NoError(t, s.Remove("stuck")) })

	// a change moves the destination
	st, err := s.Patch("a", Patch{Address: &b})
	require.NoError(t, err)
	require.Equal(t, b, st.Address)
	waitPacket(t, rxB, "the new address is sent to")
	time.Sleep(50 * time.Millisecond) // a datagram already on its way to the old address
	drainCh(rxA)
	select {
	case <-rxA:
		t.Fatal("the old address is still sent to")
	case <-time.After(500 * time.Millisecond): // five repeats
	}
	_, err = s.Patch("nope", Patch{Address: &b})
	require.ErrorIs(t, err, fault.NotFound)
	bad := "tsl4"
	_, err = s.Patch("a", Patch{Protocol: &bad})
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "protocol", fe.Field)
	require.Equal(t, b, s.Configs()[0].Address, "a refused change changes nothing")

	// at most MaxDestinations
	for i := 1; i < MaxDestinations; i++ {
		_, err := s.Add(Config{Name: "u" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Protocol: TSL31, Address: b})
		require.NoError(t, err, i)
	}
	_, err = s.Add(Config{Name: "one-more", Protocol: TSL31, Address: b})
	var many *fault.TooMany
	require.ErrorAs(t, err, &many)
	require.Len(t, s.Configs(), MaxDestinations)
	require.NoError(t, s.Remove("a"))
	require.ErrorIs(t, s.Remove("a"), fault.NotFound)
	within(t, 10*time.Second, "Close", s.Close)
}

// destStatus returns the status of the destination named name.
func destStatus(s *Sender, name string) (DestinationStatus, bool) {
	for _, d := range s.Status().Destinations {
		if d.Name == name {
			return d, true
		}
	}
	return DestinationStatus{}, false
}

// within runs f and fails unless it returns within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		t.Logf("%s returned in %v", what, time.Since(t0).Round(10*time.Microsecond))
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// TestCollisions: two sources on one display index are named, with how
// each got it.
func TestCollisions(t *testing.T) {
	require.Empty(t, Collisions([]Source{{Name: "a", Index: 1, ByPosition: true}, {Name: "b", Index: 2, ByPosition: true}}))
	w := Collisions([]Source{{Name: "a", Index: 1, ByPosition: true}, {Name: "b", Index: 2, ByPosition: true},
		{Name: "c", Index: 2}})
	require.Equal(t, []string{"display 2 is shared by b (its position, no tally_index) and c (tally_index 2): a receiver shows only one of them; give each a tally_index of its own"}, w)
}
