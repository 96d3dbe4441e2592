package main

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"switchyard/ingest"
	"switchyard/ingest/gen"
	"switchyard/output/push"
	"switchyard/output/record"
)

//go:embed demo.yaml
var demoConfig []byte

// Config is the whole show file (DESIGN §4).
type Config struct {
	HTTP      HTTPConfig            `yaml:"http"`
	RTMP      ListenConfig          `yaml:"rtmp"`
	RTSP      ListenConfig          `yaml:"rtsp"`
	Program   ProgramConfig         `yaml:"program"`
	DataDir   string                `yaml:"data_dir"`
	Sources   []ingest.SourceConfig `yaml:"sources"`
	Outputs   []OutputConfig        `yaml:"outputs"`
	Record    RecordConfig          `yaml:"record"`
	TLS       TLSConfig             `yaml:"tls"`
	Multiview MultiviewConfig       `yaml:"multiview"`
}

// MultiviewConfig is the monitor wall at /multiview.mjpeg.
type MultiviewConfig struct {
	Width   int `yaml:"width"`
	Height  int `yaml:"height"`
	FPS     int `yaml:"fps"`
	Quality int `yaml:"quality"` // JPEG, 1–100
}

// OutputConfig is a destination; enabled defaults to true.
type OutputConfig struct {
	Name    string `yaml:"name"`
	URL     string `yaml:"url"`
	Enabled *bool  `yaml:"enabled"`
	// VideoBitrate, below the program's, sends this output a second encode.
	VideoBitrate Bitrate `yaml:"video_bitrate"`
}

// Push returns the output's runtime configuration.
func (o OutputConfig) Push() push.Config {
	return push.Config{Name: o.Name, URL: o.URL, Enabled: o.Enabled == nil || *o.Enabled, VideoBitrate: int(o.VideoBitrate)}
}

// RecordConfig sets recording defaults.
type RecordConfig struct {
	// Program and ISO are what POST /recording/start records when its body
	// does not say.
	Program bool `yaml:"program"`
	ISO     bool `yaml:"iso"`
	// Fragment is the longest fMP4 fragment: at most this much is lost in a crash.
	Fragment Duration `yaml:"fragment"`
	// MinFreeMB: recording refuses to start, and stops cleanly, below this free space.
	MinFreeMB int `yaml:"min_free_mb"`
	// Timecode is every file's start timecode: time-of-day (the session's
	// start by the clock), zero, or a fixed "HH:MM:SS:FF".
	Timecode string `yaml:"timecode"`
}

// TLSConfig configures TLS for rtmps:// destinations.
type TLSConfig struct {
	// CAFile is a PEM file of extra CA certificates trusted beside the
	// system roots (a private relay's CA).
	CAFile string `yaml:"ca_file"`
}

// HTTPConfig configures the control server.
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	Token  string `yaml:"token"`
}

// ListenConfig is a protocol server's listen address.
type ListenConfig struct {
	Listen string `yaml:"listen"`
}

// ProgramConfig is the program format.
type ProgramConfig struct {
	Width        int      `yaml:"width"`
	Height       int      `yaml:"height"`
	FPS          float64  `yaml:"fps"`
	VideoBitrate Bitrate  `yaml:"video_bitrate"`
	AudioBitrate Bitrate  `yaml:"audio_bitrate"`
	Keyint       Duration `yaml:"keyint"`
	// PreviewBitrate, when set, also encodes the preview bus for
	// rtsp://HOST:8554/preview (a confidence monitor).
	PreviewBitrate Bitrate `yaml:"preview_bitrate"`
	// JitterBuffer is how long each source's pictures and sound wait past
	// the earliest they could be shown, so a jittery feed plays evenly
	// (unset: 2 frames).
	JitterBuffer Duration `yaml:"jitter_buffer"`
}

// FPSRational returns the frame rate as a fraction: 29.97 → 30000/1001.
func (p ProgramConfig) FPSRational() (num, den int) {
	for _, ntsc := range []int{24, 30, 60} {
		if math.Abs(p.FPS-float64(ntsc)*1000/1001) < 0.01 {
			return ntsc * 1000, 1001
		}
	}
	return int(math.Round(p.FPS)), 1
}

// Bitrate in bits per second, written as 4500k, 4.5M or 4500000.
type Bitrate int

// UnmarshalYAML parses k/M suffixes.
func (b *Bitrate) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseBitrate(n.Value)
	if err != nil {
		return err
	}
	*b = Bitrate(v)
	return nil
}

// ParseBitrate reads "4500k", "4.5M" or "4500000".
func ParseBitrate(s string) (int, error) {
	s = strings.TrimSpace(s)
	mul := 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mul, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mul, s = 1e6, s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bitrate %q: use a number with k or M, like 4500k", s)
	}
	return int(f * mul), nil
}

// Duration is a time.Duration written as "2s", "500ms".
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("duration %q: use a value like 2s or 500ms", n.Value)
	}
	*d = Duration(v)
	return nil
}

// ConfigError names the key at fault.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Msg }

// LoadConfig reads the show from path (the embedded demo show when empty),
// applies SWITCHYARD_* environment overrides and validates it.
func LoadConfig(path string, environ []string) (*Config, error) {
	data := demoConfig
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		data = b
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, err
	}
	if err := cfg.applyEnv(environ); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// defaults returns the configuration every show starts from.
func defaults() Config {
	return Config{
		HTTP:      HTTPConfig{Listen: "127.0.0.1:8080"},
		RTMP:      ListenConfig{Listen: ":1935"},
		RTSP:      ListenConfig{Listen: ":8554"},
		Program:   ProgramConfig{Width: 1280, Height: 720, FPS: 30, VideoBitrate: 4_500_000, AudioBitrate: 160_000, Keyint: Duration(2 * time.Second)},
		DataDir:   "./data",
		Record:    RecordConfig{Program: true, ISO: true, Fragment: Duration(time.Second), MinFreeMB: 256, Timecode: record.TimecodeTimeOfDay},
		Multiview: MultiviewConfig{Width: 960, Height: 540, FPS: 10, Quality: 75},
	}
}

// ParseConfig decodes YAML strictly over the defaults: an unknown key is an
// error that names it.
func ParseConfig(data []byte) (*Config, error) {
	cfg := defaults()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(root.Content) == 0 {
		return &cfg, nil
	}
	if err := checkKeys(root.Content[0], reflect.TypeOf(cfg), ""); err != nil {
		return nil, err
	}
	if err := root.Content[0].Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return nil, fmt.Errorf("config: %s", te.Errors[0])
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return &cfg, nil
}

// checkKeys walks a YAML mapping against the struct type it decodes into and
// reports the first key the struct does not have, with its full path.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			f, ok := fieldByTag(t, k)
			key := joinKey(path, k)
			if !ok {
				return &ConfigError{Key: key, Msg: fmt.Sprintf("unknown key (line %d)", n.Content[i].Line)}
			}
			if err := checkKeys(n.Content[i+1], f.Type, key); err != nil {
				return err
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// applyEnv sets scalar keys from SWITCHYARD_* variables: SWITCHYARD_HTTP_LISTEN
// sets http.listen, SWITCHYARD_PROGRAM_VIDEO_BITRATE sets program.video_bitrate.
func (c *Config) applyEnv(environ []string) error {
	fields := map[string]reflect.Value{}
	collectScalars(reflect.ValueOf(c).Elem(), "SWITCHYARD", fields)
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "SWITCHYARD_") {
			continue
		}
		f, ok := fields[k]
		if !ok {
			return &ConfigError{Key: k, Msg: "unknown environment variable (keys: " + strings.Join(sortedKeys(fields), ", ") + ")"}
		}
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(v), &node); err != nil || len(node.Content) == 0 {
			node = yaml.Node{Kind: yaml.ScalarNode, Value: v}
		} else {
			node = *node.Content[0]
		}
		if err := node.Decode(f.Addr().Interface()); err != nil {
			return &ConfigError{Key: k, Msg: err.Error()}
		}
	}
	return nil
}

func collectScalars(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		key := prefix + "_" + strings.ToUpper(name)
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			collectScalars(fv, key, out)
		case reflect.Slice, reflect.Map:
		default:
			out[key] = fv
		}
	}
}

func sortedKeys(m map[string]reflect.Value) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Validate checks values and names the key at fault.
func (c *Config) Validate() error {
	p := c.Program
	switch {
	case p.Width < 16 || p.Width > 7680 || p.Width%2 != 0:
		return &ConfigError{"program.width", fmt.Sprintf("%d must be even, between 16 and 7680", p.Width)}
	case p.Height < 16 || p.Height > 4320 || p.Height%2 != 0:
		return &ConfigError{"program.height", fmt.Sprintf("%d must be even, between 16 and 4320", p.Height)}
	case p.FPS < 1 || p.FPS > 120:
		return &ConfigError{"program.fps", fmt.Sprintf("%g must be between 1 and 120", p.FPS)}
	case p.VideoBitrate < 100_000:
		return &ConfigError{"program.video_bitrate", "must be at least 100k"}
	case p.AudioBitrate < 32_000 || p.AudioBitrate > 512_000:
		return &ConfigError{"program.audio_bitrate", "must be between 32k and 512k"}
	case time.Duration(p.Keyint) < 100*time.Millisecond || time.Duration(p.Keyint) > 10*time.Second:
		return &ConfigError{"program.keyint", "must be between 100ms and 10s"}
	case p.PreviewBitrate != 0 && p.PreviewBitrate < 100_000:
		return &ConfigError{"program.preview_bitrate", "must be at least 100k (or 0: no preview output)"}
	case p.JitterBuffer < 0 || time.Duration(p.JitterBuffer) > time.Second:
		return &ConfigError{"program.jitter_buffer", "must be between 0 (2 frames) and 1s"}
	}
	switch mv := c.Multiview; {
	case mv.Width < 320 || mv.Width > 3840 || mv.Width%2 != 0:
		return &ConfigError{"multiview.width", fmt.Sprintf("%d must be even, between 320 and 3840", mv.Width)}
	case mv.Height < 180 || mv.Height > 2160 || mv.Height%2 != 0:
		return &ConfigError{"multiview.height", fmt.Sprintf("%d must be even, between 180 and 2160", mv.Height)}
	case mv.FPS < 1 || mv.FPS > 30:
		return &ConfigError{"multiview.fps", fmt.Sprintf("%d must be between 1 and 30", mv.FPS)}
	case mv.Quality < 1 || mv.Quality > 100:
		return &ConfigError{"multiview.quality", fmt.Sprintf("%d must be between 1 and 100", mv.Quality)}
	}
	for k, v := range map[string]string{"http.listen": c.HTTP.Listen, "rtmp.listen": c.RTMP.Listen, "rtsp.listen": c.RTSP.Listen} {
		if _, port, ok := strings.Cut(v, ":"); !ok || port == "" {
			return &ConfigError{k, fmt.Sprintf("%q must be HOST:PORT or :PORT", v)}
		}
	}
	if c.DataDir == "" {
		return &ConfigError{"data_dir", "must not be empty"}
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		if err := s.Validate(); err != nil {
			var fe *ingest.FieldError
			if errors.As(err, &fe) {
				return &ConfigError{key + "." + fe.Field, fe.Msg}
			}
			return &ConfigError{key, err.Error()}
		}
		if seen[s.Name] {
			return &ConfigError{key + ".name", fmt.Sprintf("source %q is listed twice", s.Name)}
		}
		if s.Name == "black" || s.Name == "program" || s.Name == "preview" {
			return &ConfigError{key + ".name", fmt.Sprintf("%q is reserved", s.Name)}
		}
		seen[s.Name] = true
		if s.URL != "" {
			if _, _, err := gen.Kind(s.URL); err != nil {
				return &ConfigError{key + ".url", err.Error()}
			}
		}
	}
	names := map[string]bool{}
	for i, o := range c.Outputs {
		key := fmt.Sprintf("outputs[%d]", i)
		if err := o.Push().Validate(); err != nil {
			var fe *push.FieldError
			if errors.As(err, &fe) {
				return &ConfigError{key + "." + fe.Field, fe.Msg}
			}
			return &ConfigError{key, err.Error()}
		}
		if names[o.Name] {
			return &ConfigError{key + ".name", fmt.Sprintf("output %q is listed twice", o.Name)}
		}
		if o.VideoBitrate != 0 && o.VideoBitrate >= c.Program.VideoBitrate {
			return &ConfigError{key + ".video_bitrate", "must be below program.video_bitrate (a lower second encode)"}
		}
		names[o.Name] = true
	}
	if f := time.Duration(c.Record.Fragment); f < 100*time.Millisecond || f > 10*time.Second {
		return &ConfigError{"record.fragment", "must be between 100ms and 10s"}
	}
	if c.Record.MinFreeMB < 1 {
		return &ConfigError{"record.min_free_mb", "must be at least 1"}
	}
	if err := record.ParseTimecode(c.Record.Timecode); err != nil {
		return &ConfigError{"record.timecode", err.Error()}
	}
	if c.TLS.CAFile != "" {
		if _, err := os.Stat(c.TLS.CAFile); err != nil {
			return &ConfigError{"tls.ca_file", err.Error()}
		}
	}
	return nil
}

func timeDuration(d Duration) time.Duration { return time.Duration(d) }
