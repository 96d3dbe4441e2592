package media

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// H265KeyWithParams is H264KeyWithParams for H.265: an IRAP picture (IDR,
// CRA, BLA) gets the VPS, SPS and PPS in front when it lacks them, access
// unit delimiters are dropped, and it reports whether the unit is an IRAP.
func H265KeyWithParams(nalus [][]byte, vps, sps, pps []byte) ([][]byte, bool) {
	irap, has, aud := false, 0, false
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch t := h265.NALUType((n[0] >> 1) & 0x3f); {
		case t >= h265.NALUType_BLA_W_LP && t <= h265.NALUType_CRA_NUT:
			irap = true
		case t == h265.NALUType_VPS_NUT || t == h265.NALUType_SPS_NUT || t == h265.NALUType_PPS_NUT:
			has++
		case t == h265.NALUType_AUD_NUT:
			aud = true
		}
	}
	add := irap && has < 3 && vps != nil && sps != nil && pps != nil
	if !aud && !add {
		return nalus, irap
	}
	out := make([][]byte, 0, len(nalus)+3)
	if add {
		out = append(out, vps, sps, pps)
	}
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		t := h265.NALUType((n[0] >> 1) & 0x3f)
		if t == h265.NALUType_AUD_NUT || add && (t == h265.NALUType_VPS_NUT || t == h265.NALUType_SPS_NUT || t == h265.NALUType_PPS_NUT) {
			continue
		}
		out = append(out, n)
	}
	return out, irap
}

// NewH265Track describes H.265 video from its VPS, SPS and PPS (without start
// codes); the size and frame rate come from the SPS.
func NewH265Track(vps, sps, pps []byte) (*Track, error) {
	var s h265.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("H.265 SPS: %w", err)
	}
	if len(vps) == 0 || len(pps) == 0 {
		return nil, errors.New("H.265 without VPS or PPS")
	}
	if err := checkSize("H.265", s.Width(), s.Height()); err != nil {
		return nil, err
	}
	return &Track{Kind: KindVideo, Codec: CodecH265, Profile: h265Profiles[s.ProfileTierLevel.GeneralProfileIdc],
		Width: s.Width(), Height: s.Height(), FPS: s.FPS(),
		VPS: vps, SPS: sps, PPS: pps}, nil
}

// h265Profiles names general_profile_idc values (H.265 Annex A).
var h265Profiles = map[uint8]string{1: "Main", 2: "Main 10", 3: "Main Still Picture", 4: "Range Extensions"}
