package media

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
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
