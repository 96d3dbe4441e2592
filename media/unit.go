// Package media holds the types that flow between Switchyard's parts: compressed
// access units, the tracks that describe them, and Stream, the fan-out from one
// publisher to any number of readers. It imports no other package of Switchyard.
package media

import "time"

// Kind tells video from audio.
type Kind int

// Track kinds.
const (
	KindVideo Kind = iota
	KindAudio
)

func (k Kind) String() string {
	if k == KindVideo {
		return "video"
	}
	return "audio"
}

// Codec names used in Track.Codec.
const (
	CodecH264 = "h264"
	CodecH265 = "h265"
	CodecAAC  = "aac"
	CodecOpus = "opus"
	CodecPCMA = "pcma" // G.711 A-law
	CodecPCMU = "pcmu" // G.711 µ-law
)

// Track describes one elementary stream. A Track is immutable once a unit that
// points at it has been written: a publisher whose parameters change (a camera
// that restarts at another resolution) describes itself with a new Track, so a
// reader sees the change as a new pointer on the next unit.
type Track struct {
	Kind Kind
	// Codec is one of the Codec constants, or — from a clip source — the
	// FFmpeg name of another codec ("prores", "vp9", "av1", "mpeg2video",
	// "pcm_s16le"…), whose units are the container's packets (Data holds
	// one) with the codec's extradata in Config. Only the mixer decodes
	// those; outputs that carry the constants' codecs refuse the others.
	Codec string

	// Video.
	Profile       string // e.g. "High", "Main"; empty when unknown
	Width, Height int
	// FPS is the nominal frame rate when the stream announces one, else 0.
	FPS float64
	// SPS and PPS (H.264, H.265) and VPS (H.265) without start codes.
	VPS, SPS, PPS []byte

	// Audio.
	SampleRate int
	Channels   int
	// Config is the codec's out-of-band configuration (the MPEG-4
	// AudioSpecificConfig for AAC; a clip's extradata for a codec named
	// by FFmpeg, video or audio).
	Config []byte
}

// Carried reports whether the track's codec is one of the Codec constants,
// which outputs and re-servers carry; false for a codec only a clip
// source's FFmpeg names (ProRes, VP9…), which only the mixer decodes.
func (t *Track) Carried() bool {
	switch t.Codec {
	case CodecH264, CodecH265, CodecAAC, CodecOpus, CodecPCMA, CodecPCMU:
		return true
	}
	return false
}

// Unit is one access unit. Once written to a Stream it is never modified and every
// reader receives the same pointer.
//
// For H.264 and H.265, Data holds the NAL units of one picture without start
// codes, and a key unit (IDR; for H.265 any IRAP) always carries its parameter
// sets in front, so any reader can start decoding at any key unit. For AAC, Data holds exactly one raw access unit (no ADTS).
type Unit struct {
	Track *Track
	// PTS is the presentation time on the publisher's own timeline.
	PTS time.Duration
	// DTS is the decoding time (equal to PTS when there are no B-frames).
	DTS time.Duration
	// Key marks a unit a decoder can start from (an IDR picture; every audio unit).
	Key  bool
	Data [][]byte
	// End marks the last video unit of a stretch of stream after which
	// nothing follows for now (a clip's file ends: it holds, loops or goes
	// on to the next file): a decoder gives up at once the pictures it
	// holds back for reordering (B-frames), which would otherwise wait for
	// whatever unit comes next — too late for their time. Readers that do
	// not decode ignore it.
	End bool
}

// Size returns the payload size in bytes.
func (u *Unit) Size() int {
	n := 0
	for _, d := range u.Data {
		n += len(d)
	}
	return n
}
