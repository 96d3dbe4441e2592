package rtmp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"switchyard/internal/redact"
	"switchyard/media"
)

// PullConfig is one pull of a feed.
type PullConfig struct {
	// URL is rtmp:// or rtmps://, e.g. another studio's program:
	// rtmp://HOST/APP/STREAM.
	URL string
	// ReadTimeout: a feed that keeps its connection but sends nothing this
	// long is dropped. The set-up is bounded by ConnectTimeout, every write
	// by WriteTimeout.
	ReadTimeout, ConnectTimeout, WriteTimeout time.Duration
	// TLSConfig for rtmps:// feeds; nil uses the system roots.
	TLSConfig *tls.Config
	// Log is the pull's logger.
	Log *slog.Logger
}

// Pull plays a feed once, until it or ctx ends the session: once the play
// is set up, publish takes its units. The error says why it ended.
func Pull(ctx context.Context, c PullConfig, publish func() (media.Publisher, error)) error {
	t, err := ParseTarget(c.URL)
	if err != nil {
		return err
	}
	conn, err := Play(ctx, t, c.TLSConfig, Timeouts{Connect: c.ConnectTimeout, Write: c.WriteTimeout})
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })() // stopping unblocks the read
	pub, err := publish()
	if err != nil {
		return err
	}
	defer pub.Close()
	pub.OnKick(func() { conn.Close() })
	c.Log.Info("feed connected", "url", redact.URL(c.URL))
	tg := NewReceiver(pub, c.Log)
	for {
		if err := conn.SetReadDeadline(time.Now().Add(c.ReadTimeout)); err != nil {
			return err
		}
		typ, _, ts, payload, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("feed lost: %w", err)
		}
		switch typ {
		case MsgVideo:
			err = tg.Video(ts, payload)
		case MsgAudio:
			err = tg.Audio(ts, payload)
		}
		if err != nil {
			return err
		}
	}
}
