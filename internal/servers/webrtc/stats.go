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
//
// pion's figures are read only once every track the offer sends has
// started (onTrack): pion v4.2.26 sets a track's codec when its first
// packet arrives (TrackRemote.checkAndUpdateTrack, under the track's lock)
// while GetStats reads it under the receiver's lock only — a data race
// (the race detector caught it in CI: a status read while the first
// packets came in over a lossy link). onTrack runs after the codec is set,
// so once it has run for each track the read is ordered after the write.
// Until then the link shows only the session's own counts — for good if
// a track the offer announced never sends (its RTT and jitter stay
// unshown; its pictures and sound are unaffected).
func (ss *session) stats() ingest.WebRTCStats {
	var out ingest.WebRTCStats
	ss.mu.Lock()
	ready := ss.pc != nil && ss.started >= ss.tracks
	ss.mu.Unlock()
	if !ready {
		return ss.ownStats(out)
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
	out = ss.ownStats(out)
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

// ownStats adds the counts the session keeps itself: the feedback sent
// and the reorder buffers'.
func (ss *session) ownStats(out ingest.WebRTCStats) ingest.WebRTCStats {
	if fb := ss.fb; fb != nil {
		out.NACKs, out.NACKedPackets, out.PLIs = fb.nacks.Load(), fb.nacked.Load(), fb.plis.Load()
	}
	if ss.in != nil {
		out.PacketsRecovered, out.PacketsSkipped = ss.in.loss.recovered.Load(), ss.in.loss.skipped.Load()
	}
	return out
}
