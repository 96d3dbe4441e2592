package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"switchyard/internal/fault"
	"switchyard/media"
	"switchyard/mixer"
	"switchyard/output/hls"
	"switchyard/output/push"
)

// HLSConfig is the LL-HLS origin at /hls/ on the HTTP listener
// (output/hls, docs/hls.md).
type HLSConfig struct {
	// Enabled serves /hls/ and /watch (default true); the read_key guards them.
	Enabled bool `yaml:"enabled"`
	// SegmentDuration is a segment's least length (default 1s); segments
	// are cut at the program's key frames (program.keyint).
	SegmentDuration Duration `yaml:"segment_duration"`
	// PartDuration is an LL-HLS part's least length (default 200ms).
	PartDuration Duration `yaml:"part_duration"`
	// SegmentCount is how many segments a playlist lists (default 7).
	SegmentCount int `yaml:"segment_count"`
	// Renditions are variants of the program's multivariant playlist
	// besides the program itself and the outputs' video_bitrate encodes.
	Renditions []HLSRendition `yaml:"renditions"`
	// Sources serves every source at /hls/live/NAME/index.m3u8 too.
	Sources bool `yaml:"sources"`
}

// hlsIdleTimeout, when set, replaces the muxers' idle stop of a minute
// (tests; no test runs in parallel in this package).
var hlsIdleTimeout time.Duration

// HLSRendition is one more variant of the program: a second encode at a
// lower bitrate, scaled to Height at the program's aspect.
type HLSRendition struct {
	// Height is the rendition's (even, up to the program's); left out, the
	// program's.
	Height       int           `yaml:"height"`
	VideoBitrate media.Bitrate `yaml:"video_bitrate"`
}

func (h HLSConfig) origin() hls.Config {
	return hls.Config{SegmentDuration: time.Duration(h.SegmentDuration), PartDuration: time.Duration(h.PartDuration),
		SegmentCount: h.SegmentCount, Sources: h.Sources, IdleTimeout: hlsIdleTimeout}
}

// validate checks the hls: keys against the program (c is the whole show).
func (c *Config) validateHLS() error {
	h := c.HLS
	oc := h.origin()
	oc.Defaults()
	if err := oc.Validate(); err != nil {
		var fe *fault.Invalid
		if errors.As(err, &fe) {
			return &ConfigError{"hls." + fe.Field, fe.Msg}
		}
		return &ConfigError{"hls", err.Error()}
	}
	for i, r := range h.Renditions {
		key := fmt.Sprintf("hls.renditions[%d]", i)
		if r.Height != 0 && (r.Height < 16 || r.Height > c.Program.Height || r.Height%2 != 0) {
			return &ConfigError{key + ".height", fmt.Sprintf("%d must be even, from 16 to program.height (%d); left out, the program's",
				r.Height, c.Program.Height)}
		}
		if r.VideoBitrate < 100_000 || r.VideoBitrate >= c.Program.VideoBitrate {
			return &ConfigError{key + ".video_bitrate", fmt.Sprintf("%s must be from 100k to below program.video_bitrate (%s)",
				r.VideoBitrate, c.Program.VideoBitrate)}
		}
	}
	var outs []push.Config
	for _, o := range c.Outputs {
		outs = append(outs, o.Push())
	}
	// (outputs alone past the cap are the outputs' matter: the ladder leaves out what it cannot have)
	if l := hlsLadder(h, outs, c.Program.Height, int(c.Program.VideoBitrate)); len(h.Renditions) > 0 && len(l) > mixer.MaxRenditions {
		var names []string
		for _, r := range l {
			names = append(names, r.Dir())
		}
		return &ConfigError{"hls.renditions", fmt.Sprintf("the program's ladder would need %d second encodes (%s, with the outputs' video_bitrate); at most %d are made",
			len(l), strings.Join(names, ", "), mixer.MaxRenditions)}
	}
	return nil
}

// hlsLadder is the program's renditions over HLS: every output's
// video_bitrate encode and hls.renditions, the tallest and highest first,
// each once (a rendition of the program's height is of its size: 0).
func hlsLadder(h HLSConfig, outs []push.Config, programHeight, programBPS int) []hls.Rung {
	var l []hls.Rung
	add := func(height, bps int) {
		if height == programHeight {
			height = 0
		}
		r := hls.Rung{Height: height, BPS: bps}
		if bps > 0 && bps < programBPS && !slices.Contains(l, r) {
			l = append(l, r)
		}
	}
	for _, o := range outs {
		add(0, int(o.VideoBitrate))
	}
	for _, r := range h.Renditions {
		add(r.Height, int(r.VideoBitrate))
	}
	tall := func(r hls.Rung) int {
		if r.Height == 0 {
			return programHeight
		}
		return r.Height
	}
	slices.SortFunc(l, func(a, b hls.Rung) int {
		if d := tall(b) - tall(a); d != 0 {
			return d
		}
		return b.BPS - a.BPS
	})
	return l
}
