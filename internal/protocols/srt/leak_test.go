package srt

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestPullLeavesNothing: a pull that ran and ended leaves no goroutine
// behind, its own or gosrt's.
func TestPullLeavesNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("pull", func(t *testing.T) {
		require.Error(t, pull(t, remote(t, tsClip(t)), 500*time.Millisecond, &sink{}))
	})
}

// gosrtFailedDial is gosrt v0.11.0's own leak: a call that fails (no
// answer, or refused) leaves its socket reader blocked for ever on an
// unbuffered channel nobody reads (dial.go: dl.doneChan <- ErrClientClosed
// after Close has already drained it). One goroutine per failed call; it is
// gosrt's, not ours, and ignored here by name.
var gosrtFailedDial = goleak.IgnoreTopFunction("github.com/datarhei/gosrt.Dial.func1")

// TestDialContextStopsAtOnce: a stop during a handshake nobody answers
// returns at once; the call still going on in gosrt ends by its timeout,
// leaving nothing of ours behind.
func TestDialContextStopsAtOnce(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	c, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, and never answers
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = DialContext(ctx, Target{Addr: c.LocalAddr().String()}, 500*time.Millisecond)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 400*time.Millisecond, "returned before the handshake's timeout")
	deadline := time.Now().Add(10 * time.Second)
	for { // the abandoned call ends at its timeout
		err := goleak.Find(ignore, gosrtFailedDial)
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the abandoned call did not end: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}
