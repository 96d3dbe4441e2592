package rtmp

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"switchyard/media"
)

// Receiver turns FLV video and audio tag bodies (RTMP media messages) into
// units on a media.Publisher: for publishers of the server and pulled feeds. One
// Receiver serves one connection's messages, in order.
type Receiver struct {
	sink     media.Publisher
	log      *slog.Logger
	vtrack   *media.Track
	atrack   *media.Track
	ts       timestamps
	bad      int
	notTaken map[string]string // kind → why, named once on the source
}

// NewReceiver returns a Receiver that writes to sink and logs to log.
func NewReceiver(sink media.Publisher, log *slog.Logger) *Receiver {
	return &Receiver{sink: sink, log: log}
}

// unsupported names a track of a codec Switchyard does not take, once
// (on the source's warning and in one log line); its messages are then
// skipped, neither counted as malformed nor a reason to end the connection.
func (r *Receiver) unsupported(e *UnsupportedError) {
	if _, ok := r.notTaken[e.Kind]; ok {
		return
	}
	if r.notTaken == nil {
		r.notTaken = map[string]string{}
	}
	r.notTaken[e.Kind] = e.Error()
	var all []string
	for _, k := range []string{"video", "audio"} {
		if w, ok := r.notTaken[k]; ok {
			all = append(all, strings.TrimPrefix(w, "flv: "))
		}
	}
	w := strings.Join(all, "; ")
	r.sink.SetWarning(w)
	r.log.Warn("tracks not taken", "tracks", w)
}

// Video takes a video message's body (an FLV VIDEODATA tag) sent at
// timestamp (ms). b is kept: the caller gives a copy of its own. An error
// ends the connection (too many malformed messages).
func (r *Receiver) Video(timestamp uint32, b []byte) error {
	tag, err := ParseVideoTag(b)
	if err != nil {
		return r.unreadable(err)
	}
	switch tag.PacketType {
	case AVCSequenceHeader:
		var t *media.Track
		if tag.Codec == CodecHEVC {
			vps, sps, pps, err := ParseHEVCConfig(tag.Body)
			if err != nil {
				return r.badMedia(err)
			}
			t, err = media.NewH265Track(vps, sps, pps)
			if err != nil {
				return r.badMedia(err)
			}
		} else {
			sps, pps, err := ParseAVCConfig(tag.Body)
			if err != nil {
				return r.badMedia(err)
			}
			if t, err = media.NewH264Track(sps, pps, 0); err != nil {
				return r.badMedia(err)
			}
		}
		r.vtrack = t
		r.sink.SetTracks(r.vtrack, r.atrack)
	case AVCNALU:
		if r.vtrack == nil || (tag.Codec == CodecHEVC) != (r.vtrack.Codec == media.CodecH265) {
			return nil // nothing decodable before the (new codec's) sequence header
		}
		nalus, err := SplitAVCC(tag.Body)
		if err != nil {
			return r.badMedia(err)
		}
		var key bool
		if r.vtrack.Codec == media.CodecH265 {
			nalus, key = media.H265KeyWithParams(nalus, r.vtrack.VPS, r.vtrack.SPS, r.vtrack.PPS)
		} else {
			nalus, key = media.H264KeyWithParams(nalus, r.vtrack.SPS, r.vtrack.PPS)
		}
		if len(nalus) == 0 {
			return nil
		}
		dts := r.ts.extend(timestamp)
		r.sink.WriteUnit(&media.Unit{Track: r.vtrack, DTS: dts, PTS: dts + tag.CompositionTime, Key: key, Data: nalus})
	}
	return nil
}

// Audio takes an audio message's body (an FLV AUDIODATA tag); see Video.
func (r *Receiver) Audio(timestamp uint32, b []byte) error {
	tag, err := ParseAudioTag(b)
	if err != nil {
		return r.unreadable(err)
	}
	if tag.SequenceHeader {
		t, err := media.NewAACTrack(tag.Body)
		if err != nil {
			return r.badMedia(err)
		}
		r.atrack = t
		r.sink.SetTracks(r.vtrack, r.atrack)
		return nil
	}
	if r.atrack == nil || len(tag.Body) == 0 {
		return nil
	}
	ts := r.ts.extend(timestamp)
	r.sink.WriteUnit(&media.Unit{Track: r.atrack, PTS: ts, DTS: ts, Key: true, Data: [][]byte{tag.Body}})
	return nil
}

// unreadable sorts a tag that did not parse: a codec not taken is named
// and skipped, anything else is malformed.
func (r *Receiver) unreadable(err error) error {
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		r.unsupported(ue)
		return nil
	}
	return r.badMedia(err)
}

// badMedia counts a malformed message; after a hundred the connection ends.
func (r *Receiver) badMedia(err error) error {
	r.bad++
	r.sink.Malformed()
	if r.bad == 1 {
		r.log.Warn("malformed media message", "err", err)
	}
	if r.bad > 100 {
		return fmt.Errorf("too many malformed media messages: %w", err)
	}
	return nil
}

// timestamps extends RTMP's 32-bit millisecond timestamps to a duration that
// keeps growing across the 2^32 ms wrap.
type timestamps struct {
	init bool
	last uint32
	high int64
}

func (t *timestamps) extend(ts uint32) time.Duration {
	if t.init && ts < t.last && t.last-ts > 1<<31 {
		t.high += 1 << 32
	}
	t.init, t.last = true, ts
	return time.Duration(t.high+int64(ts)) * time.Millisecond
}
