package main

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchyard/ingest"
	"switchyard/ingest/gen"
	"switchyard/internal/fault"
	"switchyard/mixer"
	"switchyard/output/serve"
)

// sourceSet adds and removes sources at runtime: each source is a registry
// entry, a mixer input, a re-served path, and — for gen:// and rtsp:// URLs —
// the generator or puller that feeds it. It is the wiring behind
// /api/v1/sources; the parts themselves know nothing of each other.
type sourceSet struct {
	registry *ingest.Registry
	mixer    *mixer.Engine
	paths    *serve.Table
	genCfg   gen.Config // program size and rate for generators
	log      *slog.Logger

	mu      sync.Mutex
	order   []string // as added, for show.json
	feeders map[string]feeder
}

// feeder is what publishes into a source by itself.
type feeder interface{ Close() }

func newSourceSet(reg *ingest.Registry, mix *mixer.Engine, paths *serve.Table, genCfg gen.Config, log *slog.Logger) *sourceSet {
	return &sourceSet{registry: reg, mixer: mix, paths: paths, genCfg: genCfg, log: log, feeders: map[string]feeder{}}
}

// checkSource is the one check of a source's settings, whichever door they
// come through: the show file, show.json or the API. It reads no file and
// starts nothing.
func checkSource(cfg ingest.SourceConfig) error {
	switch cfg.Name {
	case mixer.Black:
		return &fault.Invalid{Field: "name", Msg: `"black" is the mixer's black bus; choose another name`}
	case "master", "program", "preview":
		return &fault.Invalid{Field: "name", Msg: fmt.Sprintf("%q is reserved (the audio master, the program and preview outputs); choose another name", cfg.Name)}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if strings.HasPrefix(cfg.URL, "gen://") {
		if err := gen.Check(cfg.URL); err != nil {
			return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: %v", cfg.Name, err)}
		}
	}
	return nil
}

// Add creates a source and starts what feeds it.
func (ss *sourceSet) Add(cfg ingest.SourceConfig) (ingest.Status, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if err := checkSource(cfg); err != nil {
		return ingest.Status{}, err
	}
	src, err := ss.registry.Add(cfg)
	if err != nil {
		return ingest.Status{}, err
	}
	undo := func() { _ = ss.registry.Remove(cfg.Name) }
	if err := ss.mixer.AddInput(cfg.Name, src.Stream(), time.Duration(cfg.JitterBufferMS)*time.Millisecond); err != nil {
		undo()
		return ingest.Status{}, err
	}
	if err := ss.paths.Add("live/"+cfg.Name, src.Stream()); err != nil {
		ss.mixer.RemoveInput(cfg.Name)
		undo()
		return ingest.Status{}, err
	}
	if err := ss.startFeeder(cfg); err != nil {
		ss.paths.Remove("live/" + cfg.Name)
		ss.mixer.RemoveInput(cfg.Name)
		undo()
		return ingest.Status{}, err
	}
	ss.order = append(ss.order, cfg.Name)
	return src.Status(), nil
}

func (ss *sourceSet) startFeeder(cfg ingest.SourceConfig) error {
	switch {
	case strings.HasPrefix(cfg.URL, "gen://"):
		if ss.generators() >= gen.MaxGenerators {
			return fmt.Errorf("source %s: %w", cfg.Name, gen.ErrTooMany)
		}
		gc := ss.genCfg
		gc.Source, gc.URL = cfg.Name, cfg.URL
		g, err := gen.New(gc, ss.registry, ss.log)
		if err != nil {
			return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: %v", cfg.Name, err)}
		}
		if err := g.Start(); err != nil {
			return fmt.Errorf("source %s: %w", cfg.Name, err)
		}
		ss.feeders[cfg.Name] = g
	case cfg.Pulled():
		p := ingest.NewPull(ss.registry, cfg, ss.log)
		p.Start()
		ss.feeders[cfg.Name] = p
	}
	return nil
}

// generators counts the running generators.
func (ss *sourceSet) generators() int {
	n := 0
	for _, f := range ss.feeders {
		if _, ok := f.(*gen.Generator); ok {
			n++
		}
	}
	return n
}

func (ss *sourceSet) stopFeeder(name string) {
	if f, ok := ss.feeders[name]; ok {
		f.Close()
		delete(ss.feeders, name)
	}
}

// Update changes a source's key, takeover, transport, URL or jitter buffer.
// A new URL restarts what feeds the source; a pushed source's publisher
// stays on. A new jitter buffer applies at once (mixer.SetJitterBuffer).
func (ss *sourceSet) Update(cfg ingest.SourceConfig) (ingest.Status, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	src, ok := ss.registry.Get(cfg.Name)
	if !ok {
		return ingest.Status{}, fmt.Errorf("source %q: %w", cfg.Name, ingest.ErrUnknownSource)
	}
	old := src.Config()
	if err := checkSource(cfg); err != nil {
		return ingest.Status{}, err
	}
	if cfg.JitterBufferMS != old.JitterBufferMS {
		// validated: the mixer takes it
		if err := ss.mixer.SetJitterBuffer(cfg.Name, time.Duration(cfg.JitterBufferMS)*time.Millisecond); err != nil {
			return ingest.Status{}, err
		}
	}
	if cfg.URL != old.URL || cfg.Transport != old.Transport {
		ss.stopFeeder(cfg.Name)
		if err := ss.registry.Update(cfg); err != nil {
			return ingest.Status{}, err
		}
		if err := ss.startFeeder(cfg); err != nil {
			_ = ss.registry.Update(old)
			_ = ss.startFeeder(old)
			return ingest.Status{}, err
		}
		return src.Status(), nil
	}
	if err := ss.registry.Update(cfg); err != nil {
		return ingest.Status{}, err
	}
	return src.Status(), nil
}

// Remove stops a source: its feeder, its publisher, its mixer input (a bus
// showing it goes to black) and its re-served path.
func (ss *sourceSet) Remove(name string) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.registry.Get(name); !ok {
		return fmt.Errorf("source %q: %w", name, ingest.ErrUnknownSource)
	}
	ss.stopFeeder(name)
	ss.mixer.RemoveInput(name)
	ss.paths.Remove("live/" + name)
	err := ss.registry.Remove(name)
	for i, n := range ss.order {
		if n == name {
			ss.order = append(ss.order[:i], ss.order[i+1:]...)
			break
		}
	}
	return err
}

// Configs returns every source's settings in the order they were added,
// publish keys included (for show.json).
func (ss *sourceSet) Configs() []ingest.SourceConfig {
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

// Close stops every feeder.
func (ss *sourceSet) Close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for name := range ss.feeders {
		ss.stopFeeder(name)
	}
}
