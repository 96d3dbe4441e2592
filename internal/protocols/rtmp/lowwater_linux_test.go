package rtmp

import (
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLowWaterWaitsForTheMessage: while a message is only partly in, the
// socket's low-water mark is the payload still to come, so the poller does
// not wake the reader per segment; the reader gets the whole message once
// it is in, and between messages and in the handshake the mark is 1 byte
// (the peer may be waiting for a reply).
func TestLowWaterWaitsForTheMessage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	srv, err := ln.Accept()
	require.NoError(t, err)
	defer srv.Close()

	var f *chunkFilter
	f = newChunkFilter(withLowWater(srv, func() int { return f.pending() }))
	raw, err := srv.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	mark := func() int {
		var v int
		require.NoError(t, raw.Control(func(fd uintptr) {
			v, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT)
		}))
		require.NoError(t, err)
		return v
	}
	markBecomes := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); mark() != want; time.Sleep(time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "low-water mark %d, want %d", mark(), want)
		}
	}
	// readAsync reads n bytes through the filter on a goroutine of its own.
	readAsync := func(n int) <-chan []byte {
		out := make(chan []byte, 1)
		go func() {
			b := make([]byte, n)
			if _, err := io.ReadFull(f, b); err != nil {
				b = nil
			}
			out <- b
		}()
		return out
	}
	receive := func(ch <-chan []byte) []byte {
		t.Helper()
		select {
		case b := <-ch:
			require.NotNil(t, b, "read failed")
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("the reader was not woken")
			return nil
		}
	}

	hs := make([]byte, handshakeBytes)
	got := readAsync(len(hs))
	_, err = client.Write(hs[:1+1536]) // C0 C1: a client then waits for S0 S1 S2
	require.NoError(t, err)
	markBecomes(1)
	_, err = client.Write(hs[1+1536:])
	require.NoError(t, err)
	receive(got)

	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte(rand.N(256))
	}
	msg := chunked(true, 40, 9, payload, 128, false)
	first := 1 + 11 + 128 // the type-0 header and the first chunk
	got = readAsync(first)
	_, err = client.Write(msg[:first])
	require.NoError(t, err)
	require.Equal(t, msg[:first], receive(got))

	got = readAsync(len(msg) - first)
	markBecomes(len(payload) - 128) // the reader waits for the rest of the payload
	_, err = client.Write(msg[first : len(msg)-500])
	require.NoError(t, err)
	_, err = client.Write(msg[len(msg)-500:])
	require.NoError(t, err)
	require.Equal(t, msg[first:], receive(got))

	next := chunked(false, 33, 9, payload[:100], 128, false)
	got = readAsync(len(next))
	markBecomes(1) // between messages
	_, err = client.Write(next)
	require.NoError(t, err)
	require.Equal(t, next, receive(got))
}
