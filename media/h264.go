package media

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// H264KeyWithParams returns the NAL units of an H.264 access unit with SPS and PPS
// in front when the unit is an IDR picture that lacks them, and whether it is an
// IDR. Publishers that send parameter sets only out of band (RTSP's SDP, RTMP's
// sequence header) go through this so every key unit in a Stream is decodable on
// its own. Other NAL units are passed through in order; AUD units are dropped.
func H264KeyWithParams(nalus [][]byte, sps, pps []byte) ([][]byte, bool) {
	idr, hasSPS, hasPPS, aud := false, false, false, false
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeIDR:
			idr = true
		case h264.NALUTypeSPS:
			hasSPS = true
		case h264.NALUTypePPS:
			hasPPS = true
		case h264.NALUTypeAccessUnitDelimiter:
			aud = true
		}
	}
	if !aud && (!idr || (hasSPS && hasPPS) || sps == nil || pps == nil) {
		return nalus, idr
	}
	out := make([][]byte, 0, len(nalus)+2)
	if idr && !(hasSPS && hasPPS) && sps != nil && pps != nil {
		out = append(out, sps, pps)
	}
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		t := h264.NALUType(n[0] & 0x1f)
		if t == h264.NALUTypeAccessUnitDelimiter {
			continue
		}
		if idr && !(hasSPS && hasPPS) && (t == h264.NALUTypeSPS || t == h264.NALUTypePPS) {
			continue
		}
		out = append(out, n)
	}
	return out, idr
}

// NewH264Track describes H.264 video from its SPS and PPS (without start
// codes); the size and frame rate come from the SPS. fps, when non-zero,
// overrides the SPS's timing.
func NewH264Track(sps, pps []byte, fps float64) (*Track, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("H.264 SPS: %w", err)
	}
	if len(pps) == 0 {
		return nil, errors.New("H.264 without PPS")
	}
	if err := checkSize("H.264", s.Width(), s.Height()); err != nil {
		return nil, err
	}
	if fps == 0 {
		fps = s.FPS()
	}
	return &Track{Kind: KindVideo, Codec: CodecH264, Profile: h264Profiles[s.ProfileIdc], Width: s.Width(), Height: s.Height(),
		FPS: fps, SPS: sps, PPS: pps}, nil
}

// H264TrackFromAnnexB describes H.264 video from Annex-B parameter sets (an
// encoder's extradata).
func H264TrackFromAnnexB(extradata []byte, fps float64) (*Track, error) {
	var sps, pps []byte
	for _, n := range AnnexBNALUs(extradata) {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
		if sps != nil && pps != nil {
			break // the first pair: what follows may be a whole stream of pictures
		}
	}
	if sps == nil || pps == nil {
		return nil, fmt.Errorf("H.264 parameter sets: no SPS and PPS in %d bytes", len(extradata))
	}
	return NewH264Track(sps, pps, fps)
}

// AnnexBNALUs splits an Annex B byte stream at its start codes (00 00 01,
// 00 00 00 01), however many NAL units it holds, and drops empty ones.
func AnnexBNALUs(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 { // a 4-byte start code's leading zero
					end--
				}
				if end > start {
					out = append(out, b[start:end])
				}
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// NewAACTrack describes AAC audio from its AudioSpecificConfig.
func NewAACTrack(asc []byte) (*Track, error) {
	var c mpeg4audio.AudioSpecificConfig
	if err := c.Unmarshal(asc); err != nil {
		return nil, fmt.Errorf("AAC config: %w", err)
	}
	return &Track{Kind: KindAudio, Codec: CodecAAC, SampleRate: c.SampleRate, Channels: c.ChannelCount,
		Config: append([]byte(nil), asc...)}, nil
}

// h264Profiles names profile_idc values (H.264 Annex A).
var h264Profiles = map[uint8]string{66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High 10",
	122: "High 4:2:2", 244: "High 4:4:4"}

// checkSize refuses parameter sets that describe no usable picture.
func checkSize(codec string, w, h int) error {
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return fmt.Errorf("%s SPS describes a %dx%d picture", codec, w, h)
	}
	return nil
}
