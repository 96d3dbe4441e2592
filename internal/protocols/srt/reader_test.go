package srt

import (
	"io"
	"testing"

	gosrt "github.com/datarhei/gosrt"
	"github.com/datarhei/gosrt/circular"
	"github.com/datarhei/gosrt/packet"
	"github.com/stretchr/testify/require"
)

// delivered is a connection that delivers packets of the given sequence
// numbers (what gosrt's receiver hands on, in order, skipping those it
// gave up), and reports a duplicate dropped in its statistics.
type delivered struct {
	gosrt.Conn // the rest is not used
	seqs       []uint32
}

func (d *delivered) ReadPacket() (packet.Packet, error) {
	if len(d.seqs) == 0 {
		return nil, io.EOF
	}
	p := packet.NewPacket(nil)
	p.Header().PacketSequenceNumber = circular.New(d.seqs[0], packet.MAX_SEQUENCENUMBER)
	p.SetData([]byte{byte(d.seqs[0]), 0xAA, 0xBB})
	d.seqs = d.seqs[1:]
	return p, nil
}

func (d *delivered) Stats(s *gosrt.Statistics) {
	s.Accumulated.PktRecv, s.Accumulated.PktRecvDrop, s.Accumulated.PktSendDrop = 9, 1, 0
}

// TestReaderCountsGaps: a Reader passes the payloads on whole, however
// small the reads, and counts as dropped the packets the receiver
// skipped (across the sequence numbers' wrap too), not gosrt's duplicates.
func TestReaderCountsGaps(t *testing.T) {
	top := packet.MAX_SEQUENCENUMBER
	for _, c := range []struct {
		seqs    []uint32
		dropped uint64
	}{
		{[]uint32{10, 11, 14, 15, 17, 18}, 3}, // 12, 13; 16
		{[]uint32{top - 2, top, 0, 3, 4}, 3},  // top-1; 1, 2
		{[]uint32{5, 6, 7}, 0},
	} {
		r := &Reader{Conn: &delivered{seqs: append([]uint32(nil), c.seqs...)}}
		var got []byte
		b := make([]byte, 2)
		for {
			n, err := r.Read(b)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			got = append(got, b[:n]...)
		}
		require.Len(t, got, len(c.seqs)*3)
		require.Equal(t, []byte{byte(c.seqs[0]), 0xAA, 0xBB, byte(c.seqs[1]), 0xAA, 0xBB}, got[:6], "payloads whole and in order")
		require.Equal(t, c.dropped, r.Dropped(), "%v", c.seqs)
		st := r.Stats()
		require.Equal(t, c.dropped, st.PacketsDropped, "the gaps, not gosrt's duplicate")
		require.Equal(t, uint64(9), st.PacketsReceived)
	}
}
