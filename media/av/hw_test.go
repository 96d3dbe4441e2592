package av

import (
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"
)

// The hardware devices and encoders open where the host has them, and
// where it does not (the machines here have no GPU), they say which one is
// missing; a kind or encoder that does not exist is refused by name.
func TestHardwareDevicesAndEncoders(t *testing.T) {
	_, err := OpenHWDevice("opencl", "")
	require.ErrorContains(t, err, `"opencl": must be cuda, vaapi or qsv`)

	for _, kind := range []string{HWCUDA, HWVAAPI, HWQSV} {
		dev, err := OpenHWDevice(kind, "")
		if err != nil {
			var ae *Error
			require.ErrorAs(t, err, &ae, kind)
			require.Contains(t, err.Error(), "open hardware device "+kind, "the error names the device")
			t.Logf("%s: %v", kind, err)
			continue
		}
		// a GPU here: a picture encoded and decoded on it comes back
		t.Logf("%s: opened", kind)
		encodeDecodeOn(t, kind, dev)
		dev.Close()
		dev.Close()
	}
	bad := "/dev/dri/renderD999"
	_, err = OpenHWDevice(HWVAAPI, bad)
	require.ErrorContains(t, err, "open hardware device vaapi at "+bad)

	_, err = NewH264Encoder(H264Config{Width: 320, Height: 240, FPSNum: 30, BitrateBPS: 500_000, GOP: 30, Encoder: "av1"})
	require.ErrorContains(t, err, `video encoder "av1": must be x264, nvenc, vaapi or qsv`)
	_, err = NewH264Encoder(H264Config{Width: 320, Height: 240, FPSNum: 30, BitrateBPS: 500_000, GOP: 30, Encoder: EncoderVAAPI})
	require.ErrorContains(t, err, "needs a VAAPI device")
	for _, enc := range []string{EncoderNVENC, EncoderQSV} {
		e, err := NewH264Encoder(H264Config{Width: 320, Height: 240, FPSNum: 30, BitrateBPS: 500_000, GOP: 30, Encoder: enc})
		if err != nil {
			require.Contains(t, err.Error(), "open h264_"+enc, "the error names the encoder")
			continue
		}
		e.Close()
	}
	require.Equal(t, HWCUDA, EncoderDevice(EncoderNVENC))
	require.Equal(t, "", EncoderDevice(EncoderX264))
}

// encodeDecodeOn encodes grey pictures with kind's encoder and decodes
// them on the device: what comes back is the same grey.
func encodeDecodeOn(t *testing.T, kind string, dev *HWDevice) {
	enc := map[string]string{HWCUDA: EncoderNVENC, HWVAAPI: EncoderVAAPI, HWQSV: EncoderQSV}[kind]
	e, err := NewH264Encoder(H264Config{Width: 320, Height: 240, FPSNum: 30, BitrateBPS: 1_000_000, GOP: 30, Encoder: enc, Device: dev})
	require.NoError(t, err)
	defer e.Close()
	d, err := NewVideoDecoderOn("h264", 1, dev)
	require.NoError(t, err)
	defer d.Close()
	f, err := NewFrame(320, 240)
	require.NoError(t, err)
	defer f.Free()
	f.Fill(128, 128, 128)
	thumb, err := NewFrame(16, 16)
	require.NoError(t, err)
	defer thumb.Free()
	var sc Scaler
	defer sc.Close()
	got := 0
	for i := range 10 {
		require.NoError(t, e.Encode(f, int64(i), i == 0, func(p Packet) {
			var au h264.AnnexB
			require.NoError(t, au.Unmarshal(append([]byte(nil), p.Data...)))
			require.NoError(t, d.Decode(au, int64(i), func(p Picture, _ int64) {
				require.NoError(t, sc.Scale(p, thumb, Rect{W: 16, H: 16}))
				require.InDelta(t, 128, int(thumb.Y[8*thumb.StrideY+8]), 6)
				got++
			}))
		}))
	}
	require.Positive(t, got, "pictures came back from the device")
}
