package rtmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"switchyard/media"
)

// FLV tag bodies as carried in RTMP video and audio messages
// (Adobe Flash Video File Format Specification v10.1, E.4.2 and E.4.3).

// FLV codec ids.
const (
	flvCodecAVC = 7
	flvSoundAAC = 10
)

// AVC packet types.
const (
	avcSequenceHeader = 0
	avcNALU           = 1
	avcEndOfSequence  = 2
)

var errShort = errors.New("message too short")

// videoTag is the parsed header of an FLV VIDEODATA body.
type videoTag struct {
	Key        bool
	Codec      int
	PacketType int
	// CompositionTime is PTS − DTS.
	CompositionTime time.Duration
	Body            []byte
}

func parseVideoTag(b []byte) (videoTag, error) {
	if len(b) < 1 {
		return videoTag{}, errShort
	}
	t := videoTag{Key: b[0]>>4 == 1, Codec: int(b[0] & 0x0f)}
	if t.Codec != flvCodecAVC {
		return t, fmt.Errorf("video codec id %d is not supported (send H.264)", t.Codec)
	}
	if len(b) < 5 {
		return t, errShort
	}
	t.PacketType = int(b[1])
	cts := int32(uint32(b[2])<<16|uint32(b[3])<<8|uint32(b[4])) << 8 >> 8 // SI24
	t.CompositionTime = time.Duration(cts) * time.Millisecond
	t.Body = b[5:]
	return t, nil
}

// parseAVCConfig reads an AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1)
// and returns the first SPS and PPS.
func parseAVCConfig(b []byte) (sps, pps []byte, err error) {
	if len(b) < 6 || b[0] != 1 {
		return nil, nil, fmt.Errorf("bad AVC decoder configuration record")
	}
	n := int(b[5] & 0x1f)
	p := 6
	for i := 0; i < n; i++ {
		if p+2 > len(b) {
			return nil, nil, errShort
		}
		l := int(binary.BigEndian.Uint16(b[p:]))
		p += 2
		if p+l > len(b) {
			return nil, nil, errShort
		}
		if i == 0 {
			sps = b[p : p+l]
		}
		p += l
	}
	if p+1 > len(b) {
		return nil, nil, errShort
	}
	n = int(b[p])
	p++
	for i := 0; i < n; i++ {
		if p+2 > len(b) {
			return nil, nil, errShort
		}
		l := int(binary.BigEndian.Uint16(b[p:]))
		p += 2
		if p+l > len(b) {
			return nil, nil, errShort
		}
		if i == 0 {
			pps = b[p : p+l]
		}
		p += l
	}
	if len(sps) == 0 || len(pps) == 0 {
		return nil, nil, fmt.Errorf("AVC configuration without SPS or PPS")
	}
	return sps, pps, nil
}

// h264Track builds a video track from SPS and PPS.
func h264Track(sps, pps []byte) (*media.Track, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("SPS: %w", err)
	}
	return &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, Width: s.Width(), Height: s.Height(),
		FPS: s.FPS(), SPS: sps, PPS: pps}, nil
}

// audioTag is the parsed header of an FLV AUDIODATA body carrying AAC.
type audioTag struct {
	SequenceHeader bool
	Body           []byte
}

func parseAudioTag(b []byte) (audioTag, error) {
	if len(b) < 1 {
		return audioTag{}, errShort
	}
	if f := int(b[0] >> 4); f != flvSoundAAC {
		return audioTag{}, fmt.Errorf("audio format %d is not supported (send AAC)", f)
	}
	if len(b) < 2 {
		return audioTag{}, errShort
	}
	return audioTag{SequenceHeader: b[1] == 0, Body: b[2:]}, nil
}

// aacTrack builds an audio track from an AudioSpecificConfig.
func aacTrack(asc []byte) (*media.Track, error) {
	var c mpeg4audio.AudioSpecificConfig
	if err := c.Unmarshal(asc); err != nil {
		return nil, fmt.Errorf("AAC config: %w", err)
	}
	ch := c.ChannelCount
	return &media.Track{Kind: media.KindAudio, Codec: media.CodecAAC, SampleRate: c.SampleRate,
		Channels: ch, Config: asc}, nil
}

// splitAVCC splits length-prefixed NAL units (4-byte lengths).
func splitAVCC(b []byte) ([][]byte, error) {
	var au h264.AVCC
	if err := au.Unmarshal(b); err != nil {
		return nil, err
	}
	return au, nil
}
