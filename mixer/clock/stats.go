package clock

import "time"

// Stats are the mixer's counters: frames out, late (by cause) and dropped, the encode time.
type Stats struct {
	FramesOut uint64 `json:"frames_out"`
	Late      uint64 `json:"late"` // left the encoder over two frame times after their time, or composed late
	// LateBy splits Late by cause: the clock woke late, it waited for the
	// encodes, or the encode took too long (LateClock, LateBacklog, LateEncode).
	LateBy map[string]uint64 `json:"late_by"`
	// LeftMaxMs is the latest any program frame left the encoder, after its
	// time on the program clock.
	LeftMaxMs float64 `json:"left_max_ms"`
	// YieldMaxMs is the longest a frame's encode loop waited on the Go
	// scheduler when it yielded; WokeMaxMs the latest the clock woke after
	// a frame's time.
	YieldMaxMs float64 `json:"yield_max_ms"`
	WokeMaxMs  float64 `json:"woke_max_ms"`
	// LastLate describes the last late frame: its way and the host's
	// figures of the moment (nil when none was late).
	LastLate *LateFrame `json:"last_late,omitempty"`
	Dropped  uint64     `json:"dropped"`
	// LastFrameAt is when the last program frame left the encoders (zero
	// before the first): /readyz's proof that the program clock runs.
	LastFrameAt time.Time `json:"last_frame_at,omitzero"`
	EncodeMs    float64   `json:"encode_ms"`
	UptimeS     float64   `json:"uptime_s"`
}

// FillStats sets the late frames' part of s: LateBy, the maxima and LastLate.
func (l *Lateness) FillStats(s *Stats) {
	clock, backlog, encode := l.Counts()
	s.LateBy = map[string]uint64{LateClock: clock, LateBacklog: backlog, LateEncode: encode}
	s.LeftMaxMs = millis(time.Duration(l.worstNs.Load()))
	s.YieldMaxMs = millis(time.Duration(l.yieldMaxNs.Load()))
	s.WokeMaxMs = millis(time.Duration(l.wokeMaxNs.Load()))
	if last := l.LastLate(); last.Cause != "" {
		s.LastLate = &last
	}
}

// SourceStats are what the mixer counts of one source.
type SourceStats struct {
	// Pictures decoded (a source out of sight skips its non-reference ones).
	Pictures uint64
	// DecodeErrors: pictures that failed to decode.
	DecodeErrors uint64
	// PicturesLate: pictures decoded after the tick that was to show them
	// (the jitter buffer was not enough, or the decoder fell behind); the
	// tick repeated the picture before in their place.
	PicturesLate uint64
	// PicturesSkipped: pictures its decoder passed over when its media were
	// behind (by its jitter buffer and two frames, and half a second:
	// waiting for the decoder, or arrived late), taking up again at the
	// newest key frame waiting: pictures that would have come after their
	// tick.
	PicturesSkipped uint64
	// SoundLate: how much of its sound came too late while the program was
	// mixing it (the jitter buffer was not enough); silence took its place.
	SoundLate time.Duration
	// JitterBuffer: how long its pictures and sound wait (its own or the
	// program's).
	JitterBuffer time.Duration
	// Transit is the most its media arrived after its least delay over the
	// last two to four seconds: its network's jitter (and its publisher's),
	// what the jitter buffer has to cover.
	Transit time.Duration
	// DecodeWait is the most its pictures and sound waited from their
	// arrival to being decoded over the last 5–10 s (less the wait of a
	// source the program neither shows nor hears, which decodes after
	// everything else): its machine's part of what it needs, beside
	// Transit, its network's.
	DecodeWait time.Duration
	// BehindOffAir is how far behind its media its decoder was while the
	// program neither showed nor heard it, over the last 5–10 s, when that
	// is more than a cut can take in its stride (its jitter buffer and two
	// frames, and at least half a second); 0 otherwise. A source out of
	// use decodes after everything else: behind, the machine is short of
	// CPU for every source, and a cut to it repeats its last picture until
	// its decoder catches up (at its next key frame, PicturesSkipped).
	BehindOffAir time.Duration
	// JitterAuto: the buffer is adaptive (its own, or the one it follows).
	JitterAuto bool
	// JitterNeed is the most its media needed of an adaptive buffer over
	// the last 6–8 s: transit jitter plus decode time (0 when fixed).
	JitterNeed time.Duration
	// JitterSteps counts the adaptive buffer's steps.
	JitterSteps uint64
	// AiredJumps counts the program frames whose picture of it was not the
	// one after the last frame's (a picture repeated or skipped on air).
	AiredJumps uint64
	// MapMoves counts the moves of its mapping to the program clock with
	// its least delay (beyond a tolerance: a route or a clock drifting);
	// each moves its pictures on air, a repeat or a skip.
	MapMoves uint64
}
