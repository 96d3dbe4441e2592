package main

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"switchyard/ingest"
	"switchyard/ingest/gen"
	"switchyard/ingest/replay"
	"switchyard/internal/fault"
	"switchyard/internal/show"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer"
	"switchyard/output/push"
	"switchyard/output/record"
	"switchyard/output/tally"
)

//go:embed demo.yaml
var demoConfig []byte

// Config is the whole show file.
type Config struct {
	HTTP      HTTPConfig            `yaml:"http"`
	RTMP      ListenConfig          `yaml:"rtmp"`
	RTSP      RTSPConfig            `yaml:"rtsp"`
	SRT       SRTConfig             `yaml:"srt"`
	WebRTC    WebRTCConfig          `yaml:"webrtc"`
	Program   ProgramConfig         `yaml:"program"`
	DataDir   string                `yaml:"data_dir"`
	Sources   []ingest.SourceConfig `yaml:"sources"`
	Outputs   []OutputConfig        `yaml:"outputs"`
	Record    RecordConfig          `yaml:"record"`
	TLS       TLSConfig             `yaml:"tls"`
	Multiview MultiviewConfig       `yaml:"multiview"`
	Buses     BusesConfig           `yaml:"buses"`
	// Tally are the TSL UMD receivers the tally is sent to (output/tally);
	// tallyConfigs names those without a name.
	Tally []tally.Config `yaml:"tally"`
	// TallyKeyers lights a source red while a PiP keyer showing it is on
	// air (default true).
	TallyKeyers bool `yaml:"tally_keyers"`
	// Macros are named lists of API calls (config_macros.go).
	Macros []MacroConfig `yaml:"macros"`
	// HLS is the LL-HLS origin at /hls/ (config_hls.go).
	HLS HLSConfig `yaml:"hls"`
	// Replay is the instant replay (config_replay.go).
	Replay ReplayConfig `yaml:"replay"`
	// Clips: the folders clip sources may read, the upload cap (clips.go).
	Clips ClipsConfig `yaml:"clips"`
	// ReadKey guards watching: the program, the preview and every source
	// without its own read_key, over RTSP (the password, any user) and RTMP
	// play ("program?key=…"). Empty: open to anyone who reaches the ports.
	ReadKey string `yaml:"read_key"`
	// SysmonHold keeps the Go runtime's monitor thread out of its 20 µs
	// polling, which this bursty, cgo-heavy work otherwise keeps it in
	// (internal/sysmon); false turns it off (SWITCHYARD_SYSMON_HOLD=0).
	SysmonHold bool `yaml:"sysmon_hold"`

	// AssetsDir holds the files keyers and gen://image may name (images,
	// fonts); default data_dir/assets. Nothing outside it is read.
	AssetsDir string `yaml:"assets_dir"`

	// Log, Show and ShutdownTimeout are for a fleet (config_fleet.go).
	Log             LogConfig  `yaml:"log"`
	Show            ShowConfig `yaml:"show"`
	ShutdownTimeout Duration   `yaml:"shutdown_timeout"`
}

// BusesConfig is what the program and preview buses show when the show
// starts: a source's name, or "black" (the default).
type BusesConfig struct {
	Program string `yaml:"program"`
	Preview string `yaml:"preview"`
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
	VideoBitrate media.Bitrate `yaml:"video_bitrate"`
}

// Push returns the output's runtime configuration.
func (o OutputConfig) Push() push.Config {
	return push.Config{Name: o.Name, URL: o.URL, Enabled: o.Enabled == nil || *o.Enabled, VideoBitrate: o.VideoBitrate}
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

// HTTPConfig configures the control server (config_http.go validates it).
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	// Token is one admin token: a shorthand for an entry of Tokens named admin.
	Token string `yaml:"token"`
	// Tokens are the API's credentials, each with a role: admin, director,
	// audio or viewer. A list of entries: the config file only.
	Tokens []TokenConfig `yaml:"tokens"`
	// Hosts are the Host names a loopback listener answers to besides
	// 127.0.0.1, localhost and [::1] (a name in /etc/hosts, a proxy's).
	Hosts []string `yaml:"hosts"`
	// AllowedOrigins may change the show from their pages besides the
	// panel's own origin, e.g. "http://companion.local:8000".
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Insecure serves the API on a non-loopback address with no token.
	Insecure bool `yaml:"insecure"`
}

// ListenConfig is a protocol server's listen address and its cap on open
// connections.
type ListenConfig struct {
	Listen string `yaml:"listen"`
	// MaxConnections: connections over it are refused (default 256).
	MaxConnections int `yaml:"max_connections"`
}

// RTSPConfig is the RTSP server: TCP on listen, and UDP (RTP and RTCP on
// two consecutive ports, RTP even) for publishers and readers that ask for
// it; both UDP keys empty turn UDP off.
type RTSPConfig struct {
	Listen  string `yaml:"listen"`
	UDPRTP  string `yaml:"udp_rtp"`
	UDPRTCP string `yaml:"udp_rtcp"`
	// MaxConnections: connections over it are refused (default 256).
	MaxConnections int `yaml:"max_connections"`
}

// ProgramConfig is the program format.
type ProgramConfig struct {
	Width        int           `yaml:"width"`
	Height       int           `yaml:"height"`
	FPS          float64       `yaml:"fps"`
	VideoBitrate media.Bitrate `yaml:"video_bitrate"`
	AudioBitrate media.Bitrate `yaml:"audio_bitrate"`
	Keyint       Duration      `yaml:"keyint"`
	// PreviewBitrate, when set, also encodes the preview bus for
	// rtsp://HOST:8554/preview (a confidence monitor).
	PreviewBitrate media.Bitrate `yaml:"preview_bitrate"`
	// JitterBuffer is how long each source's pictures and sound wait past
	// the earliest they could be shown, so a jittery feed plays evenly:
	// auto (the default): each source's adaptive buffer, following its
	// measured lateness; or a duration for every source (0: 2 frames). A
	// source's own jitter_buffer_ms still wins.
	JitterBuffer JitterBuffer `yaml:"jitter_buffer"`
	// Encoder is the program's H.264 encoder: x264 (the CPU; default), or
	// a GPU's through FFmpeg: nvenc (NVIDIA), vaapi (Intel/AMD), qsv
	// (Intel Quick Sync). A GPU named and not there stops the start.
	Encoder string `yaml:"encoder"`
	// Preset is x264's speed against quality (ultrafast … placebo; default
	// veryfast): a faster one frees CPU for more or larger sources at the
	// same bitrate, for a softer picture. x264 only.
	Preset string `yaml:"preset"`
	// Decode is where the sources are decoded: cpu (default), auto (a GPU
	// when one is there, else the CPU, said once in the log), cuda, vaapi
	// or qsv.
	Decode string `yaml:"decode"`
	// HWDevice is the GPU for vaapi and qsv (a render node; default
	// /dev/dri/renderD128) or cuda (its index; default 0).
	HWDevice string `yaml:"hw_device"`
}

// JitterBuffer is program.jitter_buffer: a duration, or auto (-1).
type JitterBuffer time.Duration

// UnmarshalYAML parses Go duration syntax or auto.
func (j *JitterBuffer) UnmarshalYAML(n *yaml.Node) error {
	if strings.EqualFold(strings.TrimSpace(n.Value), "auto") {
		*j = JitterBuffer(mixer.AutoJitter)
		return nil
	}
	var d Duration
	if err := d.UnmarshalYAML(n); err != nil {
		return fmt.Errorf("%w, or auto", err)
	}
	*j = JitterBuffer(d)
	return nil
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

// defaultMaxConnections caps the connections each media server (RTSP,
// RTMP) holds open. A show has tens of cameras and a handful of players,
// far below it; two servers at 256 hold at most 512 descriptors, under
// half of the 1024 a process gets by default on Linux, so a flood on the
// media ports cannot take the descriptors that the API, the recordings
// and the outputs need.
const defaultMaxConnections = 256

// defaults returns the configuration every show starts from.
func defaults() Config {
	return Config{
		HTTP:       HTTPConfig{Listen: "127.0.0.1:8080"},
		RTMP:       ListenConfig{Listen: ":1935", MaxConnections: defaultMaxConnections},
		RTSP:       RTSPConfig{Listen: ":8554", UDPRTP: ":8000", UDPRTCP: ":8001", MaxConnections: defaultMaxConnections},
		SRT:        SRTConfig{Listen: ":8890", Latency: Duration(120 * time.Millisecond), MaxConnections: defaultMaxConnections},
		WebRTC:     WebRTCConfig{UDP: ":8189"},
		Program:    ProgramConfig{Width: 1280, Height: 720, FPS: 30, VideoBitrate: 4_500_000, AudioBitrate: 160_000, Keyint: Duration(2 * time.Second), JitterBuffer: JitterBuffer(mixer.AutoJitter)},
		DataDir:    "./data",
		Record:     RecordConfig{Program: true, ISO: true, Fragment: Duration(time.Second), MinFreeMB: 256, Timecode: record.TimecodeTimeOfDay},
		HLS:        HLSConfig{Enabled: true},
		Replay:     ReplayConfig{Buffer: Duration(replay.DefaultBuffer), MaxBytes: replay.DefaultMaxBytes, DiskMaxBytes: replay.DefaultDiskMaxBytes, Slow: replay.SlowRepeat, OnEnd: replay.EndHold},
		Multiview:  MultiviewConfig{Width: 960, Height: 540, FPS: 10, Quality: 75},
		SysmonHold: true, TallyKeyers: true,
		Log: LogConfig{Format: "text", Level: "info"}, ShutdownTimeout: Duration(defaultShutdownTimeout),
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
	if err := root.Content[0].Decode(&cfg); err != nil { // checkKeys found every error it can name
		return nil, fmt.Errorf("config: %w", err)
	}
	return &cfg, nil
}

// Validate checks values and names the key at fault.
func (c *Config) Validate() error {
	if err := c.validateFleet(); err != nil {
		return err
	}
	p := c.Program
	switch {
	case p.Width < 16 || p.Width > 7680 || p.Width%2 != 0:
		return &ConfigError{"program.width", fmt.Sprintf("%d must be even, between 16 and 7680", p.Width)}
	case p.Height < 16 || p.Height > 4320 || p.Height%2 != 0:
		return &ConfigError{"program.height", fmt.Sprintf("%d must be even, between 16 and 4320", p.Height)}
	case p.FPS < 1 || p.FPS > 120:
		return &ConfigError{"program.fps", fmt.Sprintf("%g must be between 1 and 120", p.FPS)}
	case p.VideoBitrate < 100_000 || p.VideoBitrate > MaxBitrate:
		return &ConfigError{"program.video_bitrate", "must be from 100k to 200M"}
	case p.AudioBitrate < 32_000 || p.AudioBitrate > 512_000:
		return &ConfigError{"program.audio_bitrate", "must be between 32k and 512k"}
	case time.Duration(p.Keyint) < 100*time.Millisecond || time.Duration(p.Keyint) > 10*time.Second:
		return &ConfigError{"program.keyint", "must be between 100ms and 10s"}
	case p.PreviewBitrate != 0 && (p.PreviewBitrate < 100_000 || p.PreviewBitrate > MaxBitrate):
		return &ConfigError{"program.preview_bitrate", "must be from 100k to 200M (or 0: no preview output)"}
	case time.Duration(p.JitterBuffer) != mixer.AutoJitter && (p.JitterBuffer < 0 || time.Duration(p.JitterBuffer) > mixer.MaxJitterBuffer):
		return &ConfigError{"program.jitter_buffer", "must be auto (0: the same) or a duration up to 1s"}
	case !slices.Contains([]string{"", "x264", "nvenc", "vaapi", "qsv"}, p.Encoder):
		return &ConfigError{"program.encoder", fmt.Sprintf("%q must be x264 (the CPU), nvenc, vaapi or qsv", p.Encoder)}
	case p.Preset != "" && !slices.Contains(av.X264Presets, p.Preset):
		return &ConfigError{"program.preset", fmt.Sprintf("%q must be one of x264's presets: %s", p.Preset, strings.Join(av.X264Presets, ", "))}
	case p.Preset != "" && p.Encoder != "" && p.Encoder != "x264":
		return &ConfigError{"program.preset", fmt.Sprintf("is x264's; the %s encoder has none: remove program.preset or set program.encoder: x264", p.Encoder)}
	case !slices.Contains([]string{"", "cpu", "auto", "cuda", "vaapi", "qsv"}, p.Decode):
		return &ConfigError{"program.decode", fmt.Sprintf("%q must be cpu, auto, cuda, vaapi or qsv", p.Decode)}
	case strings.ContainsRune(p.HWDevice, 0) || len(p.HWDevice) > 256:
		return &ConfigError{"program.hw_device", "must be a device path (e.g. /dev/dri/renderD128) or a GPU index"}
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
	if err := c.RTSP.validate(); err != nil {
		return err
	}
	if err := c.SRT.validate(); err != nil {
		return err
	}
	if err := c.WebRTC.validate(); err != nil {
		return err
	}
	for k, v := range map[string]int{"rtsp.max_connections": c.RTSP.MaxConnections, "rtmp.max_connections": c.RTMP.MaxConnections,
		"srt.max_connections": c.SRT.MaxConnections} {
		if v < 1 || v > 65535 {
			return &ConfigError{k, fmt.Sprintf("%d must be between 1 and 65535 (the default is %d)", v, defaultMaxConnections)}
		}
	}
	if c.DataDir == "" {
		return &ConfigError{"data_dir", "must not be empty"}
	}
	if err := c.validateClips(); err != nil {
		return err
	}
	if err := c.validateHLS(); err != nil {
		return err
	}
	if err := c.validateReplay(); err != nil {
		return err
	}
	if err := c.validateHTTP(); err != nil {
		return err
	}
	if err := c.validateCaps(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		if err := checkSource(s); err != nil { // the same check as the API's
			var fe *fault.Invalid
			if errors.As(err, &fe) {
				return &ConfigError{key + "." + fe.Field, fe.Msg}
			}
			return &ConfigError{key, err.Error()}
		}
		if seen[s.Name] {
			return &ConfigError{key + ".name", fmt.Sprintf("source %q is listed twice", s.Name)}
		}
		seen[s.Name] = true
		if err := checkFollows(c.Sources[:i], s); err != "" {
			return &ConfigError{key + ".follows", err}
		}
	}
	for key, name := range map[string]string{"buses.program": c.Buses.Program, "buses.preview": c.Buses.Preview} {
		if name != "" && name != "black" && !seen[name] {
			return &ConfigError{key, fmt.Sprintf("%q is not one of the show's sources (or black)", name)}
		}
	}
	names := map[string]bool{}
	for i, o := range c.Outputs {
		key := fmt.Sprintf("outputs[%d]", i)
		if err := o.Push().Validate(); err != nil {
			var fe *fault.Invalid
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
	if err := c.validateTally(); err != nil {
		return err
	}
	if err := c.validateMacros(); err != nil {
		return err
	}
	if f := time.Duration(c.Record.Fragment); f < 100*time.Millisecond || f > 10*time.Second {
		return &ConfigError{"record.fragment", "must be between 100ms and 10s"}
	}
	if c.Record.MinFreeMB < 1 || c.Record.MinFreeMB > MaxMinFreeMB {
		return &ConfigError{"record.min_free_mb", fmt.Sprintf("must be from 1 to %d", MaxMinFreeMB)}
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

func timeDuration[D Duration | JitterBuffer](d D) time.Duration { return time.Duration(d) }

// checkFollows checks a source's follows against the sources listed before
// it (show.Sources checks it again as they are added).
func checkFollows(before []ingest.SourceConfig, s ingest.SourceConfig) string {
	if s.Follows == "" {
		return ""
	}
	for _, b := range before {
		if b.Name == s.Follows {
			if b.Follows != "" {
				return fmt.Sprintf("source %s: follows %s, which follows %s itself; follow %s", s.Name, b.Name, b.Follows, b.Follows)
			}
			return ""
		}
	}
	return fmt.Sprintf("source %s: follows %q, which is not listed before it in sources", s.Name, s.Follows)
}

// MaxBitrate is the highest program or preview bitrate a show file may give.
const MaxBitrate = 200_000_000

// MaxMinFreeMB bounds record.min_free_mb (16 TiB), so it cannot wrap
// around when turned into bytes.
const MaxMinFreeMB = 16 << 20

// assetsPath is the assets folder: assets_dir, or data_dir/assets.
func (c *Config) assetsPath() string {
	if c.AssetsDir != "" {
		return c.AssetsDir
	}
	return filepath.Join(c.DataDir, "assets")
}

// validate checks the UDP ports: both or neither, RTP even and RTCP the
// next port (gortsplib's server requires both, as RFC 3550 §11 advises).
func (r RTSPConfig) validate() error {
	switch {
	case r.UDPRTP == "" && r.UDPRTCP == "":
		return nil // UDP off
	case r.UDPRTCP == "":
		return &ConfigError{"rtsp.udp_rtcp", fmt.Sprintf("must be set with rtsp.udp_rtp %q (the next port), or both left empty to turn UDP off", r.UDPRTP)}
	case r.UDPRTP == "":
		return &ConfigError{"rtsp.udp_rtp", fmt.Sprintf("must be set with rtsp.udp_rtcp %q (the port before), or both left empty to turn UDP off", r.UDPRTCP)}
	}
	port := func(key, v string) (string, int, error) {
		host, p, err := net.SplitHostPort(v)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil || n < 1 || n > 65535 {
			return "", 0, &ConfigError{key, fmt.Sprintf("%q must be HOST:PORT or :PORT with a port from 1 to 65535", v)}
		}
		return host, n, nil
	}
	rtpHost, rtp, err := port("rtsp.udp_rtp", r.UDPRTP)
	if err != nil {
		return err
	}
	rtcpHost, rtcp, err := port("rtsp.udp_rtcp", r.UDPRTCP)
	if err != nil {
		return err
	}
	if rtp%2 != 0 || rtp == 65534 {
		return &ConfigError{"rtsp.udp_rtp", fmt.Sprintf("port %d must be even and below 65534 (RTP takes an even port, RTCP the next)", rtp)}
	}
	if rtcp != rtp+1 || rtcpHost != rtpHost {
		return &ConfigError{"rtsp.udp_rtcp", fmt.Sprintf("%q must be the same host as rtsp.udp_rtp %q, port %d (the RTP port + 1)", r.UDPRTCP, r.UDPRTP, rtp+1)}
	}
	return nil
}

// checkSource is the one check of a source's settings (show.CheckSource),
// with the generators' check of gen:// URLs.
func checkSource(cfg ingest.SourceConfig) error { return show.CheckSource(cfg, gen.Check) }
