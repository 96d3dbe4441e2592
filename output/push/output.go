// Package push sends the program to streaming platforms over RTMP and RTMPS.
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
	"sync"
	"time"

	"switchyard/internal/backoff"
	"switchyard/internal/notify"
	"switchyard/internal/protocols/rtmp"
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
}

// Options shared by every output of a manager.
type Options struct {
	// ConnectTimeout bounds dial + TLS + handshake + connect + createStream +
	// publish; defaults to 10s.
	ConnectTimeout time.Duration
	// WriteTimeout bounds every write; defaults to 5s.
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

// Output is one destination's state machine.
type Output struct {
	cfg     Config
	target  rtmp.Target
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

	cancel context.CancelFunc
	done   chan struct{}
	// changes is the manager's: each state the output goes through is
	// marked there for its listener
	changes *notify.Notifier
}

func newOutput(cfg Config, t rtmp.Target, opts *Options, program *media.Stream, log *slog.Logger, changes *notify.Notifier) *Output {
	return &Output{cfg: cfg, target: t, opts: opts, program: program, state: StateIdle, changes: changes,
		log: log.With("output", cfg.Name, "url", redact.URL(cfg.URL))}
}

// Status returns a snapshot.
func (o *Output) Status() Status {
	o.mu.Lock()
	defer o.mu.Unlock()
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

// halt cancels the goroutine without waiting: stopping many outputs, their
// streams end side by side (Manager.Close), each within its EndGrace.
func (o *Output) halt() {
	if o.cancel != nil {
		o.cancel()
	}
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

// session connects, publishes and streams until an error.
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
	// The queue: a reader on the program, starting at the next key frame.
	reader := o.program.NewReader(o.opts.QueueSize)
	defer reader.Close()

	conn, err := rtmp.Publish(ctx, o.target, o.opts.TLSConfig, rtmp.Timeouts{Connect: o.opts.ConnectTimeout, Write: o.opts.WriteTimeout})
	if err != nil {
		return err
	}
	defer conn.Close()

	// Read what the server sends (acks, pings, status) on its own goroutine;
	// its error (or the server closing) ends the session.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readErr := make(chan error, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			typ, _, _, payload, err := conn.ReadMessage()
			if err != nil {
				readErr <- fmt.Errorf("connection lost: %w", err)
				cancel()
				return
			}
			if typ == rtmp.MsgCommandAMF0 {
				if vals, _ := rtmp.DecodeAMF0(payload); len(vals) > 0 {
					if name, _ := vals[0].(string); name == "onStatus" {
						if code, desc := rtmp.StatusOf(vals); code != "" && code != "NetStream.Publish.Start" {
							o.log.Info("destination status", "code", code, "description", desc)
						}
					}
				}
			}
		}
	}()
	defer func() { conn.Close(); <-readDone }()
	// A lost connection (the reader's cancel) closes the socket at once,
	// even mid-write. Stopping the output (ctx) gives the write under way
	// EndGrace to finish, and the stream then ends cleanly (endStream).
	defer context.AfterFunc(sctx, func() {
		if ctx.Err() != nil {
			_ = conn.SetWriteDeadline(time.Now().Add(EndGrace))
			return
		}
		conn.Close()
	})()

	vbps := o.opts.VideoBPS
	if o.cfg.VideoBitrate > 0 {
		vbps = int(o.cfg.VideoBitrate)
	}
	meta, err := rtmp.SetDataFrame(rtmp.MetaData(video, audio, vbps, o.opts.AudioBPS))
	if err != nil {
		return err
	}
	vsh, err := rtmp.AVCSequenceHeaderTag(video)
	if err != nil {
		return err
	}
	sid := conn.StreamID()
	// Headers carry the timestamp the stream resumes at, so a reconnect
	// continues the program clock instead of starting over.
	first, err := reader.Next(sctx)
	if err != nil {
		if ctx.Err() != nil {
			return o.endStream(conn, ctx.Err())
		}
		return o.sessionErr(ctx, readErr, err)
	}
	ts0 := rtmpTime(first.DTS)
	if err := conn.WriteMessage(rtmp.CSIDData, rtmp.MsgDataAMF0, sid, ts0, meta); err != nil {
		return err
	}
	if err := conn.WriteMessage(rtmp.CSIDVideo, rtmp.MsgVideo, sid, ts0, vsh); err != nil {
		return err
	}
	if audio != nil {
		if err := conn.WriteMessage(rtmp.CSIDAudio, rtmp.MsgAudio, sid, ts0, rtmp.AACSequenceHeaderTag(audio)); err != nil {
			return err
		}
	}
	o.setState(StateLive)
	o.log.Info("output live")
	dropped0 := reader.Dropped()
	started := false
	for u := first; ; {
		if ctx.Err() != nil { // stopped: units still queued are not sent
			return o.endStream(conn, ctx.Err())
		}
		if reader.Dropped() != dropped0 {
			o.mu.Lock()
			o.dropped += reader.Dropped() - dropped0
			o.mu.Unlock()
			return errQueueOverflow
		}
		if u.Track == video {
			started = started || u.Key
		}
		if started {
			var err error
			var n int
			switch u.Track {
			case video:
				p := rtmp.AVCFrameTag(u)
				n = len(p)
				err = conn.WriteMessage(rtmp.CSIDVideo, rtmp.MsgVideo, sid, rtmpTime(u.DTS), p)
			case audio:
				p := rtmp.AACFrameTag(u)
				n = len(p)
				err = conn.WriteMessage(rtmp.CSIDAudio, rtmp.MsgAudio, sid, rtmpTime(u.DTS), p)
			}
			if err != nil {
				return fmt.Errorf("write: %w", err)
			}
			o.count(n, u.Track == video)
		}
		if u, err = reader.Next(sctx); err != nil {
			if ctx.Err() != nil {
				return o.endStream(conn, ctx.Err())
			}
			return o.sessionErr(ctx, readErr, err)
		}
	}
}

// EndGrace bounds a stopping output's last write and its FCUnpublish and
// deleteStream: a healthy connection sends them in microseconds, a stuck
// one is cut after it.
const EndGrace = time.Second

// endStream ends a stopped output's stream the way an encoder does
// (rtmp.Conn.Unpublish), so the platform closes the broadcast at once; it
// returns why the session ended.
func (o *Output) endStream(conn *rtmp.Conn, why error) error {
	if err := conn.Unpublish(o.target.Key, EndGrace); err != nil {
		o.log.Warn("output stopped; its stream could not be ended cleanly (the connection is cut)", "err", redact.Error(err))
		return why
	}
	o.log.Info("output stopped; stream ended (FCUnpublish, deleteStream)")
	return why
}

// sessionErr prefers the reader's error (the real cause) over a cancellation.
func (o *Output) sessionErr(ctx context.Context, readErr chan error, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	select {
	case rerr := <-readErr:
		return rerr
	default:
		return err
	}
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

// rtmpTime is the 32-bit millisecond RTMP timestamp of a program time; it
// wraps after 49.7 days as RTMP timestamps do.
func rtmpTime(d time.Duration) uint32 { return uint32(d / time.Millisecond) }
