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
