package rtsp

import (
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

// FuzzRTPAssembly feeds any RTP payloads, with any timestamps, to the H.264
// access-unit assembly: it never panics, and every unit it makes is
// decodable on its own terms — a key unit carries SPS and PPS, a unit
// decodes no later than it shows, and the units come in decode order, one
// after the other, but where a key unit starts a new timeline. The fuzzer
// drives the timestamps too (each packet's step from the one before,
// forwards or back, as B-frames and broken cameras make them), so the
// decode-order check meets the timestamps that could break it.
func FuzzRTPAssembly(f *testing.F) {
	sps := []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x23, 0xc5, 0x0a, 0xa8}
	pps := []byte{0x68, 0xce, 0x0f, 0xc8}
	// packets, each: its length (low 7 bits; the high bit clears the
	// marker), its timestamp step in 1/90000 s × 750 (signed), its payload:
	// an IDR, a STAP-A with SPS+PPS, FU-A fragments, a P slice, B-frame order
	f.Add([]byte{5, 4, 0x65, 0x88, 0x84, 0x00, 0x33})
	f.Add(append([]byte{byte(3 + len(sps) + 2 + len(pps)), 4}, append(append(append([]byte{0x18, 0, byte(len(sps))}, sps...), 0, byte(len(pps))), pps...)...))
	f.Add([]byte{4, 4, 0x7c, 0x85, 0x88, 0x84, 4, 0, 0x7c, 0x45, 0x00, 0x33, 3, 4, 0x41, 0x9a, 0x02})
	f.Add([]byte{5, 4, 0x65, 0x88, 0x84, 0x00, 0x33, 3, 12, 0x41, 0x9a, 0x02, 3, 0xf8, 0x01, 0x9e, 0x02, 3, 0xfc, 0x01, 0x9e, 0x04, 5, 0x80, 0x65, 0x88, 0x84, 0x00, 0x33})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fm := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: sps, PPS: pps}
		v, err := newVideoIn(&description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{fm}}, fm)
		if err != nil {
			t.Fatal(err)
		}
		seq := uint16(0)
		ts := int64(1 << 20)
		var lastDTS time.Duration
		units := 0
		for len(data) >= 2 {
			n := int(data[0] & 0x7f)
			marker := data[0]&0x80 == 0
			ts += int64(int8(data[1])) * 750
			data = data[2:]
			n = min(n, len(data))
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: marker, SequenceNumber: seq, Timestamp: uint32(ts)},
				Payload: data[:n]}
			data = data[n:]
			u := v.decode(pkt, ts)
			seq++
			if u == nil {
				continue
			}
			if u.Track == nil || len(u.Track.SPS) == 0 || len(u.Track.PPS) == 0 {
				t.Fatal("a unit without parameter sets in its track")
			}
			if u.DTS > u.PTS {
				t.Fatalf("DTS %v after PTS %v", u.DTS, u.PTS)
			}
			// only a key unit may go back: the camera began a new timeline
			// there (a restarted encoder), which the mixer re-anchors to
			if units > 0 && u.DTS < lastDTS && !u.Key {
				t.Fatalf("unit %d decodes at %v, before the unit before it (%v): out of decode order", units, u.DTS, lastDTS)
			}
			lastDTS = u.DTS
			units++
			if u.Key {
				var hasSPS, hasPPS bool
				for _, nalu := range u.Data {
					if len(nalu) > 0 {
						hasSPS = hasSPS || h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeSPS
						hasPPS = hasPPS || h264.NALUType(nalu[0]&0x1f) == h264.NALUTypePPS
					}
				}
				if !hasSPS || !hasPPS {
					t.Fatal("a key unit without SPS and PPS")
				}
			}
		}
	})
}
