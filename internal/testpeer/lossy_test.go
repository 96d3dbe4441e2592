package testpeer

import (
	"encoding/binary"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLossyUDP: through the relay to an echo server and back, a datagram
// passes both ways with the loss share of each (so about (1-p)² come
// back), at least twice the one-way delay late, in the order sent.
func TestLossyUDP(t *testing.T) {
	echo := udpEcho(t)
	relay := StartLossyUDP(t, echo.LocalAddr().String(), Impairment{Loss: 0.2, Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 7})
	c, err := net.Dial("udp", relay.Addr())
	require.NoError(t, err)
	defer c.Close()

	const n = 1000
	var sent [n]atomic.Int64 // unix nanoseconds: read by the reader
	type arrival struct {
		i     int
		after time.Duration
	}
	back := make(chan arrival, n)
	go func() { // reads while the datagrams go out: a socket's buffer is small
		defer close(back)
		b := make([]byte, 2048)
		for {
			if c.SetReadDeadline(time.Now().Add(2*time.Second)) != nil {
				return
			}
			if _, err := c.Read(b); err != nil {
				return
			}
			i := int(binary.BigEndian.Uint32(b))
			back <- arrival{i, time.Since(time.Unix(0, sent[i].Load()))}
		}
	}()
	for i := range n {
		b := make([]byte, 100)
		binary.BigEndian.PutUint32(b, uint32(i))
		sent[i].Store(time.Now().UnixNano())
		_, err := c.Write(b)
		require.NoError(t, err)
		time.Sleep(200 * time.Microsecond)
	}
	got, last := 0, -1
	for a := range back {
		require.Greater(t, a.i, last, "in order")
		require.GreaterOrEqual(t, a.after, 16*time.Millisecond, "delayed both ways (10 ms ± 2 ms each)")
		last = a.i
		got++
	}
	share := float64(got) / n
	t.Logf("%d of %d came back (%.1f %%; (1-0.2)² = 64 %%)", got, n, 100*share)
	require.InDelta(t, 0.64, share, 0.06)
	_, dropped := relay.Counts()
	require.Equal(t, uint64(n-got), dropped, "every datagram that did not come back was dropped, and counted")
}

// TestLossyUDPReorderAndShape: with Reorder, some datagrams come back
// after ones sent later; Shape drops the datagrams it picks (each way: it
// is asked on the way up and on the way back) and counts them.
func TestLossyUDPReorderAndShape(t *testing.T) {
	echo := udpEcho(t)
	var ups, downs atomic.Int64
	shape := func(b []byte, up bool) (bool, time.Duration) {
		if up {
			ups.Add(1)
		} else {
			downs.Add(1)
		}
		return binary.BigEndian.Uint32(b)%10 == 3 && up, 0 // one in ten lost on the way up
	}
	relay := StartLossyUDP(t, echo.LocalAddr().String(), Impairment{Reorder: 0.1, ReorderBy: 20 * time.Millisecond, Shape: shape, Seed: 3})
	c, err := net.Dial("udp", relay.Addr())
	require.NoError(t, err)
	defer c.Close()
	const n = 300
	back := make(chan int, n)
	go func() {
		defer close(back)
		b := make([]byte, 2048)
		for {
			if c.SetReadDeadline(time.Now().Add(2*time.Second)) != nil {
				return
			}
			if _, err := c.Read(b); err != nil {
				return
			}
			back <- int(binary.BigEndian.Uint32(b))
		}
	}()
	for i := range n {
		b := make([]byte, 100)
		binary.BigEndian.PutUint32(b, uint32(i))
		_, err := c.Write(b)
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
	got, overtaken, last := 0, 0, -1
	for i := range back {
		require.NotEqual(t, 3, i%10, "datagram %d was to be dropped", i)
		if i < last {
			overtaken++
		}
		last = max(last, i)
		got++
	}
	t.Logf("%d of %d came back, %d after a later one", got, n, overtaken)
	require.Equal(t, n*9/10, got, "only the shaped ones lost")
	require.Greater(t, overtaken, 5, "some came back out of order")
	require.EqualValues(t, n, ups.Load())
	require.EqualValues(t, got, downs.Load())
	_, dropped := relay.Counts()
	require.EqualValues(t, n/10, dropped)
}

// udpEcho is a UDP server on loopback that sends every datagram back; it
// is closed, and its goroutine waited for, when the test ends.
func udpEcho(t *testing.T) *net.UDPConn {
	t.Helper()
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 2048)
		for {
			n, from, err := echo.ReadFromUDP(b)
			if err != nil {
				return
			}
			_, _ = echo.WriteToUDP(b[:n], from)
		}
	}()
	t.Cleanup(func() { echo.Close(); <-done })
	return echo
}
