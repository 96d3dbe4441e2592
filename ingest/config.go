package ingest

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchyard/internal/fault"
	"switchyard/internal/protocols/srt"
	"switchyard/internal/redact"
	"switchyard/media"
)

// NamePattern is what a source name must match.
var NamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// SourceConfig describes one source.
type SourceConfig struct {
	Name string `yaml:"name" json:"name"`
	// URL is empty for a pushed source, or gen://… for a built-in generator.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// PublishKey, when set, must be given by a publisher (RTMP "name?key=…",
	// RTSP password).
	PublishKey string `yaml:"publish_key,omitempty" json:"-"`
	// ReadKey, when set, must be given by whoever watches the source's
	// re-served stream (RTSP password, RTMP "name?key=…"); unset, the
	// show's read_key applies.
	ReadKey string `yaml:"read_key,omitempty" json:"-"`
	// Takeover lets a new publisher replace a live one (an encoder that
	// reconnected before its old connection timed out); otherwise the
	// newcomer is refused and the live one keeps going.
	Takeover bool `yaml:"takeover,omitempty" json:"takeover,omitempty"`
	// Transport of a pulled RTSP camera: tcp (the default) or udp.
	Transport string `yaml:"transport,omitempty" json:"transport,omitempty"`
	// JitterBufferMS is the source's own jitter buffer in milliseconds (a
	// feed over the internet needs more than the cameras in the room), or
	// auto (JitterAuto): adaptive, following the source's measured
	// lateness; 0 takes the program's (program.jitter_buffer).
	JitterBufferMS JitterMS `yaml:"jitter_buffer_ms,omitempty" json:"jitter_buffer_ms,omitempty"`
	// Follows names a source whose jitter buffer this one uses (a
	// microphone under its camera: their sound and pictures stay in sync
	// whatever their networks). The followed source must be in the show
	// before it and follow none itself.
	Follows string `yaml:"follows,omitempty" json:"follows,omitempty"`
	// Label is the source's display text on tally displays and the web
	// tally page; empty: its name.
	Label string `yaml:"label,omitempty" json:"label,omitempty"`
	// TallyIndex is the source's display index (address) on tally
	// receivers, 1–65534; 0: its position in the show, from 1.
	TallyIndex int `yaml:"tally_index,omitempty" json:"tally_index,omitempty"`

	// Clip sources (url "file:NAME"; docs/clips.md). Files continues the
	// playlist after the file the URL names.
	Files []string `yaml:"files,omitempty" json:"files,omitempty"`
	// Loop starts the playlist over at its end.
	Loop bool `yaml:"loop,omitempty" json:"loop,omitempty"`
	// OnEnd is what a clip does at its end: hold (the last picture, the
	// default), black, or next (the program goes back to the source before).
	OnEnd string `yaml:"on_end,omitempty" json:"on_end,omitempty"`
	// Autoplay is "on-program" (the clip starts from the top when it goes on
	// program) or empty/"false" (it stays cued until played).
	Autoplay string `yaml:"autoplay,omitempty" json:"autoplay,omitempty"`
}

// Clip reports a source that plays media files (url file:…).
func (c SourceConfig) Clip() bool { return strings.HasPrefix(c.URL, "file:") }

// validateClip checks the clip settings (the files themselves are checked
// where the clip folders are known: internal/show).
func (c SourceConfig) validateClip() error {
	if !c.Clip() {
		if len(c.Files) > 0 || c.Loop || c.OnEnd != "" || (c.Autoplay != "" && c.Autoplay != "false") {
			return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: files, loop, on_end and autoplay are for clip sources (url: \"file:NAME\")", c.Name)}
		}
		return nil
	}
	switch c.OnEnd {
	case "", "hold", "black", "next":
	default:
		return &fault.Invalid{Field: "on_end", Msg: fmt.Sprintf("source %s: on_end %q must be hold, black or next", c.Name, c.OnEnd)}
	}
	switch c.Autoplay {
	case "", "false", "on-program":
	default:
		return &fault.Invalid{Field: "autoplay", Msg: fmt.Sprintf("source %s: autoplay %q must be on-program or false", c.Name, c.Autoplay)}
	}
	if len(c.Files) > 64 {
		return &fault.Invalid{Field: "files", Msg: fmt.Sprintf("source %s: a playlist holds at most 64 files", c.Name)}
	}
	return nil
}

// MaxLabel is the longest label, in characters; tally protocols cut it
// further to what their displays hold (TSL 3.1: 16).
const MaxLabel = 256

// MaxTallyIndex is the highest tally index (TSL 5.0's; 0xFFFF addresses
// every display).
const MaxTallyIndex = 0xFFFE

// MaxJitterBufferMS is the longest jitter buffer a source may have, in
// milliseconds: media.MaxJitterBuffer, the bound the mixer holds to.
const MaxJitterBufferMS = media.MaxJitterBufferMS

// Protocol names pulled cameras publish with.
const (
	ProtoRTSPPull = "rtsp-pull"
	ProtoRTMPPull = "rtmp-pull"
	ProtoSRTPull  = "srt-pull"
)

func isPull(proto string) bool {
	return proto == ProtoRTSPPull || proto == ProtoRTMPPull || proto == ProtoSRTPull
}

// ErrPulled refuses a publisher on a source that pulls from its camera.
var ErrPulled error = fault.New(fault.Conflict, "the source pulls from its camera and takes no publisher")

// Pulled reports a source whose URL is a camera or feed to pull from.
func (c SourceConfig) Pulled() bool {
	for _, p := range []string{"rtsp://", "rtsps://", "rtmp://", "rtmps://", "srt://"} {
		if strings.HasPrefix(c.URL, p) {
			return true
		}
	}
	return false
}

// Validate checks the name and the URL scheme.
func (c SourceConfig) Validate() error {
	if !NamePattern.MatchString(c.Name) {
		return &fault.Invalid{Field: "name", Msg: fmt.Sprintf("source name %q must match %s", c.Name, NamePattern)}
	}
	switch c.Transport {
	case "", "tcp", "udp":
	default:
		return &fault.Invalid{Field: "transport", Msg: fmt.Sprintf("source %s: transport %q must be tcp or udp", c.Name, c.Transport)}
	}
	if c.JitterBufferMS != JitterAuto && (c.JitterBufferMS < 0 || c.JitterBufferMS > MaxJitterBufferMS) {
		return &fault.Invalid{Field: "jitter_buffer_ms", Msg: fmt.Sprintf("source %s: jitter_buffer_ms %d must be between 0 (the program's) and %d, or auto",
			c.Name, c.JitterBufferMS, MaxJitterBufferMS)}
	}
	if c.Follows != "" && (c.Follows == c.Name || !NamePattern.MatchString(c.Follows)) {
		return &fault.Invalid{Field: "follows", Msg: fmt.Sprintf("source %s: follows %q must name another source of the show", c.Name, c.Follows)}
	}
	if err := c.validateTally(); err != nil {
		return err
	}
	if err := c.validateClip(); err != nil {
		return err
	}
	if c.URL != "" && !c.Clip() {
		u, err := url.Parse(c.URL)
		if err != nil {
			return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: %s is not a URL", c.Name, redact.URL(c.URL))}
		}
		switch u.Scheme {
		case "gen":
		case "rtsp", "rtsps", "rtmp", "rtmps":
			if u.Host == "" {
				return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: %s has no host", c.Name, redact.URL(c.URL))}
			}
			if p := strings.Split(strings.Trim(u.Path, "/"), "/"); strings.HasPrefix(u.Scheme, "rtmp") && (len(p) < 2 || p[0] == "" || p[len(p)-1] == "") {
				return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: an RTMP feed is rtmp://HOST/APP/STREAM", c.Name)}
			}
		case "srt":
			if _, err := srt.ParseURL(c.URL); err != nil {
				return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: url: %s", c.Name, redact.Text(err.Error()))}
			}
		default:
			return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: url scheme %q is not supported (pull with rtsp://, rtsps://, rtmp://, rtmps:// or srt://, generate with gen://, play a clip with file:NAME, or leave url empty and push to rtmp://HOST:1935/live/%s)", c.Name, u.Scheme, c.Name)}
		}
	}
	return nil
}

// validateTally checks the label and the tally index.
func (c SourceConfig) validateTally() error {
	if c.TallyIndex < 0 || c.TallyIndex > MaxTallyIndex {
		return &fault.Invalid{Field: "tally_index", Msg: fmt.Sprintf("source %s: tally_index %d must be 1–%d (0: its position in the show)",
			c.Name, c.TallyIndex, MaxTallyIndex)}
	}
	if !utf8.ValidString(c.Label) {
		return &fault.Invalid{Field: "label", Msg: fmt.Sprintf("source %s: label is not UTF-8 text", c.Name)}
	}
	if n := utf8.RuneCountInString(c.Label); n > MaxLabel {
		return &fault.Invalid{Field: "label", Msg: fmt.Sprintf("source %s: label has %d characters, more than %d", c.Name, n, MaxLabel)}
	}
	if strings.IndexFunc(c.Label, unicode.IsControl) >= 0 {
		return &fault.Invalid{Field: "label", Msg: fmt.Sprintf("source %s: label holds a control character (a line break, a tab); use plain text", c.Name)}
	}
	return nil
}

// DisplayLabel is the source's display text: its label, or its name.
func (c SourceConfig) DisplayLabel() string {
	if c.Label != "" {
		return c.Label
	}
	return c.Name
}
