package push

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"

	"switchyard/internal/fault"
	"switchyard/internal/notify"
	"switchyard/internal/redact"
	"switchyard/media"
)

// Errors the manager returns.
var (
	ErrNotFound error = fault.New(fault.NotFound, "no output with that name")
	ErrExists   error = fault.New(fault.Conflict, "an output with that name already exists")
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate checks a destination before it is used.
func (c Config) Validate() error {
	if !namePattern.MatchString(c.Name) {
		return &fault.Invalid{Field: "name", Msg: fmt.Sprintf("output name %q must match %s", c.Name, namePattern)}
	}
	if _, err := newLink(c.URL); err != nil {
		return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("output %s: url: %s", c.Name, redact.Text(err.Error()))}
	}
	if c.VideoBitrate < 0 || (c.VideoBitrate > 0 && c.VideoBitrate < 100_000) {
		return &fault.Invalid{Field: "video_bitrate", Msg: fmt.Sprintf("output %s: video_bitrate must be at least 100000 bit/s", c.Name)}
	}
	return nil
}

// Manager owns the outputs.
type Manager struct {
	opts    Options
	program *media.Stream
	log     *slog.Logger

	mu      sync.Mutex
	outputs map[string]*Output
	closed  bool

	changes notify.Notifier
}

// OnChange sets the listener of the outputs' changes, once: an output
// added, changed or removed, each state it goes through (connecting, live,
// retrying with its error and next try, idle). It gets the output's name
// and reads its status with Get (a removed output is no longer there). It
// is called on a goroutine of the manager's, outside the manager's and
// the outputs' locks, one call at a time; Close stops it.
func (m *Manager) OnChange(f func(name string)) { m.changes.Listen(f) }

// NewManager returns a manager sending program to its outputs.
func NewManager(program *media.Stream, opts Options, log *slog.Logger) *Manager {
	opts.defaults()
	return &Manager{opts: opts, program: program, log: log.With("component", "output.push"), outputs: map[string]*Output{}}
}

// Add creates an output and starts it when enabled.
func (m *Manager) Add(c Config) (Status, error) {
	c.Name = strings.TrimSpace(c.Name)
	if err := c.Validate(); err != nil {
		return Status{}, err
	}
	l, _ := newLink(c.URL)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.outputs[c.Name]; ok {
		return Status{}, fmt.Errorf("output %s: %w", c.Name, ErrExists)
	}
	st, err := m.acquire(c)
	if err != nil {
		return Status{}, err
	}
	o := newOutput(c, l, &m.opts, st, m.log, &m.changes)
	m.outputs[c.Name] = o
	m.changes.Changed(c.Name)
	if c.Enabled && !m.closed {
		o.start()
	}
	return o.Status(), nil
}

// Get returns an output's status.
func (m *Manager) Get(name string) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.outputs[name]
	if !ok {
		return Status{}, fmt.Errorf("output %q: %w", name, ErrNotFound)
	}
	return o.Status(), nil
}

// List returns every output's status, by name.
func (m *Manager) List() []Status {
	m.mu.Lock()
	out := make([]Status, 0, len(m.outputs))
	for _, o := range m.outputs {
		out = append(out, o.Status())
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Configs returns the outputs' configurations (with their real URLs), for persistence.
func (m *Manager) Configs() []Config {
	m.mu.Lock()
	out := make([]Config, 0, len(m.outputs))
	for _, o := range m.outputs {
		out = append(out, o.cfg)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Config) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Patch is a change to an output; nil fields stay as they are.
type Patch struct {
	URL          *string
	Enabled      *bool
	VideoBitrate *media.Bitrate
}

// Patch changes an output; a running output reconnects with the change.
func (m *Manager) Patch(name string, p Patch) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.outputs[name]
	if !ok {
		return Status{}, fmt.Errorf("output %q: %w", name, ErrNotFound)
	}
	c := o.cfg
	if p.URL != nil {
		c.URL = *p.URL
	}
	if p.Enabled != nil {
		c.Enabled = *p.Enabled
	}
	if p.VideoBitrate != nil {
		c.VideoBitrate = *p.VideoBitrate
	}
	if err := c.Validate(); err != nil {
		return Status{}, err
	}
	l, _ := newLink(c.URL)
	st, err := m.acquire(c)
	if err != nil {
		return Status{}, err
	}
	o.stop() // waits for the goroutine; it never takes m.mu
	m.release(o.cfg)
	n := newOutput(c, l, &m.opts, st, m.log, &m.changes)
	n.reconnects = o.reconnects
	m.outputs[name] = n
	m.changes.Changed(name)
	if c.Enabled && !m.closed {
		n.start()
	}
	return n.Status(), nil
}

// Start enables and starts an output.
func (m *Manager) Start(name string) (Status, error) {
	on := true
	return m.Patch(name, Patch{Enabled: &on})
}

// Stop disables and stops an output.
func (m *Manager) Stop(name string) (Status, error) {
	off := false
	return m.Patch(name, Patch{Enabled: &off})
}

// Remove stops and deletes an output.
func (m *Manager) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.outputs[name]
	if !ok {
		return fmt.Errorf("output %q: %w", name, ErrNotFound)
	}
	o.stop()
	m.release(o.cfg)
	delete(m.outputs, name)
	m.changes.Changed(name)
	return nil
}

// acquire returns the stream an output sends: the program, or its rendition.
func (m *Manager) acquire(c Config) (*media.Stream, error) {
	if c.VideoBitrate == 0 {
		return m.program, nil
	}
	if m.opts.Renditions == nil {
		return nil, &fault.Invalid{Field: "video_bitrate", Msg: "per-output video bitrates are not available"}
	}
	st, err := m.opts.Renditions.AcquireRendition(int(c.VideoBitrate))
	if err != nil {
		return nil, &fault.Invalid{Field: "video_bitrate", Msg: fmt.Sprintf("output %s: video_bitrate: %v", c.Name, err)}
	}
	return st, nil
}

func (m *Manager) release(c Config) {
	if c.VideoBitrate > 0 && m.opts.Renditions != nil {
		m.opts.Renditions.ReleaseRendition(int(c.VideoBitrate))
	}
}

// Close stops every output and the listener's calls, and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for _, o := range m.outputs {
		o.stop()
		m.release(o.cfg)
	}
	m.outputs = map[string]*Output{}
	m.mu.Unlock()
	m.changes.Close() // outside the lock: a listener's call may be waiting for it
}
