package rtsp

import (
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/ntp"
)

// Timeline puts the RTP timestamps of a session's tracks on one timeline,
// in step by the sender's clocks: each track's RTCP sender reports (RFC
// 3550 6.4.1) pair one of its RTP timestamps with the sender's NTP wall
// clock, so a packet of any track can be placed by when the sender took
// it, whatever its track's random RTP start and whenever it arrived.
//
// The reference track (the video) is placed by its first packet's arrival
// and then follows its own timestamps. Every other track is placed
// through the reports: the NTP time of its packet is found on the
// reference's timeline through the reference's latest report. Until both
// tracks have a report its packets are held off (PTS says !ok, and the
// receiver drops them: a sender reports within a second or so); after
// SyncWait without them it is placed by its first packet's arrival, as
// the reference is, until reports come (then moved to where they say,
// unless that is within Tolerance of where it is). A synced track moves
// only when two reports in a row agree that it is off by more than
// Tolerance (a sender that restarted a clock), not with each report's
// noise.
//
// gortsplib's PacketPTS (rtptime.GlobalDecoder) places every track by its
// first packet's arrival, which leaves a track whose first packets came
// late (a sender's audio started after its video, a queue on the way)
// out of step for the whole session; its PacketNTP gives the report's
// time of a packet without a timeline.
type Timeline struct {
	// SyncWait is how long a track other than the reference waits for the
	// reports before it is placed by arrival; defaults to 2 s.
	SyncWait time.Duration
	// Tolerance is how far the reports may say a synced track is off
	// before it follows them (twice in a row: see follow); defaults to
	// 20 ms.
	Tolerance time.Duration

	start  time.Time
	mu     sync.Mutex
	tracks map[*description.Media]*timelineTrack
	ref    *timelineTrack
}

// timelineTrack is one track's state: pts = offset + ext, in its ticks.
type timelineTrack struct {
	rate    int64
	init    bool
	last    uint32 // the last packet's RTP timestamp
	ext     int64  // …unwrapped, from the first packet's
	first   time.Time
	placed  bool // offset is set
	synced  bool // …by the reports
	offset  int64
	sr      bool // a report came
	srNTP   time.Time
	srRTP   uint32
	srGen   int // reports taken
	seenGen int // srGen of t and of the reference when last followed
	// pending: the reports said to move to pendingOff once
	pending    bool
	pendingOff int64
}

// NewTimeline starts a timeline at start (the session's beginning: the
// reference's first packet is placed at its arrival since start).
func NewTimeline(start time.Time) *Timeline {
	return &Timeline{start: start, tracks: map[*description.Media]*timelineTrack{}}
}

// AddTrack adds a track of clockRate ticks a second; the reference is
// the one the others are placed against (the first reference added).
func (tl *Timeline) AddTrack(m *description.Media, clockRate int, reference bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	t := &timelineTrack{rate: int64(clockRate)}
	tl.tracks[m] = t
	if reference && tl.ref == nil {
		tl.ref = t
	}
}

// SenderReport takes a sender report of m's track: its NTP time (64-bit
// NTP format) and the RTP timestamp of that instant.
func (tl *Timeline) SenderReport(m *description.Media, ntpTime uint64, rtpTime uint32) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if t := tl.tracks[m]; t != nil {
		t.sr, t.srNTP, t.srRTP = true, ntp.Decode(ntpTime), rtpTime
		t.srGen++
	}
}

// Synced reports whether m's track is placed by the sender's reports (the
// reference: whether it has one).
func (tl *Timeline) Synced(m *description.Media) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	t := tl.tracks[m]
	if t == tl.ref {
		return t != nil && t.sr
	}
	return t != nil && t.synced
}

// PTS places a packet of m's track with RTP timestamp ts that arrived at
// arrival, in the track's ticks; !ok: drop it (its track is not placed
// yet, or unknown).
func (tl *Timeline) PTS(m *description.Media, ts uint32, arrival time.Time) (int64, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	t := tl.tracks[m]
	if t == nil || t.rate <= 0 {
		return 0, false
	}
	if !t.init {
		t.init, t.last, t.first = true, ts, arrival
	} else {
		t.ext += int64(int32(ts - t.last))
		t.last = ts
	}
	if t != tl.ref {
		tl.follow(t)
		wait := tl.SyncWait
		if wait == 0 {
			wait = 2 * time.Second
		}
		if !t.placed && arrival.Sub(t.first) < wait && tl.ref != nil {
			return 0, false
		}
	}
	if !t.placed {
		t.offset, t.placed = durToTicks(arrival.Sub(tl.start), t.rate)-t.ext, true
	}
	return t.offset + t.ext, true
}

// follow places t by the reports when they first allow it, and moves it
// when they say it is off by more than the tolerance — twice in a row, in
// agreement: one report's RTP time is the sender's estimate at the
// instant it sent it, off by however late its sending ran, and following
// each would make the sound step back and forth.
func (tl *Timeline) follow(t *timelineTrack) {
	gen := t.srGen + tl.ref.srGen
	if gen == t.seenGen && t.synced {
		return // no new report since
	}
	off, ok := tl.syncOffset(t)
	if !ok {
		return
	}
	t.seenGen = gen
	tol := durToTicks(tl.tolerance(), t.rate)
	switch {
	case !t.synced && t.placed && abs64(off-t.offset) <= tol:
		// placed by arrival after SyncWait, and the reports agree within
		// the tolerance: it stays where it is (a move would be a skip or
		// an overlap in the sound, for no gain)
		t.synced, t.pending = true, false
	case !t.synced:
		t.offset, t.placed, t.synced, t.pending = off, true, true, false
	case abs64(off-t.offset) <= tol:
		t.pending = false
	case t.pending && abs64(off-t.pendingOff) <= tol:
		t.offset, t.pending = off, false
	default:
		t.pending, t.pendingOff = true, off
	}
}

func (tl *Timeline) tolerance() time.Duration {
	if tl.Tolerance == 0 {
		return 20 * time.Millisecond
	}
	return tl.Tolerance
}

// syncOffset is the offset that puts t's current packet where the
// sender's clock says, against the reference: the packet's NTP time (by
// t's report) on the reference's timeline (by the reference's report).
func (tl *Timeline) syncOffset(t *timelineTrack) (int64, bool) {
	r := tl.ref
	if r == nil || !r.placed || !r.sr || !t.sr {
		return 0, false
	}
	// the reference's timeline at its report's instant, and t's packet's NTP time
	refAt := ticksToDur(r.offset+r.ext+int64(int32(r.srRTP-r.last)), r.rate)
	at := t.srNTP.Add(ticksToDur(int64(int32(t.last-t.srRTP)), t.rate))
	return durToTicks(refAt+at.Sub(r.srNTP), t.rate) - t.ext, true
}

// durToTicks and ticksToDur convert without overflowing for days.
func durToTicks(d time.Duration, rate int64) int64 {
	return int64(d/time.Second)*rate + int64(d%time.Second)*rate/int64(time.Second)
}

func ticksToDur(v, rate int64) time.Duration {
	return time.Duration(v/rate)*time.Second + time.Duration(v%rate)*time.Second/time.Duration(rate)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
