package rtmp

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// A real SPS/PPS pair (x264, 320x240 High profile).
var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
)

var videoCases = []struct {
	name    string
	in      []byte
	wantErr bool
	key     bool
	typ     int
	cts     time.Duration
}{
	{"key nalu", []byte{0x17, 1, 0, 0, 40, 0, 0, 0, 1, 9}, false, true, AVCNALU, 40 * time.Millisecond},
	{"inter nalu negative cts", []byte{0x27, 1, 0xff, 0xff, 0xf6}, false, false, AVCNALU, -10 * time.Millisecond},
	{"sequence header", []byte{0x17, 0, 0, 0, 0}, false, true, AVCSequenceHeader, 0},
	{"empty", nil, true, false, 0, 0},
	{"truncated", []byte{0x17, 1}, true, false, 0, 0},
	{"not avc", []byte{0x12, 0, 0, 0, 0}, true, false, 0, 0},
}

func TestParseVideoTag(t *testing.T) {
	for _, c := range videoCases {
		t.Run(c.name, func(t *testing.T) {
			tag, err := ParseVideoTag(c.in)
			if c.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.key, tag.Key)
			require.Equal(t, c.typ, tag.PacketType)
			require.Equal(t, c.cts, tag.CompositionTime)
		})
	}
}

func testTrack(t testing.TB) *media.Track {
	tr, err := media.NewH264Track(testSPS, testPPS, 0)
	require.NoError(t, err)
	return tr
}

func TestSequenceHeaderRoundTrip(t *testing.T) {
	tr := testTrack(t)
	require.Equal(t, 320, tr.Width)
	require.Equal(t, 240, tr.Height)
	b, err := AVCSequenceHeaderTag(tr)
	require.NoError(t, err)
	tag, err := ParseVideoTag(b)
	require.NoError(t, err)
	require.Equal(t, AVCSequenceHeader, tag.PacketType)
	sps, pps, err := ParseAVCConfig(tag.Body)
	require.NoError(t, err)
	require.Equal(t, testSPS, sps)
	require.Equal(t, testPPS, pps)
	for i := range len(tag.Body) {
		_, _, err := ParseAVCConfig(tag.Body[:i])
		require.Error(t, err, "truncated at %d", i)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	u := &media.Unit{Track: testTrack(t), DTS: time.Second, PTS: time.Second + 66*time.Millisecond, Key: true,
		Data: [][]byte{testSPS, testPPS, {0x65, 1, 2, 3}}}
	tag, err := ParseVideoTag(AVCFrameTag(u))
	require.NoError(t, err)
	require.True(t, tag.Key)
	require.Equal(t, 66*time.Millisecond, tag.CompositionTime)
	nalus, err := SplitAVCC(tag.Body)
	require.NoError(t, err)
	require.Equal(t, u.Data, nalus)

	a := &media.Unit{Data: [][]byte{{0x21, 0x10, 0x04}}}
	at, err := ParseAudioTag(AACFrameTag(a))
	require.NoError(t, err)
	require.False(t, at.SequenceHeader)
	require.Equal(t, a.Data[0], at.Body)
	asc := []byte{0x11, 0x90}
	at, err = ParseAudioTag(AACSequenceHeaderTag(&media.Track{Config: asc}))
	require.NoError(t, err)
	require.True(t, at.SequenceHeader)
	tr, err := media.NewAACTrack(at.Body)
	require.NoError(t, err)
	require.Equal(t, 48000, tr.SampleRate)
	require.Equal(t, 2, tr.Channels)
}

// FuzzVideoTag: the parser never panics; whatever it accepts as NAL units
// builds back into a tag that parses to the same units and timing.
func FuzzVideoTag(f *testing.F) {
	for _, c := range videoCases {
		f.Add(c.in)
	}
	seq, _ := AVCSequenceHeaderTag(testTrack(f))
	f.Add(seq)
	// Enhanced RTMP hvc1: a sequence start with one VPS/SPS/PPS each, coded frames
	hvcc := append(append([]byte{0x90, 'h', 'v', 'c', '1', 1}, make([]byte, 20)...), 3, 16,
		0xa0, 0, 1, 0, 2, 0x40, 1, 0xa1, 0, 1, 0, 2, 0x42, 1, 0xa2, 0, 1, 0, 2, 0x44, 1)
	f.Add(hvcc)
	f.Add([]byte{0x91, 'h', 'v', 'c', '1', 0, 0, 33, 0, 0, 0, 3, 0x26, 1, 0xaf})
	f.Add([]byte{0xa3, 'h', 'v', 'c', '1', 0, 0, 0, 3, 2, 1, 0xd0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := ParseVideoTag(b)
		if err != nil {
			return
		}
		if tag.Codec == CodecHEVC {
			if tag.PacketType == AVCSequenceHeader {
				if vps, sps, pps, err := ParseHEVCConfig(tag.Body); err == nil {
					for _, n := range [][]byte{vps, sps, pps} {
						require.NotEmpty(t, n)
						require.True(t, bytes.Contains(tag.Body, n))
					}
				}
			}
			return
		}
		switch tag.PacketType {
		case AVCSequenceHeader:
			sps, pps, err := ParseAVCConfig(tag.Body)
			if err == nil {
				require.NotEmpty(t, sps)
				require.NotEmpty(t, pps)
				require.True(t, bytes.Contains(tag.Body, sps) && bytes.Contains(tag.Body, pps))
			}
		case AVCNALU:
			nalus, err := SplitAVCC(tag.Body)
			if err != nil || len(nalus) == 0 {
				return
			}
			u := &media.Unit{Key: tag.Key, DTS: time.Second, PTS: time.Second + tag.CompositionTime, Data: nalus}
			back, err := ParseVideoTag(AVCFrameTag(u))
			require.NoError(t, err)
			require.Equal(t, tag.Key, back.Key)
			require.Equal(t, tag.CompositionTime, back.CompositionTime)
			again, err := SplitAVCC(back.Body)
			require.NoError(t, err)
			require.Equal(t, nalus, again)
		}
	})
}

// FuzzAudioTag: the parser never panics, and a parsed AAC frame rebuilds to the same bytes.
func FuzzAudioTag(f *testing.F) {
	f.Add([]byte{0xAF, 0, 0x11, 0x90})
	f.Add([]byte{0xAF, 1, 0x21, 0x10})
	f.Add([]byte{0x2F, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := ParseAudioTag(b)
		if err != nil || tag.SequenceHeader {
			return
		}
		require.Equal(t, b[2:], AACFrameTag(&media.Unit{Data: [][]byte{tag.Body}})[2:])
		if b[0] == aacHeader {
			require.Equal(t, b, AACFrameTag(&media.Unit{Data: [][]byte{tag.Body}}))
		}
	})
}
