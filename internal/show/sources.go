package show

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/media"
	"switchyard/mixer/bus"
)

// Sources adds, changes and removes the show's sources at runtime: each
// source is a registry entry, a mixer input, a re-served path (live/NAME),
// its camera file in a running recording (Recorder), and — for gen://,
// rtsp://, rtmp://, srt:// and file: URLs — the generator, puller or clip
// player that feeds it. Each change is one transaction across them, undone
// in full when a part refuses. It is the wiring behind /api/v1/sources and the show
// file's sources; the parts themselves know nothing of each other.
type Sources struct {
	registry *ingest.Registry
	inputs   Inputs
	paths    Paths
	recorder Recorder
	gens     Generators
	log      *slog.Logger

	mu      sync.Mutex
	changed func()   // OnChange's
	order   []string // as added, for show.json
	feeders map[string]Feeder
	genOf   map[string]bool // the feeders that are generators

	clips Clips // SetClips

	pmu     sync.Mutex        // program and before (ProgramChanged, from the mixer's goroutine)
	program string            // the program source
	before  map[string]string // clip → the program source it replaced
	wg      sync.WaitGroup    // autoplay commands
}

// Inputs are the mixer's inputs (*mixer.Switcher: Engine.Switcher).
type Inputs interface {
	AddInput(name string, st *media.Stream, jitterBuffer time.Duration) error
	RemoveInput(name string)
	SetJitterBuffer(name string, d time.Duration) error
	// Follow makes a source use another's jitter buffer ("": its own).
	Follow(name, lead string) error
	// HoldOnAir keeps a source's adaptive buffer from coming down on air
	// (its pictures are made here, timed exactly), or lets it again.
	HoldOnAir(name string, hold bool) error
}

// madeHere reports whether a source's pictures are made in this process —
// a generator or a clip — timed exactly: on air its buffer holds.
func madeHere(cfg ingest.SourceConfig) bool {
	return strings.HasPrefix(cfg.URL, "gen://") || cfg.Clip()
}

// Paths are the re-served paths (*serve.Table).
type Paths interface {
	Add(name string, st *media.Stream) error
	Remove(name string)
}

// Recorder is the recorder's side of a source (*record.Recorder): a source
// added while every camera is recorded gets its file, a removed source's
// file ends (completed and closed) before the source is gone.
type Recorder interface {
	// AddSource starts recording st as name's camera when the running
	// session records every camera; an error refuses the source.
	AddSource(name string, st *media.Stream) error
	// RemoveSource ends name's camera file; it returns once it is closed.
	RemoveSource(name string)
}

// Feeder is what publishes into a source by itself: a generator or a pull.
type Feeder interface{ Close() }

// Generator is a gen:// source's generator, made but not started.
type Generator interface {
	Start() error
	Close()
}

// Generators check and make the generators of gen:// sources. They live in
// ingest/gen, which links the codecs: main hands them in.
type Generators struct {
	// Check validates a gen:// URL; it reads no file and starts nothing.
	Check func(url string) error
	// New makes the generator that publishes url's pictures into source.
	New func(source, url string) (Generator, error)
}

// NewSources returns an empty source set over its parts.
func NewSources(reg *ingest.Registry, inputs Inputs, paths Paths, rec Recorder, gens Generators, log *slog.Logger) *Sources {
	return &Sources{registry: reg, inputs: inputs, paths: paths, recorder: rec, gens: gens, log: log, feeders: map[string]Feeder{},
		genOf: map[string]bool{}, before: map[string]string{}}
}

// CheckSource is the one check of a source's settings, whichever door they
// come through: the show file, show.json or the API. It reads no file and
// starts nothing; checkGen validates gen:// URLs (Generators.Check).
func CheckSource(cfg ingest.SourceConfig, checkGen func(url string) error) error {
	switch cfg.Name {
	case bus.Black:
		return &fault.Invalid{Field: "name", Msg: `"black" is the mixer's black bus; choose another name`}
	case "master", "program", "preview":
		return &fault.Invalid{Field: "name", Msg: fmt.Sprintf("%q is reserved (the audio master, the program and preview outputs); choose another name", cfg.Name)}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if strings.HasPrefix(cfg.URL, "gen://") {
		if err := checkGen(cfg.URL); err != nil {
			return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: %v", cfg.Name, err)}
		}
	}
	return nil
}

// Add creates a source and starts what feeds it.
func (ss *Sources) Add(cfg ingest.SourceConfig) (ingest.Status, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if err := CheckSource(cfg, ss.gens.Check); err != nil {
		return ingest.Status{}, err
	}
	if err := ss.checkFollows(cfg); err != nil {
		return ingest.Status{}, err
	}
	src, err := ss.registry.Add(cfg)
	if err != nil {
		return ingest.Status{}, err
	}
	undo := func() { _ = ss.registry.Remove(cfg.Name) }
	if err := ss.inputs.AddInput(cfg.Name, src.Stream(), cfg.JitterBufferMS.Duration()); err != nil {
		undo()
		return ingest.Status{}, err
	}
	if cfg.Follows != "" {
		if err := ss.inputs.Follow(cfg.Name, cfg.Follows); err != nil { // checked: it takes it
			ss.inputs.RemoveInput(cfg.Name)
			undo()
			return ingest.Status{}, err
		}
	}
	if madeHere(cfg) {
		_ = ss.inputs.HoldOnAir(cfg.Name, true) // the input was just added
	}
	if err := ss.paths.Add("live/"+cfg.Name, src.Stream()); err != nil {
		ss.inputs.RemoveInput(cfg.Name)
		undo()
		return ingest.Status{}, err
	}
	// recorded before it is fed: its file starts with its first key frame
	if err := ss.recorder.AddSource(cfg.Name, src.Stream()); err != nil {
		ss.paths.Remove("live/" + cfg.Name)
		ss.inputs.RemoveInput(cfg.Name)
		undo()
		return ingest.Status{}, fmt.Errorf("source %s: the recording cannot take it: %w", cfg.Name, err)
	}
	if err := ss.startFeeder(cfg); err != nil {
		ss.recorder.RemoveSource(cfg.Name)
		ss.paths.Remove("live/" + cfg.Name)
		ss.inputs.RemoveInput(cfg.Name)
		undo()
		return ingest.Status{}, err
	}
	ss.order = append(ss.order, cfg.Name)
	ss.tell()
	return src.Status(), nil
}

// checkFollows checks cfg's follows against the show (under ss.mu): the
// followed source is in it and follows none, and no source follows cfg's
// when it follows one itself.
func (ss *Sources) checkFollows(cfg ingest.SourceConfig) error {
	if cfg.Follows == "" {
		return nil
	}
	lead, ok := ss.registry.Get(cfg.Follows)
	if !ok {
		return &fault.Invalid{Field: "follows", Msg: fmt.Sprintf("source %s: follows %q, which is not a source of the show (add it first)", cfg.Name, cfg.Follows)}
	}
	if l := lead.Config().Follows; l != "" {
		return &fault.Invalid{Field: "follows", Msg: fmt.Sprintf("source %s: follows %s, which follows %s itself; follow %s", cfg.Name, cfg.Follows, l, l)}
	}
	for _, n := range ss.order {
		if s, ok := ss.registry.Get(n); ok && s.Config().Follows == cfg.Name {
			return &fault.Invalid{Field: "follows", Msg: fmt.Sprintf("source %s: %s follows it, so it cannot follow another", cfg.Name, n)}
		}
	}
	return nil
}

func (ss *Sources) startFeeder(cfg ingest.SourceConfig) error {
	switch {
	case strings.HasPrefix(cfg.URL, "gen://"):
		if len(ss.genOf) >= ingest.MaxGenerators {
			return fmt.Errorf("source %s: %w", cfg.Name, ingest.ErrTooManyGenerators)
		}
		g, err := ss.gens.New(cfg.Name, cfg.URL)
		if err != nil {
			return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: %v", cfg.Name, err)}
		}
		if err := g.Start(); err != nil {
			return fmt.Errorf("source %s: %w", cfg.Name, err)
		}
		ss.feeders[cfg.Name] = g
		ss.genOf[cfg.Name] = true
	case cfg.Clip():
		return ss.startClip(cfg)
	case cfg.Pulled():
		p := ingest.NewPull(ss.registry, cfg, ss.log)
		p.Start()
		ss.feeders[cfg.Name] = p
	}
	return nil
}

func (ss *Sources) stopFeeder(name string) {
	if f, ok := ss.feeders[name]; ok {
		f.Close()
		delete(ss.feeders, name)
		delete(ss.genOf, name)
	}
}

// Update changes a source's key, takeover, transport, URL or jitter buffer.
// A new URL restarts what feeds the source; a pushed source's publisher
// stays on. A new jitter buffer applies at once (the mixer's SetJitterBuffer).
func (ss *Sources) Update(cfg ingest.SourceConfig) (ingest.Status, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	src, ok := ss.registry.Get(cfg.Name)
	if !ok {
		return ingest.Status{}, fmt.Errorf("source %q: %w", cfg.Name, ingest.ErrUnknownSource)
	}
	old := src.Config()
	if err := CheckSource(cfg, ss.gens.Check); err != nil {
		return ingest.Status{}, err
	}
	if err := ss.checkFollows(cfg); err != nil {
		return ingest.Status{}, err
	}
	if cfg.JitterBufferMS != old.JitterBufferMS {
		// validated: the mixer takes it
		if err := ss.inputs.SetJitterBuffer(cfg.Name, cfg.JitterBufferMS.Duration()); err != nil {
			return ingest.Status{}, err
		}
	}
	if cfg.Follows != old.Follows {
		if err := ss.inputs.Follow(cfg.Name, cfg.Follows); err != nil {
			return ingest.Status{}, err
		}
	}
	if cfg.URL != old.URL || cfg.Transport != old.Transport ||
		(cfg.Clip() && (fmt.Sprint(cfg.Files) != fmt.Sprint(old.Files) || cfg.Loop != old.Loop || cfg.OnEnd != old.OnEnd)) {
		ss.stopFeeder(cfg.Name)
		if err := ss.registry.Update(cfg); err != nil {
			return ingest.Status{}, err
		}
		if err := ss.startFeeder(cfg); err != nil {
			_ = ss.registry.Update(old)
			_ = ss.startFeeder(old)
			return ingest.Status{}, err
		}
		_ = ss.inputs.HoldOnAir(cfg.Name, madeHere(cfg)) // it is an input
		ss.tell()
		return src.Status(), nil
	}
	if err := ss.registry.Update(cfg); err != nil {
		return ingest.Status{}, err
	}
	ss.tell()
	return src.Status(), nil
}

// Remove stops a source: its feeder, its camera file in a running recording
// (ended with what the source sent, completed and closed), its mixer input
// (a bus showing it goes to black), its re-served path and its publisher.
func (ss *Sources) Remove(name string) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.registry.Get(name); !ok {
		return fmt.Errorf("source %q: %w", name, ingest.ErrUnknownSource)
	}
	for _, n := range ss.order {
		if s, ok := ss.registry.Get(n); ok && s.Config().Follows == name {
			return fault.New(fault.Conflict, fmt.Sprintf("source %s follows %s's jitter buffer: change its follows first (PATCH /api/v1/sources/%s {\"follows\":\"\"})", n, name, n))
		}
	}
	ss.stopFeeder(name)
	ss.recorder.RemoveSource(name)
	ss.inputs.RemoveInput(name)
	ss.paths.Remove("live/" + name)
	err := ss.registry.Remove(name)
	for i, n := range ss.order {
		if n == name {
			ss.order = append(ss.order[:i], ss.order[i+1:]...)
			break
		}
	}
	ss.tell()
	return err
}

// Configs returns every source's settings in the order they were added,
// publish keys included (for show.json).
func (ss *Sources) Configs() []ingest.SourceConfig {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := make([]ingest.SourceConfig, 0, len(ss.order))
	for _, n := range ss.order {
		if s, ok := ss.registry.Get(n); ok {
			out = append(out, s.Config())
		}
	}
	return out
}

// OnChange sets, before the first change, who is told that a source was
// added, changed or removed (the tally: labels, indexes, positions). It is
// called under the set's lock and must return at once.
func (ss *Sources) OnChange(f func()) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.changed = f
}

func (ss *Sources) tell() {
	if ss.changed != nil {
		ss.changed()
	}
}

// Close stops every feeder.
func (ss *Sources) Close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for name := range ss.feeders {
		ss.stopFeeder(name)
	}
	ss.mu.Unlock()
	ss.wg.Wait()
	ss.mu.Lock()
}
