// Package push sends the program to streaming platforms and relays over
// RTMP, RTMPS and SRT (MPEG-TS, as a caller).
// Each destination is its own state machine with its own goroutine and its
// own bounded queue (a reader on the program stream); it reconnects on its own
// with exponential backoff and never makes the program, the recordings or
// another destination wait.
package push

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchyard/internal/backoff"
	"switchyard/internal/notify"
	"switchyard/internal/protocols/rtmp"
	"switchyard/internal/protocols/srt"
	"switchyard/internal/redact"
	"switchyard/media"
)

// State of an output.
type State string

// Output states.
const (
	StateIdle       State = "idle"
	StateConnecting State = "connecting"
	StateLive       State = "live"
	StateRetrying   State = "retrying"
)

// Config is one destination.
type Config struct {
	Name string `json:"name" yaml:"name"`
	URL  string `json:"url" yaml:"url"`
	// Enabled outputs connect at start and reconnect forever.
	Enabled bool `json:"enabled" yaml:"enabled"`
	// VideoBitrate, when set (bit/s), sends a second encode of the program at
	// this lower bitrate instead of the shared program encode.
	VideoBitrate media.Bitrate `json:"video_bitrate,omitempty" yaml:"video_bitrate,omitempty"`
}

// Renditions gives streams of the program re-encoded at a lower bitrate; the
// mixer provides it.
type Renditions interface {
	AcquireRendition(bps int) (*media.Stream, error)
	ReleaseRendition(bps int)
}

// Status is an output's live state for the API, events and metrics. The URL
// has its stream key masked.
type Status struct {
	Name          string        `json:"name"`
	URL           string        `json:"url"`
	Enabled       bool          `json:"enabled"`
	VideoBitrate  media.Bitrate `json:"video_bitrate,omitempty"`
	State         State         `json:"state"`
	Attempt       int           `json:"attempt,omitempty"`
	NextTryAt     *time.Time    `json:"next_try_at,omitempty"`
	LastError     string        `json:"last_error,omitempty"`
	LastErrorAt   *time.Time    `json:"last_error_at,omitempty"`
	UptimeS       float64       `json:"uptime_s"`
	BitrateKbps   float64       `json:"bitrate_kbps"`
	Bytes         uint64        `json:"bytes"`
	FramesSent    uint64        `json:"frames_sent"`
	FramesDropped uint64        `json:"frames_dropped"`
	Reconnects    uint64        `json:"reconnects"`
	// SRT is the link of an srt:// output while it is connected.
	SRT *srt.Stats `json:"srt,omitempty"`
}

// Options shared by every output of a manager.
type Options struct {
	// ConnectTimeout bounds an RTMP output's dial + TLS + handshake +
	// connect + createStream + publish, and an SRT output's handshake;
	// defaults to 10s.
	ConnectTimeout time.Duration
	// WriteTimeout bounds every RTMP write (SRT writes never block);
	// defaults to 5s.
	WriteTimeout time.Duration
	// QueueSize is the per-output queue in units (power of two); defaults to
	// 512 (about 5 s of 30 fps video with its audio). Overflow means the
	// destination cannot keep up: it is dropped to retrying.
	QueueSize int
	// BackoffMin and BackoffMax bound the reconnect delay; default 1s and 30s.
	BackoffMin, BackoffMax time.Duration
	// TLSConfig for rtmps:// (nil: system roots); SNI is set from the URL.
	TLSConfig *tls.Config
	// VideoBPS, AudioBPS describe the program in the metadata.
	VideoBPS, AudioBPS int
	// Renditions serves outputs with their own video_bitrate; nil refuses them.
	Renditions Renditions
}

func (o *Options) defaults() {
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.QueueSize == 0 {
		o.QueueSize = 512
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
}

// Output is one destination's state machine, for any protocol: the state,
// the queue, the counters and the backoff are the Output's; its link
// (rtmp.go, srt.go) connects and sends.
type Output struct {
	cfg     Config
	link    link
	opts    *Options
	program *media.Stream
	log     *slog.Logger

	mu          sync.Mutex
	state       State
	attempt     int
	nextTry     time.Time
	lastErr     string
	lastErrAt   time.Time
	since       time.Time
	bytes       uint64
	frames      uint64
	dropped     uint64
	reconnects  uint64
	rateBytes   uint64
	rateAt      time.Time
	bitrateKbps float64
	// stats reads the live connection's SRT link (nil otherwise).
	stats func() srt.Stats

	cancel context.CancelFunc
	done   chan struct{}
	// changes is the manager's: each state the output goes through is
	// marked there for its listener
	changes *notify.Notifier
}

// link is how an output connects and sends, one per protocol. An interface
// rather than a switch in the session: each protocol keeps its connection,
// headers and framing in its own file, and the state machine stays one.
type link interface {
	// send connects, says when it is live (o.setState(StateLive)) and
	// sends the reader's units (the output's queue, from a key frame) until
	// an error or ctx ends; it counts what it sends (o.count) and what the
	// queue dropped (o.overflowed).
	send(ctx context.Context, o *Output, reader *media.Reader, video, audio *media.Track) error
}

// newLink returns the link of a destination URL: rtmp://, rtmps:// or srt://.
func newLink(url string) (link, error) {
	if strings.HasPrefix(url, "srt:") {
		t, err := srt.ParseURL(url)
		if err != nil {
			return nil, err
		}
		return srtLink{target: t}, nil
	}
	t, err := rtmp.ParseTarget(url)
	if err != nil {
		if !strings.HasPrefix(url, "rtmp") {
			return nil, fmt.Errorf("%w (or srt://HOST:PORT?streamid=…)", err)
		}
		return nil, err
	}
	return rtmpLink{target: t}, nil
}

func newOutput(cfg Config, l link, opts *Options, program *media.Stream, log *slog.Logger, changes *notify.Notifier) *Output {
	return &Output{cfg: cfg, link: l, opts: opts, program: program, state: StateIdle, changes: changes,
		log: log.With("output", cfg.Name, "url", redact.URL(cfg.URL))}
}

// Status returns a snapshot.
func (o *Output) Status() Status {
	o.mu.Lock()
	s, stats := o.statusLocked(), o.stats
	o.mu.Unlock()
	if stats != nil { // outside the lock: it takes the connection's
		l := stats()
		s.SRT = &l
	}
	return s
}

func (o *Output) statusLocked() Status {
	s := Status{Name: o.cfg.Name, URL: redact.URL(o.cfg.URL), Enabled: o.cfg.Enabled, VideoBitrate: o.cfg.VideoBitrate, State: o.state,
		LastError: o.lastErr, Bytes: o.bytes, FramesSent: o.frames, FramesDropped: o.dropped, Reconnects: o.reconnects}
	if o.state == StateRetrying {
		s.Attempt = o.attempt
		t := o.nextTry
		s.NextTryAt = &t
	}
	if !o.lastErrAt.IsZero() {
		t := o.lastErrAt
		s.LastErrorAt = &t
	}
	if o.state == StateLive {
		s.UptimeS = time.Since(o.since).Seconds()
		s.BitrateKbps = o.bitrateKbps
	}
	return s
}

// start launches the goroutine; the manager owns it.
func (o *Output) start() {
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	o.done = make(chan struct{})
	go o.run(ctx)
}

// stop cancels the goroutine and waits for it.
func (o *Output) stop() {
	if o.cancel == nil {
		return
	}
	o.cancel()
	<-o.done
	o.cancel = nil
}

func (o *Output) setState(s State) {
	o.mu.Lock()
	o.state = s
	if s == StateLive {
		o.since = time.Now()
		o.attempt = 0
	}
	o.changes.Changed(o.cfg.Name)
	o.mu.Unlock()
}

// setStats gives the status the live connection's SRT link (nil: none).
func (o *Output) setStats(f func() srt.Stats) {
	o.mu.Lock()
	o.stats = f
	o.mu.Unlock()
}

func (o *Output) run(ctx context.Context) {
	defer close(o.done)
	defer o.setState(StateIdle)
	for {
		o.setState(StateConnecting)
		err := o.session(ctx)
		if ctx.Err() != nil {
			return
		}
		o.mu.Lock()
		o.attempt++
		o.reconnects++
		o.lastErr = redact.Text(err.Error())
		o.lastErrAt = time.Now()
		delay := backoff.Delay(o.attempt, o.opts.BackoffMin, o.opts.BackoffMax)
		o.nextTry = time.Now().Add(delay)
		o.state = StateRetrying
		attempt := o.attempt
		o.changes.Changed(o.cfg.Name)
		o.mu.Unlock()
		if attempt == 1 || attempt%10 == 0 { // log the first failure, then a summary now and then
			o.log.Warn("output failed; retrying", "attempt", attempt, "in", delay.Round(time.Millisecond), "err", redact.Error(err))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// errQueueOverflow ends a session whose destination cannot keep up.
var errQueueOverflow = errors.New("destination too slow: the output queue overflowed")

// session connects and streams until an error: the queue (a reader on the
// stream, from its next key frame) is the Output's, the connection the
// link's.
func (o *Output) session(ctx context.Context) error {
	var video, audio *media.Track
	for _, t := range o.program.Tracks() {
		switch t.Kind {
		case media.KindVideo:
			video = t
		case media.KindAudio:
			audio = t
		}
	}
	if video == nil {
		return errors.New("the program has no video track")
	}
	reader := o.program.NewReader(o.opts.QueueSize)
	defer reader.Close()
	return o.link.send(ctx, o, reader, video, audio)
}

// overflowed counts what the queue dropped since dropped0 and says whether
// it did: the destination cannot keep up.
func (o *Output) overflowed(reader *media.Reader, dropped0 uint64) bool {
	d := reader.Dropped()
	if d == dropped0 {
		return false
	}
	o.mu.Lock()
	o.dropped += d - dropped0
	o.mu.Unlock()
	return true
}

func (o *Output) count(n int, frame bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bytes += uint64(n)
	if frame {
		o.frames++
	}
	now := time.Now()
	if o.rateAt.IsZero() {
		o.rateAt, o.rateBytes = now, o.bytes
	} else if d := now.Sub(o.rateAt); d >= time.Second {
		o.bitrateKbps = float64(int(float64(o.bytes-o.rateBytes)*8/d.Seconds()/10)) / 100
		o.rateAt, o.rateBytes = now, o.bytes
	}
}
