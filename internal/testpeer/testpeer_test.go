package testpeer

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sink accepts one connection and reports when each 8-byte message of it
// arrives, with the message (a sequence number).
func sink(t *testing.T) (addr string, arrivals <-chan [2]int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	out := make(chan [2]int64, 1024)
	go func() {
		defer close(out)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		var b [8]byte
		for {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return
			}
			out <- [2]int64{int64(binary.BigEndian.Uint64(b[:])), time.Now().UnixNano()}
		}
	}()
	return ln.Addr().String(), out
}

// The jitter proxy delays what passes by up to its maximum, by varying
// amounts, and keeps the order: what the frame-rate and jitter-buffer tests
// rely on to stand for a wandering network.
func TestProxyJitterDelaysInOrder(t *testing.T) {
	backend, arrivals := sink(t)
	p := StartProxy(t, backend)
	const max = 60 * time.Millisecond
	p.Jitter(max)
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()

	const n = 40
	sentAt := make([]int64, n)
	for i := range n {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(i))
		sentAt[i] = time.Now().UnixNano()
		_, err := c.Write(b[:])
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond) // one write a read: the pace of a camera's packets, not synchronisation
	}
	var delays []time.Duration
	timeout := time.After(10 * time.Second)
	for len(delays) < n {
		select {
		case a, ok := <-arrivals:
			require.True(t, ok, "the sink closed after %d messages", len(delays))
			require.Equal(t, int64(len(delays)), a[0], "in the order sent")
			delays = append(delays, time.Duration(a[1]-sentAt[a[0]]))
		case <-timeout:
			t.Fatalf("only %d of %d messages arrived", len(delays), n)
		}
	}
	slices.Sort(delays)
	t.Logf("delays through the proxy: min %s, median %s, max %s", delays[0], delays[n/2], delays[n-1])
	require.Greater(t, delays[n/2], 5*time.Millisecond, "the proxy delays")
	require.Greater(t, delays[n-1]-delays[0], 15*time.Millisecond, "by varying amounts")
	// by no more than its maximum (and the queue behind a long one): judged
	// on the median and on how many go beyond, not on the single worst, which
	// a loaded machine's stall of the test process itself can stretch (980 ms
	// once in make test) — a proxy that over-delays as a rule moves both
	require.Less(t, delays[n/2], max+100*time.Millisecond, "the median within the proxy's maximum")
	beyond := 0
	for _, d := range delays {
		if d > max+max+200*time.Millisecond {
			beyond++
		}
	}
	require.LessOrEqual(t, beyond, n/8, "at most a stall's worth beyond its maximum and the queue (max %s)", delays[n-1])

	// without jitter it forwards at once
	p.Jitter(0)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	t0 := time.Now()
	_, err = c.Write(b[:])
	require.NoError(t, err)
	select {
	case a := <-arrivals:
		require.Equal(t, int64(n), a[0])
		require.Less(t, time.Since(t0), 50*time.Millisecond+max, "no added delay")
	case <-time.After(5 * time.Second):
		t.Fatal("the last message did not arrive")
	}
}

// A cut closes live connections; a stall stops forwarding until released.
func TestProxyCutAndStall(t *testing.T) {
	backend, arrivals := sink(t)
	p := StartProxy(t, backend)
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	var b [8]byte
	_, err = c.Write(b[:])
	require.NoError(t, err)
	select {
	case <-arrivals:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing forwarded")
	}
	// a stall takes hold before the proxy's next read: the read already
	// waiting forwards one more message
	p.Stall(true)
	for i := uint64(1); i <= 2; i++ {
		binary.BigEndian.PutUint64(b[:], i)
		_, err = c.Write(b[:])
		require.NoError(t, err)
		if i == 1 {
			select {
			case a := <-arrivals:
				require.Equal(t, int64(1), a[0])
			case <-time.After(5 * time.Second):
				t.Fatal("the read in progress did not forward")
			}
		}
	}
	select {
	case a := <-arrivals:
		t.Fatalf("message %d forwarded while stalled", a[0])
	case <-time.After(300 * time.Millisecond): // the absence of a message, for a while
	}
	p.Stall(false)
	select {
	case a := <-arrivals:
		require.Equal(t, int64(2), a[0])
	case <-time.After(5 * time.Second):
		t.Fatal("nothing forwarded after the stall")
	}
	p.Cut()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Read(b[:])
	require.Error(t, err, "the client's connection is closed by the cut")
	var nerr net.Error
	if e, ok := err.(net.Error); ok {
		nerr = e
	}
	require.False(t, nerr != nil && nerr.Timeout(), "closed, not timed out")
}

// PublishEnd tells an encoder's clean end (deleteStream, then the
// connection closes) from a lost connection (nginx deletes the stream
// after the disconnect), on nginx-rtmp's own log of both (FFmpeg ending
// normally, and killed).
func TestNginxPublishEnd(t *testing.T) {
	const log = `2026/12/06 09:58:19 [info] 29092#29092: *1 client connected '127.0.0.1'
2026/12/06 09:58:19 [info] 29092#29092: *1 publish: name='clean' args='' type=live silent=0, client: 127.0.0.1, server: 127.0.0.1:19350
2026/12/06 09:58:21 [info] 29092#29092: *1 deleteStream, client: 127.0.0.1, server: 127.0.0.1:19350
2026/12/06 09:58:21 [info] 29092#29092: *1 disconnect, client: 127.0.0.1, server: 127.0.0.1:19350
2026/12/06 09:58:21 [info] 29092#29092: *1 deleteStream, client: 127.0.0.1, server: 127.0.0.1:19350
2026/12/06 09:58:21 [info] 29092#29092: *2 publish: name='killed' args='' type=live silent=0, client: 127.0.0.1, server: 127.0.0.1:19350
2026/12/06 09:58:21 [info] 29092#29092: *3 publish: name='live' args='' type=live silent=0, client: 127.0.0.1, server: 127.0.0.1:19350
2026/12/06 09:58:23 [info] 29092#29092: *2 disconnect, client: 127.0.0.1, server: 127.0.0.1:19350
2026/12/06 09:58:23 [info] 29092#29092: *2 deleteStream, client: 127.0.0.1, server: 127.0.0.1:19350
`
	n := &Nginx{dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(n.dir, "error.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name         string
		clean, ended bool
	}{{"clean", true, true}, {"killed", false, true}, {"live", false, false}, {"none", false, false}} {
		clean, ended := n.PublishEnd(c.name)
		if clean != c.clean || ended != c.ended {
			t.Errorf("%s: clean %v ended %v, want %v %v", c.name, clean, ended, c.clean, c.ended)
		}
	}
}
