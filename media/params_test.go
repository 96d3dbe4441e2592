package media

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeyWithParams(t *testing.T) {
	sps, pps := []byte{0x67, 1}, []byte{0x68, 2}
	idr, slice, aud := []byte{0x65, 3}, []byte{0x41, 4}, []byte{0x09, 0xf0}
	nalus, key := H264KeyWithParams([][]byte{aud, idr}, sps, pps)
	require.True(t, key)
	require.Equal(t, [][]byte{sps, pps, idr}, nalus, "parameter sets in front, delimiter dropped")
	nalus, key = H264KeyWithParams([][]byte{slice}, sps, pps)
	require.False(t, key)
	require.Equal(t, [][]byte{slice}, nalus)

	// H.265: NAL type in bits 1..6 of the first byte.
	hn := func(typ byte, b byte) []byte { return []byte{typ << 1, 1, b} }
	vps, hsps, hpps := hn(32, 1), hn(33, 2), hn(34, 3)
	cra, trail, haud := hn(21, 4), hn(1, 5), hn(35, 6)
	nalus, key = H265KeyWithParams([][]byte{haud, cra}, vps, hsps, hpps)
	require.True(t, key, "a CRA is a key unit")
	require.Equal(t, [][]byte{vps, hsps, hpps, cra}, nalus)
	own := [][]byte{hn(32, 9), hn(33, 9), hn(34, 9), hn(19, 9)}
	nalus, key = H265KeyWithParams(own, vps, hsps, hpps)
	require.True(t, key)
	require.Equal(t, own, nalus, "parameter sets sent in band are kept")
	nalus, key = H265KeyWithParams([][]byte{trail}, vps, hsps, hpps)
	require.False(t, key)
	require.Equal(t, [][]byte{trail}, nalus)
}

// FuzzCodecConfig feeds codec configuration from the network (SDP, FLV
// sequence headers, encoders) to the track constructors: they refuse or
// describe a picture with a size and a stream with a rate, never panic.
func FuzzCodecConfig(f *testing.F) {
	// x264 320x240 Baseline SPS/PPS and an AAC-LC 48 kHz stereo config
	sps := []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x23, 0xc5, 0x0a, 0xa8}
	pps := []byte{0x68, 0xce, 0x0f, 0xc8}
	f.Add(sps, pps, []byte{0x11, 0x90})
	f.Add(append([]byte{0, 0, 0, 1}, sps...), pps, []byte{0x12, 0x10})
	f.Add([]byte{0x40, 0x01, 0x0c}, []byte{0x42, 0x01}, []byte{0xff, 0xff, 0xff})
	f.Add([]byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		if tr, err := NewH264Track(a, b, 0); err == nil && (tr.Width <= 0 || tr.Height <= 0) {
			t.Fatalf("H.264 track of %dx%d accepted", tr.Width, tr.Height)
		}
		annexB := append(append(append([]byte{0, 0, 0, 1}, a...), 0, 0, 0, 1), b...)
		if tr, err := H264TrackFromAnnexB(annexB, 30); err == nil && (tr.Width <= 0 || tr.Height <= 0 || len(tr.PPS) == 0) {
			t.Fatalf("H.264 track of %dx%d accepted from Annex B", tr.Width, tr.Height)
		}
		if tr, err := NewH265Track(c, a, b); err == nil && (tr.Width <= 0 || tr.Height <= 0) {
			t.Fatalf("H.265 track of %dx%d accepted", tr.Width, tr.Height)
		}
		if tr, err := NewAACTrack(c); err == nil && (tr.SampleRate <= 0 || tr.Channels <= 0) {
			t.Fatalf("AAC track at %d Hz with %d channels accepted", tr.SampleRate, tr.Channels)
		}
	})
}

// AnnexBNALUs splits a stream of any length at both forms of start code;
// H264TrackFromAnnexB takes a whole stream, not only extradata.
func TestAnnexBNALUs(t *testing.T) {
	var stream []byte
	for i := 0; i < 120; i++ {
		if i%2 == 0 {
			stream = append(stream, 0, 0, 0, 1)
		} else {
			stream = append(stream, 0, 0, 1)
		}
		stream = append(stream, byte(0x41), byte(i), 0, 7) // a trailing zero inside stays
	}
	nalus := AnnexBNALUs(stream)
	require.Len(t, nalus, 120)
	for i, n := range nalus {
		require.Equal(t, []byte{0x41, byte(i), 0, 7}, n, "NAL unit %d", i)
	}
	require.Empty(t, AnnexBNALUs(nil))
	require.Empty(t, AnnexBNALUs([]byte{0, 0, 1}))
}

// In-band parameter sets make a track when they come first or change, and
// none when they repeat, are incomplete or cannot be read; the track keeps
// its own copies of the bytes.
func TestTrackFromParams(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x23, 0xc5, 0x0a, 0xa8}
	pps := []byte{0x68, 0xce, 0x0f, 0xc8}
	idr := []byte{0x65, 0x88}
	buf := append(append([]byte(nil), sps...), pps...) // a demuxer's buffer
	au := [][]byte{buf[:len(sps)], buf[len(sps):], idr}
	tr := TrackFromParams(CodecH264, nil, au)
	require.NotNil(t, tr)
	require.Equal(t, 320, tr.Width)
	require.Equal(t, 240, tr.Height)
	clear(buf)
	require.Equal(t, sps, tr.SPS, "a copy, not the demuxer's bytes")
	require.Equal(t, pps, tr.PPS)

	require.Nil(t, TrackFromParams(CodecH264, tr, [][]byte{sps, pps, idr}), "the same set again: no new track")
	require.Nil(t, TrackFromParams(CodecH264, nil, [][]byte{sps, idr}), "no PPS")
	require.Nil(t, TrackFromParams(CodecH264, nil, [][]byte{{0x67, 0xff}, pps, idr}), "an SPS that cannot be read")
	pps2 := []byte{0x68, 0xce, 0x0f, 0xc9}
	tr2 := TrackFromParams(CodecH264, tr, [][]byte{sps, pps2, idr})
	require.NotNil(t, tr2, "a changed PPS is a new track")
	require.Equal(t, pps2, tr2.PPS)

	hn := func(typ byte, b byte) []byte { return []byte{typ << 1, 1, b} }
	require.Nil(t, TrackFromParams(CodecH265, nil, [][]byte{hn(33, 2), hn(34, 3), hn(19, 4)}), "H.265 needs its VPS")
	require.Nil(t, TrackFromParams(CodecH265, nil, [][]byte{hn(32, 1), hn(33, 2), hn(34, 3)}), "parameter sets that cannot be read")
}
