package ingest

// WebRTCStats is the session of a source published over WebRTC (WHIP),
// as its status and /metrics show it.
type WebRTCStats struct {
	// Remote is the publisher's address (the selected ICE candidate pair's).
	Remote string `json:"remote,omitempty"`
	// RTTMS is the round trip, from ICE's connectivity checks.
	RTTMS float64 `json:"rtt_ms"`
	// JitterMS is the RTP interarrival jitter of the video (RFC 3550 6.4.1).
	JitterMS float64 `json:"jitter_ms"`
	// PacketsReceived and PacketsLost count RTP packets of every track
	// (lost: expected but never received, a retransmission included).
	PacketsReceived uint64 `json:"packets_received"`
	PacketsLost     int64  `json:"packets_lost"`
	// NACKs and PLIs are the retransmission and picture requests sent to
	// the publisher; NACKedPackets the packets the NACKs asked for (a
	// packet may be asked for more than once).
	NACKs         uint64 `json:"nacks"`
	NACKedPackets uint64 `json:"nacked_packets"`
	PLIs          uint64 `json:"plis"`
	// PacketsRecovered counts packets that came after a later one and were
	// still in time for the jitter buffer (retransmitted after a NACK, or
	// reordered on the way); PacketsSkipped those it gave up waiting for
	// (their picture was lost: a PLI asks for a key frame).
	PacketsRecovered uint64 `json:"packets_recovered"`
	PacketsSkipped   uint64 `json:"packets_skipped"`
	// BitrateKbps is what arrived over the last second or more.
	BitrateKbps float64 `json:"bitrate_kbps"`
}

// SetWebRTC gives the source the publisher's WebRTC session: its status
// shows it (Status.WebRTC) while this publisher is on. f is called outside
// the source's lock, from the API and /metrics.
func (p *Publisher) SetWebRTC(f func() WebRTCStats) {
	s := p.src
	s.mu.Lock()
	if s.publisher == p {
		s.rtc = f
	}
	s.mu.Unlock()
}
