package webrtc

import (
	"strconv"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"switchyard/ingest"
)

// statsState keeps what the bitrate is measured against.
type statsState struct {
	mu        sync.Mutex
	lastBytes uint64
	lastAt    time.Time
	kbps      float64
}

// stats reads the session's statistics from pion's stats interceptor
// (RTP stream stats: jitter, loss, bytes), ICE (the selected pair's round
// trip and the publisher's address), the feedback sent (NACKs, PLIs: see
// feedback) and the reorder buffers (recovered, given up on).
func (ss *session) stats() ingest.WebRTCStats {
	var out ingest.WebRTCStats
	if ss.pc == nil {
		return out
	}
	report := ss.pc.GetStats()
	var bytes uint64
	remotes := map[string]string{}
	for _, s := range report {
		if c, ok := s.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeRemoteCandidate {
			remotes[c.ID] = c.IP + ":" + strconv.Itoa(int(c.Port))
		}
	}
	for _, s := range report {
		switch s := s.(type) {
		case webrtc.InboundRTPStreamStats:
			out.PacketsReceived += uint64(s.PacketsReceived)
			out.PacketsLost += int64(s.PacketsLost)
			bytes += s.BytesReceived + s.HeaderBytesReceived
			if s.Kind == "video" {
				out.JitterMS = s.Jitter * 1000
			}
		case webrtc.ICECandidatePairStats:
			if s.Nominated && s.State == webrtc.StatsICECandidatePairStateSucceeded {
				out.RTTMS = s.CurrentRoundTripTime * 1000
				out.Remote = remotes[s.RemoteCandidateID]
			}
		}
	}
	if fb := ss.fb; fb != nil {
		out.NACKs, out.NACKedPackets, out.PLIs = fb.nacks.Load(), fb.nacked.Load(), fb.plis.Load()
	}
	out.PacketsRecovered, out.PacketsSkipped = ss.in.loss.recovered.Load(), ss.in.loss.skipped.Load()
	st := &ss.st
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	switch {
	case st.lastAt.IsZero():
		st.lastBytes, st.lastAt = bytes, now
	case now.Sub(st.lastAt) >= time.Second:
		st.kbps = float64(bytes-st.lastBytes) * 8 / 1000 / now.Sub(st.lastAt).Seconds()
		st.lastBytes, st.lastAt = bytes, now
	}
	out.BitrateKbps = float64(int(st.kbps*10)) / 10
	return out
}
