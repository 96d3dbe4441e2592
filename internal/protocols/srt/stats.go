// Package srt holds what Switchyard's SRT connections share, whichever
// side called: the listener's publishers and readers (internal/servers/srt),
// the pulls (ingest) and the outputs (output/push). gosrt is the SRT stack.
//
//   - Stats: a connection's link, for the status and /metrics (stats.go);
//   - ParseURL and Dial: srt:// URLs and calling a remote listener, with
//     refusals in words (caller.go);
//   - Pull: a pull of a remote listener's MPEG-TS (pull.go).
package srt

import (
	gosrt "github.com/datarhei/gosrt"
)

// Stats is an SRT connection's link as the API, the events and /metrics
// show it: what an operator looks at when a remote camera or a platform
// stutters. Counters are since the connection opened.
type Stats struct {
	// RTTMs is the smoothed round-trip time.
	RTTMs float64 `json:"rtt_ms"`
	// LatencyMs is the negotiated latency (TSBPD delay) of what this side
	// receives, or, on a connection that only sends, of the peer's.
	LatencyMs uint64 `json:"latency_ms"`
	// SendMbps and RecvMbps are the current rates (payload and headers).
	SendMbps float64 `json:"send_mbps"`
	RecvMbps float64 `json:"recv_mbps"`
	// PacketsSent and PacketsReceived count data packets, retransmissions
	// included.
	PacketsSent     uint64 `json:"packets_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	// PacketsLost: data packets found missing on the way in (the receiver
	// asks for them again) or reported lost on the way out.
	PacketsLost uint64 `json:"packets_lost"`
	// PacketsRetransmitted: data packets sent again (out) or received again
	// (in).
	PacketsRetransmitted uint64 `json:"packets_retransmitted"`
	// PacketsDropped: data packets given up as too late for the latency
	// (the picture or sound they carried is lost): on the way in, the
	// gaps in what the receiver delivered (counted by a Reader); on the
	// way out, what the sender dropped unacknowledged.
	PacketsDropped uint64 `json:"packets_dropped"`
}

// StatsOf reads a connection's statistics. It reads only accumulated and
// instantaneous values: gosrt's interval values are measured from one call
// to the next, and several readers (the API, /metrics) would share them.
//
// Its PacketsDropped is the sender's only: gosrt's receiver counts as
// dropped (PktRecvDrop) the duplicates and the packets that came after
// their time, not the ones it gave up on — it skips those silently. A
// connection that receives reads through a Reader, whose Stats count them.
func StatsOf(c gosrt.Conn) Stats {
	var s gosrt.Statistics
	c.Stats(&s)
	a, i := s.Accumulated, s.Instantaneous
	st := Stats{
		RTTMs:                i.MsRTT,
		LatencyMs:            i.MsRecvTsbPdDelay,
		SendMbps:             i.MbpsSentRate,
		RecvMbps:             i.MbpsRecvRate,
		PacketsSent:          a.PktSent,
		PacketsReceived:      a.PktRecv,
		PacketsLost:          a.PktRecvLoss + a.PktSendLoss,
		PacketsRetransmitted: a.PktRetrans + a.PktRecvRetrans,
		PacketsDropped:       a.PktSendDrop,
	}
	if a.PktRecv == 0 && i.MsSendTsbPdDelay > 0 {
		st.LatencyMs = i.MsSendTsbPdDelay
	}
	return st
}
