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
	"sync"
	"sync/atomic"
	"time"

	"switchyard/internal/fault"
	"switchyard/internal/notify"
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
