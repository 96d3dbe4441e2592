package rtmp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A real SPS/PPS pair (x264, 320x240 High profile).
var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
)

func avcConfig(sps, pps []byte) []byte {
	b := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1, byte(len(sps) >> 8), byte(len(sps))}
	b = append(b, sps...)
	b = append(b, 1, byte(len(pps)>>8), byte(len(pps)))
	return append(b, pps...)
}

func TestParseVideoTag(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      []byte
		wantErr bool
		key     bool
		typ     int
		cts     time.Duration
	}{
		{"key nalu", []byte{0x17, 1, 0, 0, 40, 9}, false, true, avcNALU, 40 * time.Millisecond},
		{"inter nalu negative cts", []byte{0x27, 1, 0xff, 0xff, 0xf6}, false, false, avcNALU, -10 * time.Millisecond},
		{"sequence header", []byte{0x17, 0, 0, 0, 0}, false, true, avcSequenceHeader, 0},
		{"empty", nil, true, false, 0, 0},
		{"truncated", []byte{0x17, 1}, true, false, 0, 0},
		{"not avc", []byte{0x12, 0, 0, 0, 0}, true, false, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			tag, err := parseVideoTag(c.in)
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

func TestParseAVCConfig(t *testing.T) {
	sps, pps, err := parseAVCConfig(avcConfig(testSPS, testPPS))
	require.NoError(t, err)
	require.Equal(t, testSPS, sps)
	require.Equal(t, testPPS, pps)
	tr, err := h264Track(sps, pps)
	require.NoError(t, err)
	require.Equal(t, 320, tr.Width)
	require.Equal(t, 240, tr.Height)

	good := avcConfig(testSPS, testPPS)
	for i := range len(good) {
		_, _, err := parseAVCConfig(good[:i])
		require.Error(t, err, "truncated at %d", i)
	}
}

func TestParseStreamName(t *testing.T) {
	n, k := ParseStreamName("cam2?key=s3cret")
	require.Equal(t, "cam2", n)
	require.Equal(t, "s3cret", k)
	n, k = ParseStreamName("cam1")
	require.Equal(t, "cam1", n)
	require.Empty(t, k)
}

func TestTimestampsExtendPastWrap(t *testing.T) {
	var ts timestamps
	require.Equal(t, time.Duration(0xFFFFFFF0)*time.Millisecond, ts.extend(0xFFFFFFF0))
	require.Equal(t, time.Duration(1<<32+5)*time.Millisecond, ts.extend(5))
	require.Equal(t, time.Duration(1<<32+3)*time.Millisecond, ts.extend(3), "small steps back are not a wrap")
}
