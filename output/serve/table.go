// Package serve is the path table: the streams Switchyard re-serves to
// local players by name — "program", "preview" and "live/NAME" for every
// source — with how many readers watch each. It knows no protocol: the RTSP
// and RTMP servers (internal/servers) read from it.
package serve

import (
	"fmt"
	"sync"
	"sync/atomic"

	"switchyard/internal/fault"
	"switchyard/media"
)

// ErrNoStream is returned for a path that is not served or not live yet.
var ErrNoStream error = fault.New(fault.NotFound, "nothing is being served at this path")

// Path is one served stream.
type Path struct {
	name   string
	stream *media.Stream
	// watchers counts the readers playing the path (a server need not
	// packetize a path nobody plays).
	watchers atomic.Int32
}

// Name is the path's name, e.g. "program" or "live/cam1".
func (p *Path) Name() string { return p.name }

// Stream is what the path serves.
func (p *Path) Stream() *media.Stream { return p.stream }

// Watchers returns how many readers play the path now.
func (p *Path) Watchers() int { return int(p.watchers.Load()) }

// Watch tells the path a reader plays it until stop is called (safe twice).
func (p *Path) Watch() (stop func()) {
	p.watchers.Add(1)
	var once sync.Once
	return func() { once.Do(func() { p.watchers.Add(-1) }) }
}

// Listener is told of every path added and removed: a server that keeps
// state per path (RTSP's described streams).
type Listener interface {
	// PathAdded is called once per path.
	PathAdded(p *Path)
	// PathRemoved returns once the listener has let go of p (its readers
	// disconnected).
	PathRemoved(p *Path)
}

// Table is the path table. The zero value is not ready: use NewTable.
type Table struct {
	changes sync.Mutex // one Add, Remove or Listen at a time, with its notifications

	mu        sync.Mutex
	paths     map[string]*Path
	listeners []Listener
}

// NewTable returns an empty path table.
func NewTable() *Table { return &Table{paths: map[string]*Path{}} }

// Add serves st at name (e.g. "program", "live/cam1").
func (t *Table) Add(name string, st *media.Stream) error {
	t.changes.Lock()
	defer t.changes.Unlock()
	t.mu.Lock()
	if _, ok := t.paths[name]; ok {
		t.mu.Unlock()
		return fmt.Errorf("path %s is already served", name)
	}
	p := &Path{name: name, stream: st}
	t.paths[name] = p
	ls := append([]Listener(nil), t.listeners...)
	t.mu.Unlock()
	for _, l := range ls {
		l.PathAdded(p)
	}
	return nil
}

// Remove stops serving name; it returns once every listener let go of it.
func (t *Table) Remove(name string) {
	t.changes.Lock()
	defer t.changes.Unlock()
	t.mu.Lock()
	p := t.paths[name]
	delete(t.paths, name)
	ls := append([]Listener(nil), t.listeners...)
	t.mu.Unlock()
	if p == nil {
		return
	}
	for _, l := range ls {
		l.PathRemoved(p)
	}
}

// Get returns the path served at name, or an error wrapping ErrNoStream.
func (t *Table) Get(name string) (*Path, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.paths[name]
	if p == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoStream)
	}
	return p, nil
}

// Listen tells l of every path served now and of every path added or
// removed until stop; stop tells l the paths it knows are removed, and
// returns once it let go of them.
func (t *Table) Listen(l Listener) (stop func()) {
	t.changes.Lock()
	defer t.changes.Unlock()
	t.mu.Lock()
	t.listeners = append(t.listeners, l)
	now := t.list()
	t.mu.Unlock()
	for _, p := range now {
		l.PathAdded(p)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.changes.Lock()
			defer t.changes.Unlock()
			t.mu.Lock()
			for i, x := range t.listeners {
				if x == l {
					t.listeners = append(t.listeners[:i], t.listeners[i+1:]...)
					break
				}
			}
			now := t.list()
			t.mu.Unlock()
			for _, p := range now {
				l.PathRemoved(p)
			}
		})
	}
}

// list returns the paths served; t.mu is held.
func (t *Table) list() []*Path {
	out := make([]*Path, 0, len(t.paths))
	for _, p := range t.paths {
		out = append(out, p)
	}
	return out
}
