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
