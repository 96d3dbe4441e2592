// Package ingest keeps the registry of named sources: their streams, who
// publishes to them, their state and statistics. The protocol servers
// (ingest/rtmp, ingest/rtsp) and the generators (ingest/gen) publish through it.
package ingest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"

	"switchyard/media"
)

// Errors a publisher is refused with.
var (
	ErrUnknownSource = errors.New("no source with that name is configured")
	ErrBadKey        = errors.New("wrong or missing publish key")
	ErrBusy          = errors.New("the source already has a live publisher")
	ErrExists        = errors.New("a source with that name already exists")
)

// NamePattern is what a source name must match.
var NamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// State of a source.
type State string

// Source states.
const (
	StateOffline State = "offline"
	StateLive    State = "live"
)

// SourceConfig describes one source.
type SourceConfig struct {
	Name string `yaml:"name" json:"name"`
	// URL is empty for a pushed source, or gen://… for a built-in generator.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// PublishKey, when set, must be given by a publisher (RTMP "name?key=…",
	// RTSP password).
	PublishKey string `yaml:"publish_key,omitempty" json:"-"`
}

// Validate checks the name and the URL scheme.
func (c SourceConfig) Validate() error {
	if !NamePattern.MatchString(c.Name) {
		return &FieldError{Field: "name", Msg: fmt.Sprintf("source name %q must match %s", c.Name, NamePattern)}
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return &FieldError{Field: "url", Msg: fmt.Sprintf("source %s: bad url: %v", c.Name, err)}
		}
		if u.Scheme != "gen" {
			return &FieldError{Field: "url", Msg: fmt.Sprintf("source %s: url scheme %q is not supported (use gen://, or leave url empty and push to rtmp://HOST:1935/live/%s)", c.Name, u.Scheme, c.Name)}
		}
	}
	return nil
}

// FieldError is a validation error that names the offending field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

// Registry holds the sources by name.
type Registry struct {
	log *slog.Logger

	mu      sync.RWMutex
	sources map[string]*Source
}

// NewRegistry returns an empty registry.
func NewRegistry(log *slog.Logger) *Registry {
	return &Registry{log: log.With("component", "ingest"), sources: map[string]*Source{}}
}

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
	s := &Source{cfg: cfg, stream: media.NewStream(), state: StateOffline}
	r.sources[cfg.Name] = s
	return s, nil
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
		case a.cfg.Name < b.cfg.Name:
			return -1
		case a.cfg.Name > b.cfg.Name:
			return 1
		}
		return 0
	})
	return out
}

// Publish claims a source for a publisher. proto names the protocol for logs
// and status ("rtmp", "rtsp", "gen"). The returned Publisher must be closed.
func (r *Registry) Publish(name, key, proto string) (*Publisher, error) {
	s, ok := r.Get(name)
	if !ok {
		return nil, fmt.Errorf("publish to %q: %w", name, ErrUnknownSource)
	}
	if s.cfg.PublishKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.PublishKey)) != 1 {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		return nil, fmt.Errorf("publish to %q: %w", name, ErrBadKey)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publisher != nil {
		s.refused++
		return nil, fmt.Errorf("publish to %q: %w", name, ErrBusy)
	}
	p := &Publisher{src: s}
	s.publisher = p
	s.state = StateLive
	s.proto = proto
	s.since = time.Now()
	s.lastUnit = time.Time{}
	s.win = window{start: time.Now()}
	r.log.Info("publisher connected", "source", name, "proto", proto)
	return p, nil
}

// Source is one named input. Its Stream lives as long as the source, across
// publishers, so readers never have to re-attach when a camera comes back.
type Source struct {
	cfg    SourceConfig
	stream *media.Stream

	mu        sync.Mutex
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
}

// window accumulates a second of statistics.
type window struct {
	start  time.Time
	frames int
	bytes  int
}

// Name of the source.
func (s *Source) Name() string { return s.cfg.Name }

// Config returns the source's configuration.
func (s *Source) Config() SourceConfig { return s.cfg }

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
}

// VideoStatus describes the video of a live source.
type VideoStatus struct {
	Codec  string  `json:"codec"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
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
	defer s.mu.Unlock()
	st := Status{
		Name:     s.cfg.Name,
		State:    s.state,
		URL:      s.cfg.URL,
		Drops:    s.stream.Dropped(),
		Refused:  s.refused,
		Sessions: s.sessions,
	}
	if s.state != StateLive {
		return st
	}
	st.Protocol = s.proto
	st.UptimeS = time.Since(s.since).Seconds()
	st.BitrateKbps = s.kbps
	if v := s.video; v != nil {
		fps := v.FPS
		if fps == 0 {
			fps = s.fps
		}
		st.Video = &VideoStatus{Codec: v.Codec, Width: v.Width, Height: v.Height, FPS: round2(fps)}
	}
	if a := s.audio; a != nil {
		st.Audio = &AudioStatus{Codec: a.Codec, SampleRate: a.SampleRate, Channels: a.Channels}
	}
	return st
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// Publisher is the claim of one connection on a source.
type Publisher struct {
	src    *Source
	closed bool
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
	if u.Track.Kind == media.KindVideo {
		s.video = u.Track
		s.win.frames++
	} else {
		s.audio = u.Track
	}
	s.win.bytes += u.Size()
	if d := now.Sub(s.win.start); d >= time.Second {
		s.fps = float64(s.win.frames) / d.Seconds()
		s.kbps = round2(float64(s.win.bytes) * 8 / 1000 / d.Seconds())
		s.win = window{start: now}
	}
	s.mu.Unlock()
	s.stream.WriteUnit(u)
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
		s.video, s.audio = nil, nil
		s.sessions++
	}
}
