package tally

import (
	"context"
	"fmt"
	"reflect"

	"switchyard/internal/fault"
)

// Errors of the destination changes.
var (
	ErrNotFound error = fault.New(fault.NotFound, "no tally destination with that name")
	ErrExists   error = fault.New(fault.Conflict, "a tally destination with that name already exists; change it with PATCH, or choose another name")
)

func tooMany(n int) error {
	return &fault.TooMany{Limit: "tally_destinations",
		Msg: fmt.Sprintf("%d tally destinations; a show sends to at most %d (remove one first)", n, MaxDestinations)}
}

// newDestination makes the destination of a valid config, not started.
func (s *Sender) newDestination(c Config) *destination {
	c = c.WithDefaults()
	return newDestination(c, s.opts, s.opts.Log.With("tally", c.Name, "address", c.Protocol+"/"+c.Transport+"://"+c.Address))
}

// startDestination starts d's goroutine; s.mu is held and the Sender runs.
func (s *Sender) startDestination(d *destination) {
	ctx, cancel := context.WithCancel(s.ctx)
	d.cancel, d.done = cancel, make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(d.done)
		d.run(ctx)
	}()
	if s.lamps != nil {
		d.offer(s.lamps) // what the others have: it starts with the show as it is
	}
}

// stop stops d's goroutine, if it runs, and waits for it.
func (d *destination) stop() {
	if d.cancel != nil {
		d.cancel()
		<-d.done
	}
}

// find returns the position of the destination named name, or -1; s.mu
// is held (or the Sender is not shared yet).
func (s *Sender) find(name string) int {
	for i, d := range s.dests {
		if d.cfg.Name == name {
			return i
		}
	}
	return -1
}

// destinations returns the destinations as they are now.
func (s *Sender) destinations() []*destination {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*destination(nil), s.dests...)
}

// Configs returns every destination's settings, defaults filled in, in the
// order they were added (for show.json).
func (s *Sender) Configs() []Config {
	dests := s.destinations()
	out := make([]Config, 0, len(dests))
	for _, d := range dests {
		out = append(out, d.cfg)
	}
	return out
}

// Add adds a destination; a running Sender starts sending to it at once.
func (s *Sender) Add(c Config) (DestinationStatus, error) {
	if err := c.Validate(); err != nil {
		return DestinationStatus{}, err
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(c.Name) >= 0 {
		return DestinationStatus{}, fmt.Errorf("tally destination %s: %w", c.Name, ErrExists)
	}
	if len(s.dests) >= MaxDestinations {
		return DestinationStatus{}, tooMany(len(s.dests) + 1)
	}
	d := s.newDestination(c)
	s.dests = append(s.dests, d)
	if s.started && !s.closed {
		s.startDestination(d)
	}
	return d.status(), nil
}

// Patch changes a destination: its goroutine is stopped (a TCP connection
// closed, a dial under way given up) and started again with the change. A
// patch that changes nothing leaves it as it is.
func (s *Sender) Patch(name string, p Patch) (DestinationStatus, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	i := s.find(name)
	if i < 0 {
		s.mu.Unlock()
		return DestinationStatus{}, fmt.Errorf("tally destination %q: %w", name, ErrNotFound)
	}
	old := s.dests[i]
	s.mu.Unlock()
	c := p.apply(old.cfg)
	if err := c.Validate(); err != nil {
		return DestinationStatus{}, err
	}
	c = c.WithDefaults()
	if reflect.DeepEqual(c, old.cfg) {
		return old.status(), nil
	}
	old.stop() // outside s.mu: the Sender's loop goes on meanwhile
	n := s.newDestination(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dests[i] = n // opMu held: i is still its place
	if s.started && !s.closed {
		s.startDestination(n)
	}
	return n.status(), nil
}

// Remove stops a destination, waits for its goroutine and forgets it.
func (s *Sender) Remove(name string) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	i := s.find(name)
	if i < 0 {
		s.mu.Unlock()
		return fmt.Errorf("tally destination %q: %w", name, ErrNotFound)
	}
	d := s.dests[i]
	s.dests = append(s.dests[:i:i], s.dests[i+1:]...)
	s.mu.Unlock()
	d.stop()
	return nil
}
