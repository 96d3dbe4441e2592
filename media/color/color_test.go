package color

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRGB(t *testing.T) {
	for in, want := range map[string][3]uint8{
		"red": {255, 0, 0}, " Navy ": {0, 0, 128}, "#ff8800": {255, 136, 0}, "FF8800": {255, 136, 0},
		"0x0a0B0c": {10, 11, 12}, "grey": {128, 128, 128},
	} {
		got, err := ParseRGB(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "#ff88", "#ff88000", "#gg0000", "reddish", "0x", "#-10000"} {
		_, err := ParseRGB(bad)
		require.Error(t, err, bad)
	}
}

// FromRGB follows BT.601 limited range, as ffmpeg's lavfi colours do.
func TestFromRGB(t *testing.T) {
	require.Equal(t, YUV{16, 128, 128}, FromRGB(0, 0, 0))
	require.Equal(t, YUV{235, 128, 128}, FromRGB(255, 255, 255))
	require.Equal(t, YUV{81, 90, 240}, FromRGB(255, 0, 0)) // BT.601: 16 + 65.481
	require.Equal(t, Black, FromRGB(0, 0, 0))
}
