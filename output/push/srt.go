package push

import (
	"context"
	"errors"
	"fmt"
	"io"

	gosrt "github.com/datarhei/gosrt"

	"switchyard/internal/protocols/mpegts"
	"switchyard/internal/protocols/srt"
	"switchyard/media"
)

// srtLink calls an SRT listener (a platform, a CDN, a relay) and sends the
// stream as MPEG-TS, seven TS packets to an SRT packet.
type srtLink struct{ target srt.Target }

// send calls the destination (the handshake bounded by ConnectTimeout; a
// stop does not wait for it) and
// streams until an error. Timestamps are the program's own plus
// mpegts.ClockRoom (KeepClock), so a reconnect continues the destination's
// clock where it left it. gosrt's writes never block (a full send queue is
// an error), so no write deadline is needed; a destination that went away
// is noticed by SRT's peer idle timeout (5 s), which ends the connection.
func (l srtLink) send(ctx context.Context, o *Output, reader *media.Reader, video, audio *media.Track) error {
	conn, err := srt.DialContext(ctx, l.target, o.opts.ConnectTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Stopping the output closes the connection at once, even mid-write.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	o.setStats(func() srt.Stats { return srt.StatsOf(conn) })
	defer o.setStats(nil)
	o.setState(StateLive)
	o.log.Info("output live")

	w := &srtWriter{c: conn, o: o}
	snd := &mpegts.Sender{W: w, KeepClock: true,
		OnSoundNotCarried: func(err error) { o.log.Warn("sound not carried to the destination; the picture goes on", "err", err) },
		Sent: func(u *media.Unit) {
			if u.Track.Kind == media.KindVideo {
				o.count(0, true)
			}
		}}
	dropped0 := reader.Dropped()
	err = snd.RunReader(ctx, o.program, reader)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case o.overflowed(reader, dropped0) || errors.Is(err, mpegts.ErrTooSlow):
		return errQueueOverflow
	case w.err != nil:
		return w.err
	}
	return err
}

// srtWriter writes to the connection and counts the bytes sent.
type srtWriter struct {
	c   gosrt.Conn
	o   *Output
	err error // the write error, in words
}

func (w *srtWriter) Write(p []byte) (int, error) {
	n, err := w.c.Write(p)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, gosrt.ErrClientClosed) {
			// gosrt's write fails so once the connection is closed (the
			// peer shut it, or went silent past the idle timeout) or its
			// send queue is full
			w.err = errors.New("write: the SRT connection ended: the destination closed it or stopped answering (or the send queue was full)")
		} else {
			w.err = fmt.Errorf("write: %w", err)
		}
		return n, w.err
	}
	w.o.count(n, false)
	return n, nil
}
