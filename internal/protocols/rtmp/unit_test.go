package rtmp

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// sink is a media.Publisher that keeps what it is given.
type sink struct {
	tracks    []*media.Track
	units     []*media.Unit
	warning   string
	malformed int
}

func (s *sink) SetTracks(tracks ...*media.Track) { s.tracks = tracks }
func (s *sink) WriteUnit(u *media.Unit)          { s.units = append(s.units, u) }
func (s *sink) SetWarning(msg string)            { s.warning = msg }
func (s *sink) Malformed()                       { s.malformed++ }
func (s *sink) OnKick(func())                    {}
func (s *sink) Close()                           {}

// TestUnitsRoundTripThroughTags: units made into tags by the builders a
// player and a destination are sent with come back out of a Receiver as
// the same units, with their tracks announced first; a codec not taken is
// named once, and a malformed tag is counted.
func TestUnitsRoundTripThroughTags(t *testing.T) {
	s := &sink{}
	r := NewReceiver(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	vt := testTrack(t)
	at, err := media.NewAACTrack([]byte{0x11, 0x90})
	require.NoError(t, err)
	sh, err := AVCSequenceHeaderTag(vt)
	require.NoError(t, err)
	require.NoError(t, r.Video(1000, sh))
	require.NoError(t, r.Audio(1000, AACSequenceHeaderTag(at)))
	require.Len(t, s.tracks, 2)
	require.Equal(t, vt.SPS, s.tracks[0].SPS)
	require.Equal(t, at.Config, s.tracks[1].Config)

	v := &media.Unit{Track: vt, DTS: time.Second, PTS: time.Second + 40*time.Millisecond, Key: true,
		Data: [][]byte{vt.SPS, vt.PPS, {0x65, 1, 2, 3}}}
	a := &media.Unit{Track: at, DTS: 1020 * time.Millisecond, PTS: 1020 * time.Millisecond, Key: true, Data: [][]byte{{0x21, 0x10, 0x04}}}
	require.NoError(t, r.Video(1000, AVCFrameTag(v)))
	require.NoError(t, r.Audio(1020, AACFrameTag(a)))
	require.Len(t, s.units, 2)
	require.Equal(t, v.Data, s.units[0].Data)
	require.Equal(t, []time.Duration{v.DTS, v.PTS}, []time.Duration{s.units[0].DTS, s.units[0].PTS})
	require.True(t, s.units[0].Key)
	require.Equal(t, a.Data, s.units[1].Data)
	require.Equal(t, a.PTS, s.units[1].PTS)

	require.NoError(t, r.Audio(1040, []byte{0x2F, 1, 2})) // MP3
	require.NoError(t, r.Audio(1060, []byte{0x2F, 1, 2}))
	require.Contains(t, s.warning, "MP3")
	require.NoError(t, r.Video(1080, []byte{0x17}))
	require.Equal(t, 1, s.malformed)
}

func TestTimestampsExtendPastWrap(t *testing.T) {
	var ts timestamps
	require.Equal(t, time.Duration(0xFFFFFFF0)*time.Millisecond, ts.extend(0xFFFFFFF0))
	require.Equal(t, time.Duration(1<<32+5)*time.Millisecond, ts.extend(5))
	require.Equal(t, time.Duration(1<<32+3)*time.Millisecond, ts.extend(3), "small steps back are not a wrap")
}

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
