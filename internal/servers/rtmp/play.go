package rtmp

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	amf0 "github.com/yutopp/go-amf0"
	gortmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"switchyard/internal/protocols/rtmp"
	"switchyard/media"
	"switchyard/output/serve"
)

// ErrBadReadKey refuses a player whose key is not the read key.
var ErrBadReadKey = errors.New("wrong or missing read key")

// Chunk stream ids for what we send to players.
const (
	playCSIDData  = 5
	playCSIDAudio = 6
	playCSIDVideo = 7
)

func (h *handler) OnPlay(ctx *gortmp.StreamContext, _ uint32, cmd *rtmpmsg.NetStreamPlay) error {
	if h.pub != nil || h.playCancel != nil {
		return errors.New("this connection is already busy")
	}
	name, key, err := h.stream("play", cmd.StreamName, "program")
	if err != nil {
		return err
	}
	name = strings.Trim(name, "/")
	if want := h.s.Registry.ReadKey(name, h.s.ReadKey); want != "" && subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
		err := fmt.Errorf("play %q refused: %w (give it as %s?key=…)", name, ErrBadReadKey, name)
		h.log.Warn("play refused", "err", err)
		return err
	}
	if h.s.Paths == nil {
		return errors.New("play refused: nothing is served over RTMP")
	}
	st, err := h.s.playStream(name)
	if err != nil {
		h.log.Warn("play refused", "stream", name, "err", err)
		return err
	}
	// A player sends almost nothing: reads wait; every write has a deadline.
	_ = h.conn.SetReadDeadline(time.Time{})
	pctx, cancel := context.WithCancel(context.Background())
	h.playCancel = cancel
	h.playDone = make(chan struct{})
	h.log = h.log.With("play", name)
	h.log.Info("player connected")
	go func() {
		defer close(h.playDone)
		err := h.play(pctx, st, ctx.StreamID)
		if pctx.Err() == nil {
			h.log.Info("player stopped", "err", err)
			h.conn.endGracefully(5 * time.Second) // go-rtmp's loop then ends and calls OnClose
		}
	}()
	return nil
}

// playStream finds the stream a player asks for in the path table:
// "program" is the program, any other name a source ("cam1" → live/cam1).
func (s *Server) playStream(name string) (*media.Stream, error) {
	path := name
	if name != "program" {
		path = "live/" + name
	}
	p, err := s.Paths.Get(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, serve.ErrNoStream)
	}
	return p.Stream(), nil
}

// play sends st to a player from its next key frame, with timestamps that
// start at zero for this player (so go-rtmp never has to write an extended
// timestamp on a type-3 chunk unless one session runs past 4 h 39 min).
func (h *handler) play(ctx context.Context, st *media.Stream, streamID uint32) error {
	reader := st.NewReader(512)
	defer reader.Close()
	var (
		tags    rtmp.Tags
		out     []rtmp.Tag
		base    time.Duration
		started bool
		dropped = reader.Dropped()
	)
	write := func(csid int, ts uint32, msg rtmpmsg.Message) error {
		wctx, cancel := context.WithTimeout(ctx, h.s.WriteTimeout)
		defer cancel()
		return h.conn.rtmp.Write(wctx, csid, ts, &gortmp.ChunkMessage{StreamID: streamID, Message: msg})
	}
	for {
		u, err := reader.Next(ctx)
		if err != nil {
			return err
		}
		if reader.Dropped() != dropped {
			return errors.New("player too slow: its queue overflowed")
		}
		if !started {
			if u.Track.Kind != media.KindVideo || !u.Key {
				continue
			}
			if u.Track.Codec != media.CodecH264 {
				err := fmt.Errorf("video %s cannot be carried over RTMP (classic FLV carries H.264): read this stream over RTSP", u.Track.Codec)
				if !u.Track.Carried() { // a clip's ProRes, VP9…: no re-server carries it
					err = fmt.Errorf("video %s (a clip) cannot be carried over RTMP (classic FLV carries H.264): watch program or preview, "+
						"or convert the clip with ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4", u.Track.Codec)
				}
				h.log.Warn("play refused", "err", err)
				if h.status(write, "error", "NetStream.Play.Failed", err.Error()) == nil {
					h.sent(ctx, playCSIDData) // the player reads why before the end
				}
				return err
			}
			started, base = true, u.DTS
			var a *media.Track
			for _, t := range st.Tracks() {
				if t.Kind == media.KindAudio {
					a = t
				}
			}
			body, err := amfBody(rtmp.MetaData(u.Track, a, 0, 0))
			if err != nil {
				return err
			}
			if err := write(playCSIDData, 0, &rtmpmsg.DataMessage{Name: "onMetaData", Encoding: rtmpmsg.EncodingTypeAMF0, Body: body}); err != nil {
				return err
			}
		}
		if u.DTS < base {
			continue
		}
		ts := uint32((u.DTS - base) / time.Millisecond)
		out, err = tags.Append(out[:0], u)
		var nc *rtmp.AudioNotCarriedError
		if errors.As(err, &nc) {
			// said once a track, to the log and to the player; the picture goes on
			desc := nc.Error() + "; the picture plays without sound: read this stream over RTSP for its sound"
			h.log.Warn("sound not carried to the player", "codec", nc.Track.Codec, "err", nc.Err)
			if err := h.status(write, "warning", "NetStream.Play.UnsupportedCodec", desc); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		for _, tg := range out {
			var msg rtmpmsg.Message
			csid := playCSIDVideo
			if tg.Type == rtmp.MsgAudio {
				msg, csid = &rtmpmsg.AudioMessage{Payload: bytes.NewReader(tg.Body)}, playCSIDAudio
			} else {
				msg = &rtmpmsg.VideoMessage{Payload: bytes.NewReader(tg.Body)}
			}
			if err := write(csid, ts, msg); err != nil {
				return err
			}
		}
	}
}

// status sends the player an onStatus message (level "status", "warning"
// or "error"), as NetStream.Play.Start is sent.
func (h *handler) status(write func(int, uint32, rtmpmsg.Message) error, level, code, desc string) error {
	var b bytes.Buffer
	if err := rtmpmsg.EncodeBodyAnyValues(rtmpmsg.NewAMFEncoder(&b, rtmpmsg.EncodingTypeAMF0), &rtmpmsg.NetStreamOnStatus{
		InfoObject: rtmpmsg.NetStreamOnStatusInfoObject{Level: rtmpmsg.NetStreamOnStatusLevel(level),
			Code: rtmpmsg.NetStreamOnStatusCode(code), Description: desc}}); err != nil {
		return err
	}
	return write(playCSIDData, 0, &rtmpmsg.CommandMessage{CommandName: "onStatus", Encoding: rtmpmsg.EncodingTypeAMF0, Body: &b})
}

// sent waits, within the write timeout, until the last message written on
// chunk stream csid has gone to the socket (go-rtmp writes from a
// goroutine of its own). Only before the connection ends: the chunk stream
// takes no further message after it.
func (h *handler) sent(ctx context.Context, csid int) {
	wctx, cancel := context.WithTimeout(ctx, h.s.WriteTimeout)
	defer cancel()
	_, _ = h.conn.rtmp.GetChunkStreamer().NewChunkWriter(wctx, csid)
}

// amfBody encodes the body of an onMetaData data message (after its name).
func amfBody(meta map[string]any) (*bytes.Buffer, error) {
	var b bytes.Buffer
	if err := amf0.NewEncoder(&b).Encode(amf0.ECMAArray(meta)); err != nil {
		return nil, err
	}
	return &b, nil
}
