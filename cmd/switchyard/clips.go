package main

import (
	"fmt"
	"path/filepath"
	"time"

	"switchyard/ingest"
	"switchyard/ingest/clip"
	"switchyard/internal/fault"
	"switchyard/internal/show"
	"switchyard/mixer/bus"
)

// ClipsConfig is the clips key: clip sources (url file:NAME) play files of
// data_dir/clips, or absolute paths inside Dirs (docs/clips.md).
type ClipsConfig struct {
	// Dirs are more folders clip sources may name files in, absolute.
	Dirs []string `yaml:"dirs"`
	// MaxUploadMB caps PUT /api/v1/clips/{file}; default 2048.
	MaxUploadMB int `yaml:"max_upload_mb"`
	// StingerMaxMB bounds a stinger transition's decoded pictures (the
	// mixer holds them whole); default 1024.
	StingerMaxMB int `yaml:"stinger_max_mb"`
}

func (c *Config) validateClips() error {
	for i, d := range c.Clips.Dirs {
		if !filepath.IsAbs(d) {
			return &ConfigError{fmt.Sprintf("clips.dirs[%d]", i), fmt.Sprintf("%q must be an absolute folder", d)}
		}
	}
	if c.Clips.MaxUploadMB < 0 || c.Clips.MaxUploadMB > 64<<10 {
		return &ConfigError{"clips.max_upload_mb", fmt.Sprintf("%d must be 0 (2048) to 65536", c.Clips.MaxUploadMB)}
	}
	if c.Clips.StingerMaxMB < 0 || c.Clips.StingerMaxMB > 16<<10 {
		return &ConfigError{"clips.stinger_max_mb", fmt.Sprintf("%d must be 0 (1024) to 16384", c.Clips.StingerMaxMB)}
	}
	return nil
}

// clipDirs are the folders clip sources read.
func (c *Config) clipDirs() clip.Dirs {
	return clip.Dirs{Clips: filepath.Join(c.DataDir, "clips"), Allowed: c.Clips.Dirs}
}

// clipLibrary is the clips folder behind /api/v1/clips.
func (c *Config) clipLibrary() *clip.Library {
	return &clip.Library{Dir: filepath.Join(c.DataDir, "clips"), MaxBytes: int64(c.Clips.MaxUploadMB) << 20}
}

// wireClips hands the clip players' maker to the show's sources: files
// resolved inside the clip folders, on_end next back through the mixer's
// default transition.
func (a *app) wireClips(cfg *Config) {
	dirs := cfg.clipDirs()
	a.sources.SetClips(show.Clips{
		New: func(sc ingest.SourceConfig, ended func()) (show.ClipPlayer, error) {
			names, err := clip.Files(sc.URL)
			if err != nil {
				return nil, &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: %v", sc.Name, err)}
			}
			names = append(names, sc.Files...)
			files := make([]string, len(names))
			for i, n := range names {
				if files[i], err = dirs.Resolve(n); err != nil {
					return nil, err
				}
			}
			name := sc.Name
			return clip.New(clip.Config{Source: sc.Name, Files: files, Names: names, Loop: sc.Loop, OnEnd: sc.OnEnd, Ended: ended,
				EndDelay: func() time.Duration { return a.mixer.Switcher().SourceStats(name).JitterBuffer }},
				a.registry, a.log)
		},
		Back: func(source string) error {
			if _, err := a.mixer.Switcher().SetPreview(source); err != nil {
				return err
			}
			_, err := a.mixer.Switcher().Auto(bus.Transition{})
			return err
		},
	})
}
