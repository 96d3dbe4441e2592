package webrtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

// TestReorder: packets come out in sequence order; a missing one is waited
// for (a NACK's retransmission fills it) and given up on after
// reorderWait, with onSkip told; late and duplicate packets are dropped;
// the sequence number wraps.
func TestReorder(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type in struct {
		seq uint16
		at  time.Time
	}
	for _, tc := range []struct {
		name  string
		in    []in
		wait  time.Duration // 0: reorderWait
		out   []uint16
		skips int
		// packets recovered (a gap filled in time) and given up on
		recovered, skipped uint64
	}{
		{"in order", []in{{1, ms(0)}, {2, ms(1)}, {3, ms(2)}}, 0, []uint16{1, 2, 3}, 0, 0, 0},
		{"swapped", []in{{1, ms(0)}, {3, ms(1)}, {2, ms(2)}, {4, ms(3)}}, 0, []uint16{1, 2, 3, 4}, 0, 1, 0},
		{"retransmitted in time", []in{{1, ms(0)}, {3, ms(1)}, {4, ms(20)}, {2, ms(100)}}, 0, []uint16{1, 2, 3, 4}, 0, 1, 0},
		{"two holes filled", []in{{1, ms(0)}, {4, ms(1)}, {3, ms(20)}, {2, ms(30)}}, 0, []uint16{1, 2, 3, 4}, 0, 2, 0},
		{"given up", []in{{1, ms(0)}, {3, ms(1)}, {4, ms(2)}, {5, ms(200)}, {2, ms(210)}}, 0, []uint16{1, 3, 4, 5}, 1, 0, 1},
		{"duplicate", []in{{1, ms(0)}, {2, ms(1)}, {2, ms(2)}, {3, ms(3)}}, 0, []uint16{1, 2, 3}, 0, 0, 0},
		{"held duplicate", []in{{1, ms(0)}, {3, ms(1)}, {3, ms(2)}, {2, ms(3)}}, 0, []uint16{1, 2, 3}, 0, 1, 0},
		{"audio: a gap waited out shorter", []in{{1, ms(0)}, {3, ms(1)}, {4, ms(70)}, {2, ms(80)}}, audioReorderWait, []uint16{1, 3, 4}, 1, 0, 1},
		{"video: the same gap waited for", []in{{1, ms(0)}, {3, ms(1)}, {4, ms(70)}, {2, ms(80)}}, 0, []uint16{1, 2, 3, 4}, 0, 1, 0},
		{"wraps", []in{{65534, ms(0)}, {0, ms(1)}, {65535, ms(2)}, {1, ms(3)}}, 0, []uint16{65534, 65535, 0, 1}, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skips := 0
			var counts lossCounts
			r := reorder{wait: tc.wait, onSkip: func() { skips++ }, counts: &counts}
			var got []uint16
			for _, p := range tc.in {
				r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: p.seq}}, p.at, func(p *rtp.Packet) { got = append(got, p.SequenceNumber) })
			}
			require.Equal(t, tc.out, got)
			require.Equal(t, tc.skips, skips)
			require.Equal(t, tc.recovered, counts.recovered.Load(), "recovered")
			require.Equal(t, tc.skipped, counts.skipped.Load(), "given up on")
		})
	}
}
