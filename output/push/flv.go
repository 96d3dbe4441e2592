package push

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	amf0 "github.com/yutopp/go-amf0"

	"switchyard/media"
)

// FLV tag bodies for RTMP audio and video messages (Adobe FLV specification
// v10.1, E.4.2.1 AUDIODATA and E.4.3.1 VIDEODATA).

// avcSequenceHeader builds the AVC sequence header: an
// AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1) behind the tag header.
func avcSequenceHeader(t *media.Track) ([]byte, error) {
	if len(t.SPS) < 4 || len(t.PPS) == 0 {
		return nil, errors.New("video track without SPS/PPS")
	}
	b := []byte{0x17, 0, 0, 0, 0, // key frame, AVC, sequence header, cts 0
		1, t.SPS[1], t.SPS[2], t.SPS[3], 0xff, 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.SPS)))
	b = append(b, t.SPS...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.PPS)))
	return append(b, t.PPS...), nil
}

// avcFrame builds a video tag with AVCC (length-prefixed) NAL units.
func avcFrame(u *media.Unit) []byte {
	n := 5
	for _, d := range u.Data {
		n += 4 + len(d)
	}
	b := make([]byte, 5, n)
	b[0] = 0x27
	if u.Key {
		b[0] = 0x17
	}
	b[1] = 1
	cts := int32((u.PTS - u.DTS) / time.Millisecond)
	b[2], b[3], b[4] = byte(cts>>16), byte(cts>>8), byte(cts)
	for _, d := range u.Data {
		b = binary.BigEndian.AppendUint32(b, uint32(len(d)))
		b = append(b, d...)
	}
	return b
}

// aacHeader is the AAC, 44 kHz flag, 16-bit, stereo sound header byte that
// FLV requires for AAC whatever the real rate (the AudioSpecificConfig rules).
const aacHeader = 0xAF

func aacSequenceHeader(t *media.Track) []byte {
	return append([]byte{aacHeader, 0}, t.Config...)
}

func aacFrame(u *media.Unit) []byte {
	return append([]byte{aacHeader, 1}, u.Data[0]...)
}

// onMetaData builds the @setDataFrame data message describing the stream.
func onMetaData(v, a *media.Track, videoBPS, audioBPS int) ([]byte, error) {
	var b bytes.Buffer
	enc := amf0.NewEncoder(&b)
	meta := amf0.ECMAArray{
		"width": float64(v.Width), "height": float64(v.Height), "framerate": v.FPS,
		"videocodecid": float64(7), "videodatarate": float64(videoBPS) / 1000,
		"encoder": "Switchyard",
	}
	if a != nil {
		meta["audiocodecid"] = float64(10)
		meta["audiosamplerate"] = float64(a.SampleRate)
		meta["audiochannels"] = float64(a.Channels)
		meta["stereo"] = a.Channels == 2
		meta["audiodatarate"] = float64(audioBPS) / 1000
	}
	for _, x := range []any{"@setDataFrame", "onMetaData", meta} {
		if err := enc.Encode(x); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}
