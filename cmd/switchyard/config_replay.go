package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/ingest/replay"
	"switchyard/ingest/replay/slowmo"
	"switchyard/internal/fault"
	"switchyard/internal/show"
	"switchyard/output/record"
)

// ReplayConfig is the instant replay (docs/replay.md): a buffer of every
// source's recent past, played on a source named "replay".
type ReplayConfig struct {
	// Enabled adds the source "replay" and keeps the buffers (default false).
	Enabled bool `yaml:"enabled"`
	// Buffer is how much of each source's past is kept (default 60s).
	Buffer Duration `yaml:"buffer"`
	// MaxBytes bounds each source's buffer in memory, in bytes (default
	// 256 MiB); the older part goes to data_dir/replay.
	MaxBytes int64 `yaml:"max_bytes"`
	// DiskMaxBytes bounds each source's part on disk (data_dir/replay),
	// in bytes (default 1 GiB; -1: memory only).
	DiskMaxBytes int64 `yaml:"disk_max_bytes"`
	// Slow is how a replay below 100 % fills the frames between the
	// camera's: repeat (the default) or blend.
	Slow string `yaml:"slow"`
	// OnEnd is what follows a replay's last frame: hold (the default:
	// the replay source holds it until the next replay), or next: hold it
	// and take the program back to the source before the replay with the
	// default transition.
	OnEnd string `yaml:"on_end"`
}

// Longest replay.buffer and largest replay.max_bytes taken: the buffers
// are in memory.
const (
	maxReplayBuffer = 10 * time.Minute
	maxReplayBytes  = 4 << 30
	maxReplayDisk   = 64 << 30
)

func (c *Config) validateReplay() error {
	r := c.Replay
	if r.Buffer < 0 || time.Duration(r.Buffer) > maxReplayBuffer {
		return &ConfigError{"replay.buffer", fmt.Sprintf("%s must be between 1s and %s (0: the default, %s)", time.Duration(r.Buffer), maxReplayBuffer, replay.DefaultBuffer)}
	}
	if r.MaxBytes < 0 || r.MaxBytes > maxReplayBytes {
		return &ConfigError{"replay.max_bytes", fmt.Sprintf("%d must be between 1 and %d (0: the default, %d)", r.MaxBytes, int64(maxReplayBytes), replay.DefaultMaxBytes)}
	}
	if r.DiskMaxBytes < -1 || r.DiskMaxBytes > maxReplayDisk {
		return &ConfigError{"replay.disk_max_bytes", fmt.Sprintf("%d must be between 1 and %d (0: the default, %d; -1: memory only)", r.DiskMaxBytes, int64(maxReplayDisk), int64(replay.DefaultDiskMaxBytes))}
	}
	if r.Slow != "" && r.Slow != replay.SlowRepeat && r.Slow != replay.SlowBlend {
		return &ConfigError{"replay.slow", fmt.Sprintf("%q must be repeat or blend", r.Slow)}
	}
	if r.OnEnd != "" && r.OnEnd != replay.EndHold && r.OnEnd != replay.EndNext {
		return &ConfigError{"replay.on_end", fmt.Sprintf("%q must be hold or next", r.OnEnd)}
	}
	if r.Enabled {
		for i, s := range c.Sources {
			if s.Name == replay.Source {
				return &ConfigError{fmt.Sprintf("sources[%d].name", i), `"replay" is the instant replay's source (replay.enabled); choose another name`}
			}
		}
	}
	return nil
}

// startReplay adds the source "replay", with a random publish key only the
// replayer knows (no camera can push to it), and starts the buffers.
func (a *app) startReplay(cfg *Config) error {
	if !cfg.Replay.Enabled {
		return nil
	}
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	cfg0 := ingest.SourceConfig{Name: replay.Source, PublishKey: hex.EncodeToString(key), Label: "Replay"}
	if _, err := a.sources.Add(cfg0); err != nil {
		return fmt.Errorf("replay: the source %q: %w", replay.Source, err)
	}
	// its pictures are made here, a slow motion's cadence exact: on air
	// its buffer does not come down (a step would break the cadence)
	if err := a.mixer.Switcher().HoldOnAir(replay.Source, true); err != nil {
		return fmt.Errorf("replay: the source %q: %w", replay.Source, err)
	}
	a.replay = replay.New(replay.Config{
		Buffer: time.Duration(cfg.Replay.Buffer), MaxBytes: cfg.Replay.MaxBytes,
		SpillDir: filepath.Join(cfg.DataDir, "replay"), DiskMaxBytes: cfg.Replay.DiskMaxBytes,
		Slow: cfg.Replay.Slow, Slowmo: slowmo.Blender{}, Still: slowmo.Blender{}, OnEnd: cfg.Replay.OnEnd,
		Ended:    func() { a.sources.Ended(replay.Source) },
		EndDelay: func() time.Duration { return a.mixer.Switcher().SourceStats(replay.Source).JitterBuffer },
		ClipDir:  filepath.Join(cfg.DataDir, "clips"), Save: record.WriteClip, Key: cfg0.PublishKey,
		ProgramSource: func() string { return a.mixer.Switcher().State().Program },
	}, a.registry, a.log)
	a.replay.Start()
	return nil
}

// replaySources are the show's sources as the API sees them with replay
// on: the source "replay" is the replayer's, so it is neither changed nor
// removed through the API, and not kept in show.json (its key is made
// afresh at each start).
type replaySources struct{ *show.Sources }

var errReplaySource = &fault.Invalid{Field: "name", Msg: `"replay" is the instant replay's source (replay.enabled): it cannot be changed or removed`}

func (s replaySources) Update(c ingest.SourceConfig) (ingest.Status, error) {
	if c.Name == replay.Source {
		return ingest.Status{}, errReplaySource
	}
	return s.Sources.Update(c)
}

func (s replaySources) Remove(name string) error {
	if name == replay.Source {
		return errReplaySource
	}
	return s.Sources.Remove(name)
}

func (s replaySources) Configs() []ingest.SourceConfig {
	all := s.Sources.Configs()
	out := all[:0:0]
	for _, c := range all {
		if c.Name != replay.Source {
			out = append(out, c)
		}
	}
	return out
}

// apiSources is what the API changes the sources through.
func (a *app) apiSources() control.Sources {
	if a.replay != nil {
		return replaySources{a.sources}
	}
	return a.sources
}
