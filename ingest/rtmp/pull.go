package rtmp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"switchyard/ingest"
	"switchyard/internal/redact"
	"switchyard/internal/rtmpc"
)

// Pull plays an RTMP feed (rtmp:// or rtmps://, e.g. another studio's
// program: rtmp://HOST/APP/STREAM) into a source, reconnecting for ever with
// the same states and backoff as a pulled RTSP camera. A feed that keeps its
// connection but sends nothing for ReadTimeout is reconnected.
type Pull struct {
	Registry *ingest.Registry
	Source   string
	Log      *slog.Logger
	// ReadTimeout defaults to 5 s; the set-up is bounded by 10 s.
	ReadTimeout time.Duration
	// BackoffMin and BackoffMax default to 1 s and 30 s.
	BackoffMin, BackoffMax time.Duration
	// TLSConfig for rtmps:// feeds; nil uses the system roots.
	TLSConfig *tls.Config

	cancel context.CancelFunc
	done   chan struct{}
}

// Start pulls in the background until Close.
func (p *Pull) Start() {
	if p.ReadTimeout == 0 {
		p.ReadTimeout = 5 * time.Second
	}
	if p.BackoffMin == 0 {
		p.BackoffMin = time.Second
	}
	if p.BackoffMax == 0 {
		p.BackoffMax = 30 * time.Second
	}
	p.Log = p.Log.With("component", "ingest.rtmp.pull", "source", p.Source)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		ingest.RunPull(ctx, p.Registry, p.Source, p.BackoffMin, p.BackoffMax, p.Log, p.session)
	}()
}

// Close stops pulling and waits for it.
func (p *Pull) Close() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
}

func (p *Pull) session(ctx context.Context, cfg ingest.SourceConfig) error {
	t, err := rtmpc.ParseTarget(cfg.URL)
	if err != nil {
		return err
	}
	conn, err := rtmpc.Play(ctx, t, p.TLSConfig, rtmpc.Timeouts{Connect: 10 * time.Second, Write: 5 * time.Second})
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })() // stopping unblocks the read
	pub, err := p.Registry.Publish(p.Source, cfg.PublishKey, ingest.ProtoRTMPPull)
	if err != nil {
		return err
	}
	defer pub.Close()
	pub.OnKick(func() { conn.Close() })
	p.Log.Info("feed connected", "url", redact.URL(cfg.URL))
	tg := tags{pub: pub, log: p.Log}
	for {
		if err := conn.SetReadDeadline(time.Now().Add(p.ReadTimeout)); err != nil {
			return err
		}
		typ, _, ts, payload, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("feed lost: %w", err)
		}
		switch typ {
		case rtmpc.MsgVideo:
			err = tg.video(ts, payload)
		case rtmpc.MsgAudio:
			err = tg.audio(ts, payload)
		}
		if err != nil {
			return err
		}
	}
}
