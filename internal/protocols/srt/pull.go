package srt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"switchyard/internal/protocols/mpegts"
	"switchyard/internal/redact"
	"switchyard/media"
)

// PullConfig is one pull of a remote SRT listener (a remote venue's
// encoder, a relay) carrying MPEG-TS.
type PullConfig struct {
	// URL is srt://HOST:PORT?streamid=…&passphrase=…&latency=… (ParseURL).
	URL string
	// ConnectTimeout bounds the handshake; ReadTimeout drops a remote that
	// keeps the link up but sends nothing this long (SRT keep-alives would
	// hold it open for ever).
	ConnectTimeout, ReadTimeout time.Duration
	// Log is the pull's logger.
	Log *slog.Logger
}

// Pull calls the remote once and publishes its transport stream until the
// link, the remote or ctx ends the session; the error says why. publish
// claims the source once the stream's program map is read; it is given the
// link's statistics for the source's status.
func Pull(ctx context.Context, c PullConfig, publish func(link func() Stats) (media.Publisher, error)) error {
	t, err := ParseURL(c.URL)
	if err != nil {
		return err
	}
	conn, err := DialContext(ctx, t, c.ConnectTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })() // stopping unblocks the read
	// Reader counts what the receiver gave up as too late (packets_dropped)
	rd := &Reader{Conn: conn}
	in := &IdleReader{R: rd}
	idle := WatchIdle(conn, in, c.ReadTimeout, nil)
	defer idle.Stop()
	lost := func(err error) error {
		if idle.Fired() {
			return fmt.Errorf("feed lost: nothing came for %s", c.ReadTimeout)
		}
		if errors.Is(err, io.EOF) {
			return errors.New("feed lost: the remote closed the link")
		}
		return fmt.Errorf("feed lost: %w", err)
	}
	rx, err := mpegts.NewReceiver(in, c.Log)
	if err != nil {
		// before the stream's program map: there was no feed to lose
		switch {
		case ctx.Err() != nil:
		case idle.Fired():
			return fmt.Errorf("no media: the remote took the call and sent no stream for %s (is anything publishing to that stream id?)", c.ReadTimeout)
		case errors.Is(err, io.EOF):
			return errors.New("no media: the remote closed the link before sending a stream")
		}
		return err
	}
	pub, err := publish(rd.Stats)
	if err != nil {
		return err
	}
	defer pub.Close()
	pub.OnKick(func() { conn.Close() })
	c.Log.Info("feed connected", "url", redact.URL(c.URL), "codecs", rx.Codecs(), "malformed", rx.Malformed())
	return lost(rx.Run(pub))
}
