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
	"strings"
	"sync"
	"time"

	"switchyard/internal/fault"
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
	// ByPosition is true when Index is the source's position (it has no
	// tally_index of its own).
	ByPosition bool
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
	// DialTimeout bounds each dial of a TCP receiver (default 3s).
	DialTimeout time.Duration
	Log         *slog.Logger
}

// Status is the tally as GET /api/v1/tally shows it.
type Status struct {
	Keyers       bool                `json:"keyers"`
	Sources      []Lamp              `json:"sources"`
	Destinations []DestinationStatus `json:"destinations"`
	// Warnings name the sources that share a display index: a receiver
	// shows only one of them.
	Warnings []string `json:"warnings"`
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

// Sender sends the tally to every destination. Destinations are added,
// changed and removed while it runs (Add, Patch, Remove), each change
// starting or stopping that destination's goroutine only.
type Sender struct {
	opts Options

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// opMu orders the changes to the destinations (Add, Patch, Remove,
	// Start, Close); mu guards the state below and is never held while a
	// goroutine is waited for.
	opMu     sync.Mutex
	mu       sync.Mutex
	dests    []*destination // in the order they were added
	lamps    []Lamp
	onChange func([]Lamp)
	started  bool
	closed   bool
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
	if o.DialTimeout <= 0 {
		o.DialTimeout = dialTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Log = o.Log.With("component", "tally")
	s := &Sender{opts: o, wake: make(chan struct{}, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if len(o.Destinations) > MaxDestinations {
		return nil, tooMany(len(o.Destinations))
	}
	for i, c := range o.Destinations {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("tally[%d]: %w", i, err)
		}
		if s.find(c.Name) >= 0 {
			return nil, fmt.Errorf("tally[%d]: %w", i, &fault.Invalid{Field: "name", Msg: fmt.Sprintf("tally destination %q is listed twice", c.Name)})
		}
		s.dests = append(s.dests, s.newDestination(c))
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
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	for _, d := range s.dests {
		s.startDestination(d)
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
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Lamps returns the sources' tallies as last computed.
func (s *Sender) Lamps() []Lamp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lamps)
}

// Status returns the lamps, every destination's state, and the warnings
// about the sources' display indexes.
func (s *Sender) Status() Status {
	st := Status{Keyers: s.opts.Keyers, Sources: s.Lamps(), Warnings: Collisions(s.opts.Sources())}
	if st.Sources == nil {
		st.Sources = []Lamp{}
	}
	dests := s.destinations()
	st.Destinations = make([]DestinationStatus, 0, len(dests))
	for _, d := range dests {
		st.Destinations = append(st.Destinations, d.status())
	}
	return st
}

func (s *Sender) run() {
	t := time.NewTicker(s.opts.Repeat)
	defer t.Stop()
	var last []Lamp
	var warned map[string]bool
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
		sources := s.opts.Sources()
		warned = s.warn(sources, warned)
		lamps := Lamps(s.opts.Air(), sources, s.opts.Keyers)
		changed := first || !slices.Equal(lamps, last)
		first = false
		if !changed && !repeat {
			continue
		}
		// The lamps and the destinations are taken together: a destination
		// added after this is offered these lamps by Add.
		s.mu.Lock()
		s.lamps = lamps
		dests := slices.Clone(s.dests)
		f := s.onChange
		s.mu.Unlock()
		for _, d := range dests {
			d.offer(lamps)
		}
		if changed {
			last = lamps
			if f != nil {
				f(slices.Clone(lamps))
			}
		}
	}
}

// warn logs each warning about the sources' indexes once, when it first
// holds; warned are those logged already (and still holding).
func (s *Sender) warn(sources []Source, warned map[string]bool) map[string]bool {
	now := map[string]bool{}
	for _, w := range Collisions(sources) {
		now[w] = true
		if !warned[w] {
			s.opts.Log.Warn("tally: two sources share a display index", "warning", w)
		}
	}
	return now
}

// Collisions returns a warning for each display index two or more sources
// share (by tally_index or by position): a receiver shows one of them only.
func Collisions(sources []Source) []string {
	by := map[int][]Source{}
	var order []int
	for _, src := range sources {
		if by[src.Index] == nil {
			order = append(order, src.Index)
		}
		by[src.Index] = append(by[src.Index], src)
	}
	out := []string{}
	for _, idx := range order {
		list := by[idx]
		if len(list) < 2 {
			continue
		}
		names := make([]string, 0, len(list))
		for _, src := range list {
			how := fmt.Sprintf("tally_index %d", idx)
			if src.ByPosition {
				how = "its position, no tally_index"
			}
			names = append(names, fmt.Sprintf("%s (%s)", src.Name, how))
		}
		out = append(out, fmt.Sprintf("display %d is shared by %s: a receiver shows only one of them; give each a tally_index of its own",
			idx, strings.Join(names, " and ")))
	}
	return out
}
