package notify

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case k := <-ch:
		return k
	case <-time.After(5 * time.Second):
		t.Fatal("no change delivered")
		return ""
	}
}

// TestNotifierOrderAndOnce: keys go out in the order first marked, a key
// marked twice before delivery once; nothing is marked before Listen or
// after Close.
func TestNotifierOrderAndOnce(t *testing.T) {
	var n Notifier
	n.Changed("before") // no listener yet: dropped
	gate := make(chan struct{})
	got := make(chan string, 16)
	require.True(t, n.Listen(func(k string) {
		if k == "hold" {
			<-gate
		}
		got <- k
	}))
	require.False(t, n.Listen(func(string) {}), "one listener")
	n.Changed("hold")
	require.Eventually(t, func() bool { n.mu.Lock(); defer n.mu.Unlock(); return len(n.pending) == 0 }, 5*time.Second, time.Millisecond)
	n.Changed("a")
	n.Changed("b")
	n.Changed("a")
	close(gate)
	require.Equal(t, "hold", next(t, got))
	require.Equal(t, "a", next(t, got))
	require.Equal(t, "b", next(t, got))
	n.Close()
	n.Close()
	n.Changed("after")
	select {
	case k := <-got:
		t.Fatalf("delivered %q after Close", k)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestNotifierNeverUnderTheOwnersLock: an owner marks under its lock and a
// listener that takes the same lock is called after, not deadlocked.
func TestNotifierNeverUnderTheOwnersLock(t *testing.T) {
	var owner sync.Mutex
	var n Notifier
	got := make(chan string, 1)
	n.Listen(func(k string) {
		owner.Lock() // calls back into the owner
		owner.Unlock()
		got <- k
	})
	defer n.Close()
	owner.Lock()
	n.Changed("x") // under the owner's lock: returns at once
	owner.Unlock()
	require.Equal(t, "x", next(t, got))
}
