package control

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEventHistoryBounded: the events kept for clients that reconnect stay
// within their count and their bytes however many a show makes; a client
// whose last event is still kept gets what it missed, one whose last event
// is gone gets the full state.
func TestEventHistoryBounded(t *testing.T) {
	h := newHub(100, 10<<10)
	big := strings.Repeat("x", 1000) // ~1 KiB an event: the bytes bind first
	for i := range 5000 {
		h.publish("keyer", map[string]any{"i": i, "text": big})
		require.LessOrEqual(t, h.bytes, 10<<10)
		require.LessOrEqual(t, len(h.ring), 100)
	}
	sum := 0
	for i, ev := range h.ring {
		sum += len(ev.Data)
		if i > 0 {
			require.Equal(t, h.ring[i-1].ID+1, ev.ID, "kept events are consecutive")
		}
	}
	require.Equal(t, sum, h.bytes, "the byte count is the kept events' bytes")
	require.Equal(t, uint64(5000), h.ring[len(h.ring)-1].ID, "the newest is kept")
	require.Greater(t, len(h.ring), 5, "as many as fit are kept")
	require.LessOrEqual(t, cap(h.ring), 2*100+16, "the array does not grow with the events made")

	oldest := h.ring[0].ID
	replay, full, _, s := h.subscribe(oldest-1, true)
	require.False(t, full)
	require.Len(t, replay, len(h.ring), "everything after the client's last event")
	h.unsubscribe(s)
	_, full, snap, s := h.subscribe(oldest-2, true)
	require.True(t, full, "its last event is gone: the full state")
	require.Equal(t, uint64(5000), snap)
	h.unsubscribe(s)

	small := newHub(100, 1<<20) // small events: the count binds
	for i := range 500 {
		small.publish("tally", i)
	}
	require.Len(t, small.ring, 100)
	require.Equal(t, uint64(401), small.ring[0].ID)

	lone := newHub(100, 10) // an event larger than the bound is still kept, alone
	lone.publish("big", big)
	require.Len(t, lone.ring, 1)
}
