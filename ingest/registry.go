// Package ingest keeps the registry of named sources: their streams, who
// publishes to them, their state and statistics. The protocol servers
// (internal/servers/rtmp, rtsp, srt), the pulls (Pull) and the
// generators (ingest/gen) publish through it.
package ingest

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/internal/fault"
	"switchyard/internal/notify"
	"switchyard/internal/protocols/srt"
	"switchyard/internal/redact"
	"switchyard/media"
)

// Errors a publisher is refused with (and a source change, for the first
// and the last), of their kinds in the one error vocabulary (fault).
var (
	ErrUnknownSource error = fault.New(fault.NotFound, "no source with that name is configured")
	ErrBadKey        error = fault.New(fault.Forbidden, "wrong or missing publish key")
	ErrBusy          error = fault.New(fault.Conflict, "the source already has a live publisher")
	ErrExists        error = fault.New(fault.Conflict, "a source with that name already exists")
	// ErrDraining refuses every new publisher once the show drains for
	// its shutdown (Registry.Drain): publish to the show that replaces it.
	ErrDraining error = fault.New(fault.Unavailable, "draining: the show is shutting down")
)

// State of a source.
type State string

// Source states.
const (
	StateOffline State = "offline"
	StateLive    State = "live"
	// StateStale: a publisher is connected but no media came for StaleAfter.
	StateStale State = "stale"
	// StateConnecting: a pulled camera is being reached, or a publisher is
	// connected and its first media has not come yet. A source is live
	// only once media arrived.
	StateConnecting State = "connecting"
	// StateRetrying is a pulled camera's way back after a failure.
	StateRetrying State = "retrying"
)

// StaleAfter is how long a live source may send nothing before it is stale.
const StaleAfter = 2 * time.Second

// NoKeyAfter is how long a live source may send video without a key frame
// before it is flagged: nothing can start decoding it.
const NoKeyAfter = 10 * time.Second

// Registry holds the sources by name.
type Registry struct {
	log *slog.Logger

	mu      sync.RWMutex
	sources map[string]*Source

	// changes carries the sources' changes to the listener (OnChange);
	// the clock's goroutine (watchClock) notices what the clock changes.
	changes notify.Notifier
	// draining refuses new publishers (Drain).
	draining atomic.Bool
	quit     chan struct{}
	done     chan struct{}
	close    sync.Once
}

// NewRegistry returns an empty registry.
func NewRegistry(log *slog.Logger) *Registry {
	return &Registry{log: log.With("component", "ingest"), sources: map[string]*Source{}}
}

// MaxSources bounds the sources of a show: each is decoded all the time.
const MaxSources = 64

// ErrTooManySources refuses a source past MaxSources.
var ErrTooManySources error = &fault.TooMany{Limit: "sources", Msg: fmt.Sprintf("a show has at most %d sources; remove one first", MaxSources)}

// MaxGenerators bounds the generators (gen:// sources) a show runs: each is
// an H.264 encoder. It is here, with the registry's other cap, so the API
// reports it without linking the generators' codecs; gen enforces it.
const MaxGenerators = 16

// ErrTooManyGenerators refuses a generator past MaxGenerators.
var ErrTooManyGenerators error = &fault.TooMany{Limit: "generators",
	Msg: fmt.Sprintf("a show runs at most %d generators (gen:// sources); remove one first", MaxGenerators)}

// Add registers a source.
func (r *Registry) Add(cfg SourceConfig) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sources[cfg.Name]; ok {
		return nil, fmt.Errorf("source %s: %w", cfg.Name, ErrExists)
	}
	if len(r.sources) >= MaxSources {
		return nil, fmt.Errorf("source %s: %w", cfg.Name, ErrTooManySources)
	}
	s := &Source{name: cfg.Name, reg: r, cfg: cfg, stream: media.NewStream(), state: StateOffline}
	r.sources[cfg.Name] = s
	r.changes.Changed(cfg.Name)
	return s, nil
}

// Remove deletes a source; its publisher, if any, is disconnected.
func (r *Registry) Remove(name string) error {
	r.mu.Lock()
	s, ok := r.sources[name]
	delete(r.sources, name)
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("source %q: %w", name, ErrUnknownSource)
	}
	r.changes.Changed(name)
	s.mu.Lock()
	p := s.publisher
	s.mu.Unlock()
	if p != nil {
		p.Close()
		p.kick()
	}
	return nil
}

// Update replaces a source's settings (key, takeover, URL); a live publisher
// stays connected.
func (r *Registry) Update(cfg SourceConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s, ok := r.Get(cfg.Name)
	if !ok {
		return fmt.Errorf("source %q: %w", cfg.Name, ErrUnknownSource)
	}
	s.mu.Lock()
	s.cfg = cfg
	s.changedLocked()
	s.mu.Unlock()
	return nil
}

// Get returns a source by name.
func (r *Registry) Get(name string) (*Source, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.sources[name]
	return s, ok
}

// List returns the sources sorted by name.
func (r *Registry) List() []*Source {
	r.mu.RLock()
	out := make([]*Source, 0, len(r.sources))
	for _, s := range r.sources {
		out = append(out, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Source) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out
}

// ReadKey returns the key a reader of stream ("program", "preview" or a
// source's name) must give: the source's own read_key, or fallback (the
// show's read_key, for the program, the preview and every source without
// its own). Empty: reading is open.
func (r *Registry) ReadKey(stream, fallback string) string {
	if s, ok := r.Get(stream); ok {
		if k := s.Config().ReadKey; k != "" {
			return k
		}
	}
	return fallback
}

// Drain refuses every new publisher from now on, with ErrDraining (the
// show is shutting down); publishers already live go on until they are
// closed. It cannot be undone.
func (r *Registry) Drain() { r.draining.Store(true) }

// Publish claims a source for a publisher. proto names the protocol for logs
// and status ("rtmp", "rtsp", "srt", "gen"). The returned Publisher must be closed.
func (r *Registry) Publish(name, key, proto string) (*Publisher, error) {
	if r.draining.Load() {
		return nil, fmt.Errorf("publish to %q: %w", name, ErrDraining)
	}
	s, ok := r.Get(name)
	if !ok {
		return nil, fmt.Errorf("publish to %q: %w", name, ErrUnknownSource)
	}
	cfg := s.Config()
	if cfg.Pulled() != isPull(proto) {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		return nil, fmt.Errorf("publish to %q: %w", name, ErrPulled)
	}
	if cfg.PublishKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(cfg.PublishKey)) != 1 {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		return nil, fmt.Errorf("publish to %q: %w", name, ErrBadKey)
	}
	s.mu.Lock()
	taken := s.publisher
	if taken != nil {
		if !cfg.Takeover {
			s.refused++
			s.mu.Unlock()
			return nil, fmt.Errorf("publish to %q: %w", name, ErrBusy)
		}
		taken.closed = true
		s.sessions++
	}
	p := &Publisher{src: s}
	s.publisher = p
	s.state = StateConnecting // live once media arrives (WriteUnit)
	s.proto = proto
	s.since = time.Now()
	s.lastUnit = time.Time{}
	s.win = window{start: time.Now()}
	s.lastKey, s.keyint, s.lastKeyAt = -1, 0, time.Time{}
	s.tracksWarning = ""
	s.link, s.rtc, s.player = nil, nil, nil
	s.changedLocked()
	s.mu.Unlock()
	if taken != nil {
		taken.kick() // outside the source's lock: the old connection's clean-up takes it
		r.log.Info("publisher taken over", "source", name, "proto", proto)
		return p, nil
	}
	r.log.Info("publisher connected", "source", name, "proto", proto)
	return p, nil
}

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

// Publisher is the claim of one connection on a source.
type Publisher struct {
	src    *Source
	closed bool
	onKick func() // disconnects the publisher's connection
}

// OnKick sets how the registry disconnects this publisher (a takeover, the
// source removed).
func (p *Publisher) OnKick(f func()) {
	p.src.mu.Lock()
	p.onKick = f
	p.src.mu.Unlock()
}

func (p *Publisher) kick() {
	p.src.mu.Lock()
	f := p.onKick
	p.src.mu.Unlock()
	if f != nil {
		f()
	}
}

// WriteUnit publishes a unit and updates the source's statistics.
func (p *Publisher) WriteUnit(u *media.Unit) {
	s := p.src
	now := time.Now()
	s.mu.Lock()
	if p.closed {
		s.mu.Unlock()
		return
	}
	s.lastUnit = now
	changed := false
	if s.state == StateConnecting {
		s.state = StateLive
		changed = true
	}
	if u.Track.Kind == media.KindVideo {
		changed = changed || s.video != u.Track
		s.video = u.Track
		s.win.frames++
		if u.Key {
			if d := u.DTS - s.lastKey; s.lastKey >= 0 && d > 0 && d < time.Minute {
				s.keyint = d
			}
			s.lastKey, s.lastKeyAt = u.DTS, now
		}
	} else {
		changed = changed || s.audio != u.Track
		s.audio = u.Track
	}
	s.win.bytes += u.Size()
	if d := now.Sub(s.win.start); d >= time.Second {
		s.fps = float64(s.win.frames) / d.Seconds()
		s.kbps = round2(float64(s.win.bytes) * 8 / 1000 / d.Seconds())
		s.win = window{start: now}
	}
	if changed {
		s.changedLocked()
	} else {
		s.noteLocked(now) // back from stale, the key frame come, the rate measured
	}
	s.mu.Unlock()
	s.stream.WriteUnit(u)
}

// Refuse counts a publisher turned away before it could ask to publish
// (an RTSP publisher whose key was wrong or missing in its handshake).
func (s *Source) Refuse() {
	s.mu.Lock()
	s.refused++
	s.mu.Unlock()
}

// SetWarning says what of the publisher's media the source cannot take (a
// track it ignores, and why): the source's status shows it while this
// publisher is on. The publisher's protocol logs it.
func (p *Publisher) SetWarning(msg string) {
	s := p.src
	s.mu.Lock()
	if s.publisher == p && s.tracksWarning != msg {
		s.tracksWarning = msg
		s.changedLocked()
	}
	s.mu.Unlock()
}

// SetLink gives the source the publisher's SRT link: its status shows it
// (Status.SRT) while this publisher is on. f is called outside the
// source's lock, from the API and /metrics.
func (p *Publisher) SetLink(f func() srt.Stats) {
	s := p.src
	s.mu.Lock()
	if s.publisher == p {
		s.link = f
	}
	s.mu.Unlock()
}

// Malformed counts a media message the publisher sent that could not be read.
func (p *Publisher) Malformed() {
	p.src.mu.Lock()
	p.src.malformed++
	p.src.mu.Unlock()
}

// SetTracks announces the publisher's tracks on the source's stream (nil
// tracks are left out).
func (p *Publisher) SetTracks(tracks ...*media.Track) {
	var ts []*media.Track
	for _, t := range tracks {
		if t != nil {
			ts = append(ts, t)
		}
	}
	p.src.stream.SetTracks(ts...)
}

// Close releases the source; it goes offline. Safe to call twice.
func (p *Publisher) Close() {
	s := p.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if s.publisher == p {
		s.publisher = nil
		s.state = StateOffline
		s.pull.Attempt, s.pull.NextTryAt = 0, nil
		s.video, s.audio = nil, nil
		s.tracksWarning = ""
		s.link, s.rtc, s.player = nil, nil, nil
		s.sessions++
		s.changedLocked()
	}
}
