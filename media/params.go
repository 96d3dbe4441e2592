package media

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// TrackFromParams returns the video track an H.264 or H.265 access unit's
// in-band parameter sets describe (SPS and PPS; and VPS for H.265), when
// they differ from cur's: a camera that sent them first, or changed its
// resolution. Nil when the unit carries no complete set, the same set as
// cur, or one that cannot be read (the caller waits for good ones). The
// track holds copies: the unit's bytes may be a demuxer's buffer.
func TrackFromParams(codec string, cur *Track, au [][]byte) *Track {
	var vps, sps, pps []byte
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		if codec == CodecH264 {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
			continue
		}
		switch h265.NALUType((n[0] >> 1) & 0x3f) {
		case h265.NALUType_VPS_NUT:
			vps = n
		case h265.NALUType_SPS_NUT:
			sps = n
		case h265.NALUType_PPS_NUT:
			pps = n
		}
	}
	if sps == nil || pps == nil || (codec == CodecH265 && vps == nil) {
		return nil
	}
	if cur != nil && string(sps) == string(cur.SPS) && string(pps) == string(cur.PPS) && string(vps) == string(cur.VPS) {
		return nil
	}
	cp := func(b []byte) []byte { return append([]byte(nil), b...) }
	var t *Track
	var err error
	if codec == CodecH264 {
		t, err = NewH264Track(cp(sps), cp(pps), 0)
	} else {
		t, err = NewH265Track(cp(vps), cp(sps), cp(pps))
	}
	if err != nil {
		return nil
	}
	return t
}
