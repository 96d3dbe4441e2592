package rtmp

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// TestTagsForAPlayer: a player is sent each track's sequence header before
// its first unit (and again when the track changes), then the units' tags,
// which a Receiver turns back into the same units; video other than H.264
// is skipped, and an audio track FLV cannot carry is named once and its
// units skipped.
func TestTagsForAPlayer(t *testing.T) {
	vt := testTrack(t)
	vt2, err := media.NewH264Track(testSPS, testPPS, 0) // new parameters: a new track
	require.NoError(t, err)
	aac, err := media.NewAACTrack([]byte{0x11, 0x90})
	require.NoError(t, err)
	pcmu := &media.Track{Kind: media.KindAudio, Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1}
	opus := &media.Track{Kind: media.KindAudio, Codec: media.CodecOpus, SampleRate: 48000, Channels: 2}
	hevc := &media.Track{Kind: media.KindVideo, Codec: media.CodecH265}
	v := func(tr *media.Track, ms int) *media.Unit {
		d := time.Duration(ms) * time.Millisecond
		return &media.Unit{Track: tr, DTS: d, PTS: d, Key: true, Data: [][]byte{tr.SPS, tr.PPS, {0x65, 1, byte(ms)}}}
	}
	a := func(tr *media.Track, ms int) *media.Unit {
		d := time.Duration(ms) * time.Millisecond
		return &media.Unit{Track: tr, DTS: d, PTS: d, Key: true, Data: [][]byte{{0x21, 0x10, byte(ms)}}}
	}
	s := &sink{}
	rx := NewReceiver(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var tags Tags
	var sent []*media.Unit
	for _, c := range []struct {
		u     *media.Unit
		types []byte // the tags sent for it
		err   bool
	}{
		{v(vt, 0), []byte{MsgVideo, MsgVideo}, false},
		{v(vt, 40), []byte{MsgVideo}, false},
		{a(aac, 41), []byte{MsgAudio, MsgAudio}, false},
		{a(aac, 62), []byte{MsgAudio}, false},
		{v(vt2, 80), []byte{MsgVideo, MsgVideo}, false},
		{v(hevc, 81), nil, false},
		{a(opus, 82), nil, true},
		{a(opus, 102), nil, false},
		{a(pcmu, 122), []byte{MsgAudio}, false},
	} {
		out, err := tags.Append(nil, c.u)
		if c.err {
			var nc *AudioNotCarriedError
			require.ErrorAs(t, err, &nc)
			require.Same(t, opus, nc.Track)
		} else {
			require.NoError(t, err)
		}
		var types []byte
		for _, tg := range out {
			types = append(types, tg.Type)
			ts := uint32(c.u.DTS / time.Millisecond)
			if tg.Type == MsgVideo {
				require.NoError(t, rx.Video(ts, tg.Body))
			} else if c.u.Track.Codec == media.CodecAAC {
				require.NoError(t, rx.Audio(ts, tg.Body))
			}
		}
		require.Equal(t, c.types, types, "unit at %v of %s", c.u.DTS, c.u.Track.Codec)
		if len(types) > 0 && c.u.Track.Codec != media.CodecPCMU {
			sent = append(sent, c.u)
		}
	}
	require.Len(t, s.units, len(sent))
	for i, u := range s.units {
		require.Equal(t, sent[i].DTS, u.DTS)
		require.Equal(t, sent[i].Data[len(sent[i].Data)-1], u.Data[len(u.Data)-1])
	}
}
