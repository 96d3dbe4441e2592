package av

import (
	"math"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"

	"switchyard/media"
)

func encodeSolid(t *testing.T, enc *VideoEncoder, f *Frame, n int) [][][]byte {
	t.Helper()
	var params h264.AnnexB
	require.NoError(t, params.Unmarshal(enc.Extradata()))
	require.Len(t, params, 2)
	var aus [][][]byte
	for i := range n {
		require.NoError(t, enc.Encode(f, int64(i), false, func(p Packet) {
			var au h264.AnnexB
			require.NoError(t, au.Unmarshal(append([]byte(nil), p.Data...)))
			withParams, key := media.H264KeyWithParams(au, params[0], params[1])
			require.Equal(t, p.Key, key)
			aus = append(aus, withParams)
		}))
	}
	return aus
}

func TestH264RoundTripAndScale(t *testing.T) {
	enc, err := NewH264Encoder(H264Config{Width: 320, Height: 240, FPSNum: 30, FPSDen: 1, BitrateBPS: 500_000, GOP: 30})
	require.NoError(t, err)
	defer enc.Close()
	require.NotEmpty(t, enc.Extradata())

	src, err := NewFrame(320, 240)
	require.NoError(t, err)
	defer src.Free()
	src.Fill(81, 90, 240) // red in BT.601 limited range

	aus := encodeSolid(t, enc, src, 5)
	require.Len(t, aus, 5, "zerolatency must emit one packet per frame")

	dec, err := NewVideoDecoder("h264", 1)
	require.NoError(t, err)
	defer dec.Close()
	pool := NewFramePool(640, 480)
	defer pool.Close()
	dst, err := pool.Get()
	require.NoError(t, err)
	defer dst.Release()
	dst.Fill(16, 128, 128)
	var sc Scaler
	defer sc.Close()

	got := 0
	for i, au := range aus {
		require.NoError(t, dec.Decode(au, int64(i), func(p Picture, _ int64) {
			got++
			require.Equal(t, 320, p.Width())
			require.NoError(t, sc.Scale(p, dst, Rect{X: 100, Y: 100, W: 200, H: 100}))
		}))
	}
	require.Equal(t, 5, got)
	in := func(x, y int) (byte, byte, byte) {
		return dst.Y[y*dst.StrideY+x], dst.U[(y/2)*dst.StrideC+x/2], dst.V[(y/2)*dst.StrideC+x/2]
	}
	y, u, v := in(200, 150)
	require.InDelta(t, 81, int(y), 4)
	require.InDelta(t, 90, int(u), 4)
	require.InDelta(t, 240, int(v), 4)
	y, _, _ = in(50, 50)
	require.EqualValues(t, 16, y, "outside the rectangle stays untouched")

	// steady state: decoding and scaling allocate nothing per frame
	fn := func(p Picture, _ int64) { _ = sc.Scale(p, dst, Rect{X: 0, Y: 0, W: 640, H: 480}) }
	i := 0
	allocs := testing.AllocsPerRun(20, func() {
		_ = dec.Decode(aus[1+i%4], int64(i), fn)
		i++
	})
	require.Zero(t, allocs)
}

func TestFramePoolReuses(t *testing.T) {
	p := NewFramePool(64, 64)
	defer p.Close()
	a, err := p.Get()
	require.NoError(t, err)
	a.Retain()
	a.Release()
	a.Release()
	b, err := p.Get()
	require.NoError(t, err)
	require.Same(t, a, b)
	b.Release()
}

func TestAACRoundTrip(t *testing.T) {
	enc, err := NewAACEncoder(48000, 128_000)
	require.NoError(t, err)
	defer enc.Close()
	require.Equal(t, 1024, enc.FrameSize())
	dec, err := NewAudioDecoder("aac", enc.Extradata(), 48000, 2, 48000)
	require.NoError(t, err)
	defer dec.Close()

	buf := make([]float32, 2*enc.FrameSize())
	var out []float32
	for i := range 20 {
		for s := range enc.FrameSize() {
			v := float32(0.5 * math.Sin(2*math.Pi*1000*float64(i*enc.FrameSize()+s)/48000))
			buf[2*s], buf[2*s+1] = v, v
		}
		require.NoError(t, enc.Encode(buf, int64(i*enc.FrameSize()), func(p Packet) {
			require.NoError(t, dec.Decode(p.Data, func(s []float32) { out = append(out, s...) }))
		}))
	}
	require.Greater(t, len(out), 2*enc.FrameSize()*10)
	// RMS of a 0.5 sine is 0.354; skip the encoder's priming.
	var sum float64
	tail := out[len(out)/2:]
	for _, s := range tail {
		sum += float64(s) * float64(s)
	}
	require.InDelta(t, 0.354, math.Sqrt(sum/float64(len(tail))), 0.05)
}
