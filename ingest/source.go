package ingest

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"switchyard/internal/protocols/srt"
	"switchyard/internal/redact"
	"switchyard/media"
)

// Source is one named input. Its Stream lives as long as the source, across
// publishers, so readers never have to re-attach when a camera comes back.
type Source struct {
	name   string // fixed; cfg may change
	reg    *Registry
	stream *media.Stream

	mu        sync.Mutex
	cfg       SourceConfig
	publisher *Publisher
	state     State
	proto     string
	since     time.Time
	lastUnit  time.Time
	video     *media.Track
	audio     *media.Track
	win       window
	fps       float64
	kbps      float64
	refused   uint64
	sessions  uint64
	malformed uint64
	lastKey   time.Duration // DTS of the last key frame; -1 before one
	lastKeyAt time.Time     // when it arrived
	keyint    time.Duration
	pull      PullStatus
	// tracksWarning names what the live publisher sends that the source
	// cannot take (Publisher.SetWarning).
	tracksWarning string
	// link reads the live publisher's SRT link (Publisher.SetLink).
	link func() srt.Stats
	// rtc reads the live publisher's WebRTC session (Publisher.SetWebRTC).
	rtc func() WebRTCStats
	// player gives a clip source's transport state (SetPlayer).
	player func() any
	// noted is the derived state the listener was last told of.
	noted derived
}

// PullStatus is the way back of a pulled camera that is not live.
type PullStatus struct {
	Attempt     int        `json:"attempt,omitempty"`
	NextTryAt   *time.Time `json:"next_try_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// window accumulates a second of statistics.
type window struct {
	start  time.Time
	frames int
	bytes  int
}

// Name of the source.
func (s *Source) Name() string { return s.name }

// Config returns the source's configuration.
func (s *Source) Config() SourceConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Stream is where the source's units are published.
func (s *Source) Stream() *media.Stream { return s.stream }

// Status is a snapshot of a source for the API.
type Status struct {
	Name        string       `json:"name"`
	State       State        `json:"state"`
	URL         string       `json:"url"`
	Protocol    string       `json:"protocol,omitempty"`
	Video       *VideoStatus `json:"video,omitempty"`
	Audio       *AudioStatus `json:"audio,omitempty"`
	BitrateKbps float64      `json:"bitrate_kbps"`
	UptimeS     float64      `json:"uptime_s"`
	Drops       uint64       `json:"drops"`
	Refused     uint64       `json:"refused"`
	Sessions    uint64       `json:"sessions"`
	// Malformed counts media messages that could not be read (and were dropped).
	Malformed uint64 `json:"malformed"`
	// DecodeErrors counts pictures the mixer could not decode (filled in by
	// whoever knows the mixer).
	DecodeErrors uint64 `json:"decode_errors"`
	// Player is a clip source's transport state (ingest/clip.Status).
	Player any `json:"player,omitempty"`
	// AudioLateS is how many seconds of the source's sound came too late
	// while the program was mixing it, silence in their place (filled in
	// likewise): when it grows, the jitter buffer is too short for the
	// source's network, or the machine too busy.
	AudioLateS float64 `json:"audio_late_s"`
	// PicturesLate counts the source's pictures decoded after the program
	// tick that was to show them (the picture before was repeated): when it
	// grows, the jitter buffer is too short or the machine too busy.
	PicturesLate uint64 `json:"pictures_late"`
	// PicturesSkipped counts the pictures its decoder passed over when its
	// media were behind (half a second, and its jitter buffer and two
	// frames: waiting for the decoder, or arrived late), taking up again at
	// the newest key frame waiting: pictures that would have come after
	// their tick. When it grows, the machine is short of CPU for its
	// sources, or its network stalls (its log says which).
	PicturesSkipped uint64 `json:"pictures_skipped"`
	// JitterBufferMS is how long its pictures and sound wait for their time
	// in the mixer: its own jitter buffer or the program's (filled in by the
	// control server).
	JitterBufferMS int `json:"jitter_buffer_ms"`
	// JitterBufferAuto: the buffer in use is adaptive (jitter_buffer_ms:
	// auto, its own, the program's or the one it follows); JitterNeedMS is
	// then what it covers: the most its media needed over the last 6–8 s,
	// transit jitter plus decode time (filled in likewise).
	JitterBufferAuto bool    `json:"jitter_buffer_auto"`
	JitterNeedMS     float64 `json:"jitter_need_ms"`
	// TransitJitterMS is the most its media arrived after its least delay
	// over the last two to four seconds (filled in likewise): its
	// network's jitter, what jitter_buffer_ms has to cover.
	TransitJitterMS float64 `json:"transit_jitter_ms"`
	// DecodeWaitMS is the most its pictures and sound waited from their
	// arrival to being decoded over the last 5–10 s (filled in likewise):
	// the machine's part of what the buffer covers (a source the program
	// neither shows nor hears decodes after everything else; that wait is
	// left out).
	DecodeWaitMS float64 `json:"decode_wait_ms"`
	// Warning says what is wrong with a live source's media, if anything.
	Warning string `json:"warning,omitempty"`
	// Label and TallyIndex are the source's tally settings as configured
	// (GET /api/v1/tally shows the index in use when it is 0).
	Label      string `json:"label,omitempty"`
	TallyIndex int    `json:"tally_index,omitempty"`
	// SRT is the link of a source that comes in over SRT (published to the
	// listener or pulled), while it is on.
	SRT *srt.Stats `json:"srt,omitempty"`
	// WebRTC is the session of a source published over WHIP, while it is on.
	WebRTC *WebRTCStats `json:"webrtc,omitempty"`
	PullStatus
}

// VideoStatus describes the video of a live source.
type VideoStatus struct {
	Codec   string  `json:"codec"`
	Profile string  `json:"profile,omitempty"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	FPS     float64 `json:"fps"`
	// KeyframeIntervalS is the time between the last two key frames.
	KeyframeIntervalS float64 `json:"keyframe_interval_s,omitempty"`
}

// AudioStatus describes the audio of a live source.
type AudioStatus struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

// Status returns the source's current state and statistics.
func (s *Source) Status() Status {
	s.mu.Lock()
	st, link, rtc, player := s.statusLocked(), s.link, s.rtc, s.player
	s.mu.Unlock()
	if link != nil { // outside the lock: it takes the connection's
		l := link()
		st.SRT = &l
	}
	if rtc != nil {
		r := rtc()
		st.WebRTC = &r
	}
	if player != nil { // outside the lock: it takes the player's
		st.Player = player()
	}
	return st
}

func (s *Source) statusLocked() Status {
	st := Status{
		Name:       s.name,
		State:      s.state,
		URL:        redact.URL(s.cfg.URL),
		Label:      s.cfg.Label,
		TallyIndex: s.cfg.TallyIndex,
		Drops:      s.stream.Dropped(),
		Refused:    s.refused,
		Sessions:   s.sessions,
		Malformed:  s.malformed,
	}
	if s.cfg.Pulled() {
		st.PullStatus = s.pull
	}
	if s.publisher != nil {
		st.Protocol = s.proto
	}
	if s.state != StateLive {
		return st
	}
	d := s.deriveLocked(time.Now())
	if d.stale {
		st.State = StateStale
	}
	if d.noKey > 0 {
		st.Warning = fmt.Sprintf("no key frame for %.0f s: nothing can start decoding this source; set the encoder's key-frame interval to 1–2 s", d.noKey.Seconds())
	}
	if s.tracksWarning != "" {
		st.Warning = strings.TrimPrefix(st.Warning+"; "+s.tracksWarning, "; ")
	}
	st.Protocol = s.proto
	st.UptimeS = time.Since(s.since).Seconds()
	st.BitrateKbps = s.kbps
	if v := s.video; v != nil {
		st.Video = &VideoStatus{Codec: v.Codec, Profile: v.Profile, Width: v.Width, Height: v.Height, FPS: d.fps,
			KeyframeIntervalS: round2(s.keyint.Seconds())}
	}
	if a := s.audio; a != nil {
		st.Audio = &AudioStatus{Codec: a.Codec, SampleRate: a.SampleRate, Channels: a.Channels}
	}
	return st
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// SetPullState records a pulled camera's state while it is not live:
// connecting, or retrying after err with the attempt number and next try.
func (s *Source) SetPullState(state State, attempt int, next time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publisher != nil {
		return // live: the publisher's state stands
	}
	s.state = state
	s.pull.Attempt = attempt
	s.pull.NextTryAt = nil
	if !next.IsZero() {
		s.pull.NextTryAt = &next
	}
	if err != nil {
		now := time.Now()
		s.pull.LastError, s.pull.LastErrorAt = redact.Text(err.Error()), &now
	}
	s.changedLocked()
}
