package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"switchyard/internal/backoff"
	"switchyard/internal/protocols/rtmp"
	"switchyard/internal/protocols/rtsp"
	"switchyard/internal/protocols/srt"
	"switchyard/internal/redact"
	"switchyard/media"
)

// PullSession pulls a camera once, until it or ctx ends the session.
type PullSession func(ctx context.Context, cfg SourceConfig) error

// liveLongEnough resets the backoff: a camera that was up this long and then
// dropped is retried at once, not at the step its earlier failures reached.
const liveLongEnough = 10 * time.Second

// Pull is a pulled source, for any protocol: the protocol gives it a
// Session (an RTSP camera, an RTMP feed: NewPull picks it by the URL) and
// Pull runs it again and again, with the source's states and the backoff
// between tries, from Start until Close.
type Pull struct {
	Registry *Registry
	Source   string
	// Log is the component logger (the protocol's, with the source).
	Log *slog.Logger
	// Session pulls once; required.
	Session PullSession
	// BackoffMin and BackoffMax default to 1 s and 30 s.
	BackoffMin, BackoffMax time.Duration

	cancel context.CancelFunc
	done   chan struct{}
}

// Timeouts of a pull's sessions: a camera or feed that sends nothing for
// pullReadTimeout is reconnected; an RTMP feed's set-up is bounded by
// pullConnectTimeout (an RTSP camera's requests by pullReadTimeout).
const (
	pullReadTimeout    = 5 * time.Second
	pullConnectTimeout = 10 * time.Second
	pullWriteTimeout   = 5 * time.Second
)

// NewPull returns the pull of a source whose URL is an RTSP camera
// (rtsp://, rtsps://, credentials in the URL, cfg.Transport tcp or udp), an
// RTMP feed (rtmp://, rtmps://, e.g. another studio's program) or a remote
// SRT listener carrying MPEG-TS (srt://, called as a caller), not started.
// rtsps:// and rtmps:// use the system roots.
func NewPull(reg *Registry, cfg SourceConfig, log *slog.Logger) *Pull {
	p := &Pull{Registry: reg, Source: cfg.Name}
	switch {
	case strings.HasPrefix(cfg.URL, "rtmp://") || strings.HasPrefix(cfg.URL, "rtmps://"):
		p.Log, p.Session = log.With("component", "ingest.rtmp.pull", "source", cfg.Name), p.rtmpSession
	case strings.HasPrefix(cfg.URL, "srt://"):
		p.Log, p.Session = log.With("component", "ingest.srt.pull", "source", cfg.Name), p.srtSession
	default:
		p.Log, p.Session = log.With("component", "ingest.rtsp.pull", "source", cfg.Name), p.rtspSession
	}
	return p
}

func (p *Pull) rtspSession(ctx context.Context, cfg SourceConfig) error {
	return rtsp.Pull(ctx, rtsp.PullConfig{URL: cfg.URL, Transport: cfg.Transport, ReadTimeout: pullReadTimeout, Log: p.Log},
		p.publish(cfg, ProtoRTSPPull))
}

func (p *Pull) rtmpSession(ctx context.Context, cfg SourceConfig) error {
	return rtmp.Pull(ctx, rtmp.PullConfig{URL: cfg.URL, ReadTimeout: pullReadTimeout, ConnectTimeout: pullConnectTimeout,
		WriteTimeout: pullWriteTimeout, Log: p.Log}, p.publish(cfg, ProtoRTMPPull))
}

// srtSession calls the remote with the handshake bounded by
// pullReadTimeout; the source's status shows the link.
func (p *Pull) srtSession(ctx context.Context, cfg SourceConfig) error {
	return srt.Pull(ctx, srt.PullConfig{URL: cfg.URL, ConnectTimeout: pullReadTimeout, ReadTimeout: pullReadTimeout, Log: p.Log},
		func(link func() srt.Stats) (media.Publisher, error) {
			pub, err := p.Registry.Publish(p.Source, cfg.PublishKey, ProtoSRTPull)
			if err != nil {
				return nil, err
			}
			pub.SetLink(link)
			return pub, nil
		})
}

// publish claims the source for a session once its camera or feed is set up.
func (p *Pull) publish(cfg SourceConfig, proto string) func() (media.Publisher, error) {
	return func() (media.Publisher, error) {
		pub, err := p.Registry.Publish(p.Source, cfg.PublishKey, proto)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return pub, nil
	}
}

// Start pulls in the background until Close.
func (p *Pull) Start() {
	if p.BackoffMin == 0 {
		p.BackoffMin = time.Second
	}
	if p.BackoffMax == 0 {
		p.BackoffMax = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.run(ctx)
}

// Close stops pulling and waits for it; safe twice, and before Start.
func (p *Pull) Close() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
}

func (p *Pull) run(ctx context.Context) {
	defer close(p.done)
	runPull(ctx, p.Registry, p.Source, p.BackoffMin, p.BackoffMax, p.Log, p.Session)
}

// runPull is the state machine of a pulled camera, for any protocol: the
// source is connecting, then live once media arrives, for as long as a
// session lasts; when it ends the source is retrying (attempt n, next try at
// …, last error) and the next session starts after minD, 2·minD … maxD with
// jitter, forever, until ctx ends or the source is removed. A session that
// connected but brought no media counts as a failure like any other: a
// relay that accepts a play with no publisher behind it is not a live feed.
func runPull(ctx context.Context, reg *Registry, name string, minD, maxD time.Duration, log *slog.Logger, session PullSession) {
	attempt := 0
	for {
		src, ok := reg.Get(name)
		if !ok {
			return
		}
		src.SetPullState(StateConnecting, attempt, time.Time{}, nil)
		started, units, sessions := time.Now(), src.Stream().UnitsWritten(), src.Status().Sessions
		err := session(ctx, src.Config())
		if ctx.Err() != nil {
			return
		}
		live := src.Stream().UnitsWritten() > units
		if live && time.Since(started) > liveLongEnough {
			attempt = 0
		}
		if !live && err != nil && src.Status().Sessions > sessions { // it published, then ended: not a refused call
			err = fmt.Errorf("connected, but no media came: %w", err)
		}
		attempt++
		wait := backoff.Delay(attempt, minD, maxD)
		src.SetPullState(StateRetrying, attempt, time.Now().Add(wait), err)
		log.Warn("camera unreachable; retrying", "attempt", attempt, "in", wait.Round(time.Millisecond), "err", redact.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
