package av

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpusRoundTrip: a 1 kHz tone encoded with libopus decodes back (with
// FFmpeg's Opus decoder) at about its level.
func TestOpusRoundTrip(t *testing.T) {
	enc, err := NewOpusEncoder(128_000)
	require.NoError(t, err)
	defer enc.Close()
	require.Equal(t, 960, enc.FrameSize())
	dec, err := NewAudioDecoder("opus", nil, 48000, 2, 48000)
	require.NoError(t, err)
	defer dec.Close()
	buf := make([]float32, 2*960)
	var packets, samples int
	var peak float32
	for f := range 50 {
		for i := range 960 {
			v := float32(0.5 * math.Sin(2*math.Pi*1000*float64(f*960+i)/48000))
			buf[2*i], buf[2*i+1] = v, v
		}
		require.NoError(t, enc.Encode(buf, int64(f*960), func(p Packet) {
			packets++
			require.NoError(t, dec.Decode(p.Data, func(s []float32) {
				samples += len(s) / 2
				for _, v := range s {
					peak = max(peak, v)
				}
			}))
		}))
	}
	require.Greater(t, packets, 40)
	require.Greater(t, samples, 40*960)
	require.InDelta(t, 0.5, peak, 0.1)
}
