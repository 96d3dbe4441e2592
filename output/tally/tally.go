// Package tally sends the show's tally — which cameras are on program
// (red) and on preview (green) — to tally lights, under-monitor displays
// and tally arbiters over TSL UMD 3.1 and 5.0 (tsl.go has the formats and
// their sources).
//
// A Sender computes the lamps from what is on air (its Air function, which
// main wires to the mixer) whenever its owner says something changed
// (Changed, which never blocks) and once a second, and hands them to each
// destination: each has its own goroutine and a queue of one (the latest
// state wins), so a slow or stuck receiver delays nobody but itself. Every
// destination gets the whole state on each change and repeats it every
// second, so a receiver that joins late catches up; TCP connections
// reconnect with backoff.
package tally

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Air is what is on air, as the mixer says.
type Air struct {
	Program, Preview string
	// Transition is true while a transition runs: Preview is going on
	// program, so it counts as program too.
	Transition bool
	// Keyed are the sources of the picture-in-picture keyers on air.
	Keyed []string
}

// Source is a source as the tally shows it: its display index and text.
type Source struct {
	Name  string
	Label string // the display text
	Index int
}

// Lamp is a source's tally, as the API and the event stream show it.
type Lamp struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Index int    `json:"index"`
	// Tally is program, preview or off; Color red, green or off.
	Tally string `json:"tally"`
	Color string `json:"color"`
	code  Color  // Color's TSL code
}

// Lamps are the sources' tallies: program (and both sources of a running
// transition, and with keyers the sources of the PiP keyers on air) red,
// preview green, the others off.
func Lamps(air Air, sources []Source, keyers bool) []Lamp {
	out := make([]Lamp, 0, len(sources))
	for _, s := range sources {
		l := Lamp{Name: s.Name, Label: s.Label, Index: s.Index, Tally: "off", code: Off}
		switch {
		case s.Name == air.Program,
			air.Transition && s.Name == air.Preview,
			keyers && slices.Contains(air.Keyed, s.Name):
			l.Tally, l.code = "program", Red
		case s.Name == air.Preview:
			l.Tally, l.code = "preview", Green
		}
		l.Color = l.code.String()
		out = append(out, l)
	}
	return out
}

// Options configure a Sender.
type Options struct {
	// Destinations are the receivers (the show file's tally:).
	Destinations []Config
	// Keyers lights a source red while a PiP keyer showing it is on air
	// (tally_keyers, default true).
	Keyers bool
	// Air says what is on air now; Sources the sources with their display
	// index and text. They are called from the Sender's goroutine, on each
	// change and once a second.
	Air     func() Air
	Sources func() []Source
	// Repeat is how often the whole state is sent again (default 1s).
	Repeat time.Duration
	// WriteTimeout bounds each write to a TCP receiver (default 2s): one
	// that stops reading is dropped and dialled again.
	WriteTimeout time.Duration
	Log          *slog.Logger
}

// Status is the tally as GET /api/v1/tally shows it.
type Status struct {
	Keyers       bool                `json:"keyers"`
	Sources      []Lamp              `json:"sources"`
	Destinations []DestinationStatus `json:"destinations"`
}

// DestinationStatus is a destination's settings and state.
type DestinationStatus struct {
	Config
	// State: sending (UDP), connecting, connected or retrying (TCP).
	State string `json:"state"`
	// Attempt counts the failed connections in a row; NextTryAt is the next.
	Attempt     int        `json:"attempt,omitempty"`
	NextTryAt   *time.Time `json:"next_try_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// Sent counts the state updates sent (each one packet or more).
	Sent       uint64     `json:"sent"`
	LastSentAt *time.Time `json:"last_sent_at,omitempty"`
	// Skipped names the sources whose index this protocol cannot address
	// (TSL 3.1: 0–126).
	Skipped []string `json:"skipped,omitempty"`
}

// Sender sends the tally to every destination.
type Sender struct {
	opts  Options
	dests []*destination

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	lamps    []Lamp
	onChange func([]Lamp)
	started  bool
}

// New checks the options and returns a Sender, not yet sending.
func New(o Options) (*Sender, error) {
	if o.Air == nil || o.Sources == nil {
		return nil, errors.New("tally: Air and Sources are required")
	}
	if o.Repeat <= 0 {
		o.Repeat = time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Log = o.Log.With("component", "tally")
	s := &Sender{opts: o, wake: make(chan struct{}, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i, c := range o.Destinations {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("tally[%d]: %w", i, err)
		}
		s.dests = append(s.dests, newDestination(c.withDefaults(), o, o.Log.With("tally", c.Protocol+"/"+c.Transport+"://"+c.Address)))
	}
	return s, nil
}

// OnChange sets who is told of the lamps when they change (the event
// stream), from then on; it is called from the Sender's goroutine and
// must not wait.
func (s *Sender) OnChange(f func([]Lamp)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = f
}

// Start sends the state at once and then on every change and every Repeat.
func (s *Sender) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	for _, d := range s.dests {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			d.run(s.ctx)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run()
	}()
	s.Changed()
}

// Changed says something the tally shows may have changed (the buses, the
// keyers, the sources). It never blocks: changes marked before the Sender
// looks are looked at once.
func (s *Sender) Changed() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close stops sending and waits for every goroutine. Safe twice.
func (s *Sender) Close() {
	s.cancel()
	s.wg.Wait()
}

// Lamps returns the sources' tallies as last computed.
func (s *Sender) Lamps() []Lamp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lamps)
}

// Status returns the lamps and every destination's state.
func (s *Sender) Status() Status {
	st := Status{Keyers: s.opts.Keyers, Sources: s.Lamps(), Destinations: make([]DestinationStatus, 0, len(s.dests))}
	if st.Sources == nil {
		st.Sources = []Lamp{}
	}
	for _, d := range s.dests {
		st.Destinations = append(st.Destinations, d.status())
	}
	return st
}

func (s *Sender) run() {
	t := time.NewTicker(s.opts.Repeat)
	defer t.Stop()
	var last []Lamp
	first := true
	for {
		repeat := false
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
			repeat = true
		}
		lamps := Lamps(s.opts.Air(), s.opts.Sources(), s.opts.Keyers)
		changed := first || !slices.Equal(lamps, last)
		first = false
		if !changed && !repeat {
			continue
		}
		for _, d := range s.dests {
			d.offer(lamps)
		}
		if changed {
			last = lamps
			s.mu.Lock()
			s.lamps = lamps
			f := s.onChange
			s.mu.Unlock()
			if f != nil {
				f(slices.Clone(lamps))
			}
		}
	}
}
