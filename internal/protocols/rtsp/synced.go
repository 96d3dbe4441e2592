package rtsp

import (
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Session is what a Receiver needs of a gortsplib session to place its
// packets by the sender's reports: a publisher's ServerSession or the
// Client pulling a camera.
type Session interface {
	OnPacketRTP(medi *description.Media, forma format.Format, cb gortsplib.OnPacketRTPFunc)
	OnPacketRTCP(medi *description.Media, cb gortsplib.OnPacketRTCPFunc)
}

// BySenderReports is the RTPSource of sess whose packets are placed on a
// Timeline: video and audio in step by the sender's clocks (its RTCP
// sender reports), whenever each track's first packet came. gortsplib's
// own PacketPTS places each track by its first packet's arrival, so a
// camera whose sound leaves it later than its pictures (an audio path
// behind the video, a queue on the way) stayed that far out of sync.
func BySenderReports(sess Session) RTPSource {
	return &bySenderReports{sess: sess, tl: NewTimeline(time.Now())}
}

type bySenderReports struct {
	sess Session
	tl   *Timeline
}

// OnPacketRTP sets the callback of a media's packets, and takes the sender
// reports of the media's sender (the SSRC of its packets; RTP and RTCP may
// come on different goroutines over UDP).
func (s *bySenderReports) OnPacketRTP(m *description.Media, f format.Format, cb gortsplib.OnPacketRTPFunc) {
	s.tl.AddTrack(m, f.ClockRate(), m.Type == description.MediaTypeVideo)
	var ssrc atomic.Uint64 // 1<<32 | SSRC once a packet came
	s.sess.OnPacketRTP(m, f, func(pkt *rtp.Packet) {
		ssrc.Store(1<<32 | uint64(pkt.SSRC))
		cb(pkt)
	})
	s.sess.OnPacketRTCP(m, func(pkt rtcp.Packet) {
		if sr, ok := pkt.(*rtcp.SenderReport); ok && ssrc.Load() == 1<<32|uint64(sr.SSRC) {
			s.tl.SenderReport(m, sr.NTPTime, sr.RTPTime)
		}
	})
}

// PacketPTS places a packet on the session's timeline.
func (s *bySenderReports) PacketPTS(m *description.Media, pkt *rtp.Packet) (int64, bool) {
	return s.tl.PTS(m, pkt.Timestamp, time.Now())
}
