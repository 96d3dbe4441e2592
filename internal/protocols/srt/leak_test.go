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

// TestDialLeavesNothing: calls that fail — nobody answers, or the
// listener refuses — leave no goroutine behind. gosrt v0.11.0 left its
// socket reader blocked for ever on each (dial.go's unbuffered doneChan,
// patched in third_party/gosrt): one goroutine per retry of a pull or an
// output whose remote is down (a race: a few of twenty calls showed it).
func TestDialLeavesNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	c, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, and never answers
	require.NoError(t, err)
	defer c.Close()
	for range 20 {
		_, err = Dial(Target{Addr: c.LocalAddr().String()}, 100*time.Millisecond)
		require.Error(t, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for { // the socket readers wake from their 3-s read deadline, at the latest
		err := goleak.Find(ignore)
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "failed calls left goroutines behind: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}

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
		err := goleak.Find(ignore)
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the abandoned call did not end: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}
