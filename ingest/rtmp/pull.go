package rtmp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"switchyard/ingest"
	"switchyard/internal/protocols/rtmp"
	"switchyard/internal/redact"
)

// NewPull returns the pull of an RTMP feed (rtmp:// or rtmps://, e.g.
// another studio's program: rtmp://HOST/APP/STREAM) into source, not
// started: it reconnects for ever with the same states and backoff as a
// pulled RTSP camera. A feed that keeps its connection but sends nothing for
// 5 s is reconnected; the set-up is bounded by 10 s; rtmps:// uses the
// system roots.
func NewPull(reg *ingest.Registry, source string, log *slog.Logger) *ingest.Pull {
	log = log.With("component", "ingest.rtmp.pull", "source", source)
	f := &feed{Registry: reg, Source: source, Log: log, ReadTimeout: 5 * time.Second}
	return &ingest.Pull{Registry: reg, Source: source, Log: log, Session: f.session}
}

// feed is the session of a pulled RTMP feed.
type feed struct {
	Registry    *ingest.Registry
	Source      string
	Log         *slog.Logger
	ReadTimeout time.Duration
	TLSConfig   *tls.Config // nil: the system roots
}

func (p *feed) session(ctx context.Context, cfg ingest.SourceConfig) error {
	t, err := rtmp.ParseTarget(cfg.URL)
	if err != nil {
		return err
	}
	conn, err := rtmp.Play(ctx, t, p.TLSConfig, rtmp.Timeouts{Connect: 10 * time.Second, Write: 5 * time.Second})
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
	tg := rtmp.NewReceiver(pub, p.Log)
	for {
		if err := conn.SetReadDeadline(time.Now().Add(p.ReadTimeout)); err != nil {
			return err
		}
		typ, _, ts, payload, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("feed lost: %w", err)
		}
		switch typ {
		case rtmp.MsgVideo:
			err = tg.Video(ts, payload)
		case rtmp.MsgAudio:
			err = tg.Audio(ts, payload)
		}
		if err != nil {
			return err
		}
	}
}
