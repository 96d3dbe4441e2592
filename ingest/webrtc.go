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
	// the publisher.
	NACKs uint64 `json:"nacks"`
	PLIs  uint64 `json:"plis"`
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
