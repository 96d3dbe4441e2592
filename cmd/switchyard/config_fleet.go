package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"time"
)

// The keys a fleet needs (one Switchyard per show under systemd or
// Kubernetes): how long the drain on SIGTERM may take, the logs' format and
// level, and the show's name that tells one show's logs and metrics from
// another's.

// LogConfig is the log's format and level.
type LogConfig struct {
	// Format is text (slog's key=value, the default) or json (one JSON
	// object a line, for a log collector).
	Format string `yaml:"format"`
	// Level is debug, info (the default), warn or error.
	Level string `yaml:"level"`
}

// ShowConfig names the show.
type ShowConfig struct {
	// Name is in every log line ("show") and on /metrics
	// (switchyard_show_info{show="…"}); default the host name (in
	// Kubernetes, the pod's).
	Name string `yaml:"name"`
}

// defaultShutdownTimeout is how long the drain on SIGTERM may take by
// default: a recording's last fragment and edit lists, and the outputs'
// clean end, take well under a second on a healthy machine; the rest is
// room for a slow disk. Orchestrators wait longer than it before they
// kill (systemd's TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds).
const defaultShutdownTimeout = 20 * time.Second

// showNamePattern: a host name's characters, so the name is the same in a
// log line, a metrics label and a file name.
var showNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// validateFleet checks log, show and shutdown_timeout.
func (c *Config) validateFleet() error {
	switch c.Log.Format {
	case "text", "json":
	default:
		return &ConfigError{"log.format", fmt.Sprintf("%q: use text or json", c.Log.Format)}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return &ConfigError{"log.level", fmt.Sprintf("%q: use debug, info, warn or error", c.Log.Level)}
	}
	if c.Show.Name != "" && !showNamePattern.MatchString(c.Show.Name) {
		return &ConfigError{"show.name", fmt.Sprintf("%q: use up to 63 letters, digits, dots, dashes and underscores, starting with a letter or digit", c.Show.Name)}
	}
	if d := time.Duration(c.ShutdownTimeout); d < time.Second || d > 10*time.Minute {
		return &ConfigError{"shutdown_timeout", fmt.Sprintf("%s must be between 1s and 10m", d)}
	}
	return nil
}

// showName is show.name, or the host name when it is empty.
func (c *Config) showName() string {
	if c.Show.Name != "" {
		return c.Show.Name
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "switchyard"
}

// newLogger builds the root logger of log.format and log.level (a level
// given with -log-level wins), every line carrying the show's name.
func newLogger(w io.Writer, lc LogConfig, levelFlag, show string) (*slog.Logger, error) {
	level := lc.Level
	if levelFlag != "" {
		level = levelFlag
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if lc.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("show", show), nil
}
