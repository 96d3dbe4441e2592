package push

import (
	"context"
	"fmt"
	"time"

	"switchyard/internal/protocols/rtmp"
	"switchyard/media"
)

// rtmpLink publishes to an RTMP or RTMPS destination (a platform's ingest).
type rtmpLink struct{ target rtmp.Target }

// send connects, publishes and streams until an error. Timestamps are the
// program's own (rtmpTime of each unit's DTS), so a reconnect continues the
// destination's clock where it left it.
func (l rtmpLink) send(ctx context.Context, o *Output, reader *media.Reader, video, audio *media.Track) error {
	conn, err := rtmp.Publish(ctx, l.target, o.opts.TLSConfig, rtmp.Timeouts{Connect: o.opts.ConnectTimeout, Write: o.opts.WriteTimeout})
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
	// Stopping the output closes the socket at once, even mid-write.
	defer context.AfterFunc(sctx, func() { conn.Close() })()

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
		return sessionErr(ctx, readErr, err)
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
		if o.overflowed(reader, dropped0) {
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
			return sessionErr(ctx, readErr, err)
		}
	}
}

// sessionErr prefers the reader's error (the real cause) over a cancellation.
func sessionErr(ctx context.Context, readErr chan error, err error) error {
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

// rtmpTime is the 32-bit millisecond RTMP timestamp of a program time; it
// wraps after 49.7 days as RTMP timestamps do.
func rtmpTime(d time.Duration) uint32 { return uint32(d / time.Millisecond) }
