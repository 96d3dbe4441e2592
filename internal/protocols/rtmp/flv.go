// FLV: this file reads and builds the FLV tag bodies that RTMP audio and video
// messages carry (Adobe Flash Video File Format Specification v10.1, E.4.2.1
// AUDIODATA and E.4.3.1 VIDEODATA), for H.264 and AAC, and reads H.265 as
// Enhanced RTMP carries it (veovera.org, "Enhanced RTMP" v1: the extended
// video tag header with FourCC "hvc1", as OBS sends it).

package rtmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/media"
)

// Codec ids. CodecHEVC marks an Enhanced RTMP "hvc1" tag (it has no codec
// id of its own in the legacy header).
const (
	CodecAVC  = 7
	CodecHEVC = 12
	SoundAAC  = 10
	// SoundALaw and SoundMuLaw are G.711 (E.4.2.1: 7 and 8), which FLV
	// carries at 8 kHz only.
	SoundALaw  = 7
	SoundMuLaw = 8
)

// AVC packet types.
const (
	AVCSequenceHeader = 0
	AVCNALU           = 1
	AVCEndOfSequence  = 2
)

// ErrShort reports a tag body cut short.
var ErrShort = errors.New("flv: message too short")

// UnsupportedError is a well-formed tag of a codec Switchyard does not
// take: not a malformed message, a track to name to the operator.
type UnsupportedError struct {
	Kind  string // "audio" or "video"
	Codec string
	Want  string // what is taken
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("flv: %s codec %s is not taken (send %s)", e.Kind, e.Codec, e.Want)
}

var audioNames = map[int]string{0: "PCM", 1: "ADPCM", 2: "MP3", 3: "PCM (little-endian)", 4: "Nellymoser 16 kHz",
	5: "Nellymoser 8 kHz", 6: "Nellymoser", 7: "G.711 A-law", 8: "G.711 µ-law", 11: "Speex", 14: "MP3 8 kHz"}

var videoNames = map[int]string{1: "JPEG", 2: "Sorenson H.263", 3: "Screen video", 4: "On2 VP6", 5: "On2 VP6 with alpha", 6: "Screen video 2"}

func codecName(names map[int]string, id int) string {
	if n, ok := names[id]; ok {
		return fmt.Sprintf("%s (id %d)", n, id)
	}
	return fmt.Sprintf("id %d", id)
}

// VideoTag is a parsed VIDEODATA body.
type VideoTag struct {
	Key        bool
	Codec      int
	PacketType int
	// CompositionTime is PTS − DTS.
	CompositionTime time.Duration
	Body            []byte
}

// ParseVideoTag reads the header of a VIDEODATA body; Body aliases b.
func ParseVideoTag(b []byte) (VideoTag, error) {
	if len(b) < 1 {
		return VideoTag{}, ErrShort
	}
	if b[0]&0x80 != 0 {
		return parseExVideoTag(b)
	}
	t := VideoTag{Key: b[0]>>4 == 1, Codec: int(b[0] & 0x0f)}
	if t.Codec != CodecAVC {
		return t, &UnsupportedError{Kind: "video", Codec: codecName(videoNames, t.Codec), Want: "H.264, or H.265 as Enhanced RTMP hvc1"}
	}
	if len(b) < 5 {
		return t, ErrShort
	}
	t.PacketType = int(b[1])
	cts := int32(uint32(b[2])<<16|uint32(b[3])<<8|uint32(b[4])) << 8 >> 8 // SI24
	t.CompositionTime = time.Duration(cts) * time.Millisecond
	t.Body = b[5:]
	return t, nil
}

// Enhanced RTMP packet types (ExVideoTagHeader).
const (
	exSequenceStart = 0
	exCodedFrames   = 1
	exSequenceEnd   = 2
	exCodedFramesX  = 3
)

// parseExVideoTag reads an Enhanced RTMP video tag: IsExHeader, FrameType,
// PacketType, FourCC, then (for CodedFrames) a composition time. Packet
// types are mapped onto the AVC ones; types it has no use for (metadata)
// come back with PacketType −1.
func parseExVideoTag(b []byte) (VideoTag, error) {
	if len(b) < 5 {
		return VideoTag{}, ErrShort
	}
	t := VideoTag{Key: (b[0]>>4)&0x07 == 1, PacketType: -1}
	if fourCC := string(b[1:5]); fourCC != "hvc1" {
		return t, &UnsupportedError{Kind: "video", Codec: fmt.Sprintf("Enhanced RTMP %q", fourCC), Want: "H.264, or H.265 as hvc1"}
	}
	t.Codec = CodecHEVC
	switch b[0] & 0x0f {
	case exSequenceStart:
		t.PacketType, t.Body = AVCSequenceHeader, b[5:]
	case exCodedFrames:
		if len(b) < 8 {
			return t, ErrShort
		}
		cts := int32(uint32(b[5])<<16|uint32(b[6])<<8|uint32(b[7])) << 8 >> 8
		t.PacketType, t.CompositionTime, t.Body = AVCNALU, time.Duration(cts)*time.Millisecond, b[8:]
	case exCodedFramesX:
		t.PacketType, t.Body = AVCNALU, b[5:]
	case exSequenceEnd:
		t.PacketType = AVCEndOfSequence
	}
	return t, nil
}

// ParseHEVCConfig reads an HEVCDecoderConfigurationRecord (ISO 14496-15
// 8.3.3.1) and returns its first VPS, SPS and PPS (aliasing b).
func ParseHEVCConfig(b []byte) (vps, sps, pps []byte, err error) {
	if len(b) < 23 || b[0] != 1 {
		return nil, nil, nil, errors.New("flv: bad HEVC decoder configuration record")
	}
	p, arrays := 23, int(b[22])
	for range arrays {
		if p+3 > len(b) {
			return nil, nil, nil, ErrShort
		}
		typ, n := b[p]&0x3f, int(binary.BigEndian.Uint16(b[p+1:]))
		p += 3
		for range n {
			if p+2 > len(b) {
				return nil, nil, nil, ErrShort
			}
			l := int(binary.BigEndian.Uint16(b[p:]))
			p += 2
			if p+l > len(b) {
				return nil, nil, nil, ErrShort
			}
			nalu := b[p : p+l]
			p += l
			switch {
			case typ == 32 && vps == nil:
				vps = nalu
			case typ == 33 && sps == nil:
				sps = nalu
			case typ == 34 && pps == nil:
				pps = nalu
			}
		}
	}
	if len(vps) == 0 || len(sps) == 0 || len(pps) == 0 {
		return nil, nil, nil, errors.New("flv: HEVC configuration without VPS, SPS or PPS")
	}
	return vps, sps, pps, nil
}

// ParseAVCConfig reads an AVCDecoderConfigurationRecord (ISO 14496-15
// 5.2.4.1) and returns its first SPS and PPS (aliasing b).
func ParseAVCConfig(b []byte) (sps, pps []byte, err error) {
	if len(b) < 6 || b[0] != 1 {
		return nil, nil, errors.New("flv: bad AVC decoder configuration record")
	}
	p := 6
	sets := func(n int) ([]byte, error) {
		var first []byte
		for i := 0; i < n; i++ {
			if p+2 > len(b) {
				return nil, ErrShort
			}
			l := int(binary.BigEndian.Uint16(b[p:]))
			p += 2
			if p+l > len(b) {
				return nil, ErrShort
			}
			if i == 0 {
				first = b[p : p+l]
			}
			p += l
		}
		return first, nil
	}
	if sps, err = sets(int(b[5] & 0x1f)); err != nil {
		return nil, nil, err
	}
	if p+1 > len(b) {
		return nil, nil, ErrShort
	}
	n := int(b[p])
	p++
	if pps, err = sets(n); err != nil {
		return nil, nil, err
	}
	if len(sps) == 0 || len(pps) == 0 {
		return nil, nil, errors.New("flv: AVC configuration without SPS or PPS")
	}
	return sps, pps, nil
}

// AudioTag is a parsed AUDIODATA body carrying AAC.
type AudioTag struct {
	SequenceHeader bool
	Body           []byte
}

// ParseAudioTag reads the header of an AUDIODATA body; Body aliases b.
func ParseAudioTag(b []byte) (AudioTag, error) {
	if len(b) < 1 {
		return AudioTag{}, ErrShort
	}
	if f := int(b[0] >> 4); f != SoundAAC {
		return AudioTag{}, &UnsupportedError{Kind: "audio", Codec: codecName(audioNames, f), Want: "AAC"}
	}
	if len(b) < 2 {
		return AudioTag{}, ErrShort
	}
	return AudioTag{SequenceHeader: b[1] == 0, Body: b[2:]}, nil
}

// SplitAVCC splits length-prefixed NAL units (4-byte lengths).
func SplitAVCC(b []byte) ([][]byte, error) {
	var au h264.AVCC
	if err := au.Unmarshal(b); err != nil {
		return nil, err
	}
	return au, nil
}

// AVCSequenceHeaderTag builds the video tag carrying the track's
// AVCDecoderConfigurationRecord.
func AVCSequenceHeaderTag(t *media.Track) ([]byte, error) {
	if len(t.SPS) < 4 || len(t.PPS) == 0 {
		return nil, errors.New("flv: video track without SPS/PPS")
	}
	b := []byte{0x17, AVCSequenceHeader, 0, 0, 0, 1, t.SPS[1], t.SPS[2], t.SPS[3], 0xff, 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.SPS)))
	b = append(b, t.SPS...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.PPS)))
	return append(b, t.PPS...), nil
}

// AVCFrameTag builds the video tag of an access unit, as AVCC NAL units.
func AVCFrameTag(u *media.Unit) []byte {
	n := 5
	for _, d := range u.Data {
		n += 4 + len(d)
	}
	b := make([]byte, 5, n)
	b[0] = 0x27
	if u.Key {
		b[0] = 0x17
	}
	b[1] = AVCNALU
	cts := int32((u.PTS - u.DTS) / time.Millisecond)
	b[2], b[3], b[4] = byte(cts>>16), byte(cts>>8), byte(cts)
	for _, d := range u.Data {
		b = binary.BigEndian.AppendUint32(b, uint32(len(d)))
		b = append(b, d...)
	}
	return b
}

// aacHeader: AAC, 44 kHz, 16-bit, stereo — what FLV requires for AAC whatever
// the real format (the AudioSpecificConfig rules).
const aacHeader = 0xAF

// AACSequenceHeaderTag builds the audio tag carrying the AudioSpecificConfig.
func AACSequenceHeaderTag(t *media.Track) []byte {
	return append([]byte{aacHeader, 0}, t.Config...)
}

// AACFrameTag builds the audio tag of one raw AAC access unit.
func AACFrameTag(u *media.Unit) []byte {
	return append([]byte{aacHeader, 1}, u.Data[0]...)
}

// AudioHeader returns the first byte of the AUDIODATA tags that carry a
// track (SoundFormat, SoundRate, SoundSize, SoundType), or an error that
// says why FLV cannot carry it: AAC, and G.711 at 8 kHz (the one rate FLV
// defines for it, as ffmpeg writes and reads it: the rate field 0, 16-bit)
// are carried; Opus is not, in classic FLV.
func AudioHeader(t *media.Track) (byte, error) {
	switch t.Codec {
	case media.CodecAAC:
		return aacHeader, nil
	case media.CodecPCMA, media.CodecPCMU:
		if t.SampleRate != 8000 || t.Channels > 2 {
			return 0, fmt.Errorf("flv: G.711 at %d Hz, %d channels: FLV carries G.711 at 8000 Hz, mono or stereo only", t.SampleRate, t.Channels)
		}
		b := byte(SoundALaw<<4 | 0x02)
		if t.Codec == media.CodecPCMU {
			b = SoundMuLaw<<4 | 0x02
		}
		if t.Channels == 2 {
			b |= 1
		}
		return b, nil
	}
	return 0, fmt.Errorf("flv: audio codec %s cannot be carried in FLV (classic RTMP carries AAC and G.711 at 8 kHz)", t.Codec)
}

// AudioFrameTag builds the audio tag of one unit: AAC (a raw access unit
// after the AAC packet type) or G.711 (the samples).
func AudioFrameTag(header byte, u *media.Unit) []byte {
	if header == aacHeader {
		return AACFrameTag(u)
	}
	return append([]byte{header}, u.Data[0]...)
}

// MetaData returns the onMetaData properties describing a stream.
func MetaData(v, a *media.Track, videoBPS, audioBPS int) map[string]any {
	meta := map[string]any{
		"width": float64(v.Width), "height": float64(v.Height), "framerate": v.FPS,
		"videocodecid": float64(CodecAVC), "videodatarate": float64(videoBPS) / 1000, "encoder": "Switchyard",
	}
	if h, err := AudioHeader(orEmpty(a)); a != nil && err == nil {
		meta["audiocodecid"] = float64(h >> 4)
		meta["audiosamplerate"] = float64(a.SampleRate)
		meta["audiochannels"] = float64(a.Channels)
		meta["stereo"] = a.Channels == 2
		meta["audiodatarate"] = float64(audioBPS) / 1000
	}
	return meta
}

func orEmpty(t *media.Track) *media.Track {
	if t == nil {
		return &media.Track{}
	}
	return t
}
