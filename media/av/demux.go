package av

/*
#cgo pkg-config: libavformat
#include "demux.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"
)

// StreamInfo describes one stream of a demuxed file.
type StreamInfo struct {
	// Codec is FFmpeg's codec name, except H.265 which is "h265" (as in
	// media.Track): "h264", "h265", "prores", "vp9", "aac", "opus"…
	Codec string
	// Extradata is the codec's out-of-band configuration: for H.264 and
	// H.265 the parameter sets in Annex-B, for AAC the AudioSpecificConfig.
	Extradata     []byte
	Width, Height int
	FPS           float64
	SampleRate    int
	Channels      int
}

// DemuxPacket is one compressed packet of a file, its data copied into Go
// memory.
type DemuxPacket struct {
	Video    bool
	Data     []byte
	PTS, DTS time.Duration
	Key      bool
}

// Demuxer reads a media file (MP4, MOV, MKV, WebM and whatever else the
// FFmpeg build opens) with libavformat. Not safe for concurrent use.
type Demuxer struct {
	d        *C.sy_demux
	Video    *StreamInfo // nil without video
	Audio    *StreamInfo // nil without audio
	Duration time.Duration

	// DTS made for containers that carry none (Matroska, WebM): the k-th
	// picture in decode order since the start or a seek decodes at
	// first + (k − delay) frames, delay being the stream's reordering
	// (B-frames); exact for a constant frame rate.
	vk     int
	vfirst time.Duration
	vdelay int
	vframe time.Duration
}

// ErrNoMedia is returned for a file with neither video nor audio.
var ErrNoMedia = errors.New("the file holds neither video nor audio")

// OpenDemuxer opens path and reads its stream parameters.
func OpenDemuxer(path string) (*Demuxer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var d *C.sy_demux
	if code := C.sy_demux_open(cpath, &d); code < 0 {
		return nil, &Error{Op: "open " + path, Code: int(code)}
	}
	m := &Demuxer{d: d}
	if d.fmt.duration > 0 {
		m.Duration = time.Duration(int64(d.fmt.duration)) * time.Microsecond
	}
	if p := C.sy_demux_vpar(d); p != nil {
		r := C.sy_demux_vrate(d)
		m.Video = &StreamInfo{Codec: codecName(p.codec_id), Extradata: C.GoBytes(unsafe.Pointer(p.extradata), p.extradata_size),
			Width: int(p.width), Height: int(p.height)}
		if r.den > 0 {
			m.Video.FPS = float64(r.num) / float64(r.den)
		}
		m.vdelay = int(p.video_delay)
		if m.Video.FPS > 0 {
			m.vframe = time.Duration(float64(time.Second) / m.Video.FPS)
		}
	}
	if p := C.sy_demux_apar(d); p != nil {
		m.Audio = &StreamInfo{Codec: codecName(p.codec_id), Extradata: C.GoBytes(unsafe.Pointer(p.extradata), p.extradata_size),
			SampleRate: int(p.sample_rate), Channels: int(p.ch_layout.nb_channels)}
	}
	if m.Video == nil && m.Audio == nil {
		m.Close()
		return nil, fmt.Errorf("open %s: %w", path, ErrNoMedia)
	}
	return m, nil
}

func codecName(id C.enum_AVCodecID) string {
	if id == C.AV_CODEC_ID_HEVC {
		return "h265"
	}
	return C.GoString(C.avcodec_get_name(id))
}

// tsDur converts a timestamp; ok is false for AV_NOPTS_VALUE. A DTS may be
// negative (the B-frames' delay before an edit list's start).
func tsDur(ts C.int64_t, tb C.AVRational) (d time.Duration, ok bool) {
	if int64(ts) == int64(C.AV_NOPTS_VALUE) || tb.den == 0 {
		return 0, false
	}
	return time.Duration(int64(ts) * int64(time.Second) * int64(tb.num) / int64(tb.den)), true
}

// Read returns the next packet; io.EOF at the end of the file.
func (m *Demuxer) Read() (DemuxPacket, error) {
	code := C.sy_demux_read(m.d)
	if code == C.AVERROR_EOF {
		return DemuxPacket{}, io.EOF
	}
	if code < 0 {
		return DemuxPacket{}, &Error{Op: "read", Code: int(code)}
	}
	p := m.d.pkt
	video := int(p.stream_index) == int(m.d.vidx)
	var base C.AVRational
	if video {
		base = C.sy_demux_vtb(m.d)
	} else {
		base = C.sy_demux_atb(m.d)
	}
	pkt := DemuxPacket{Video: video, Data: C.GoBytes(unsafe.Pointer(p.data), p.size), Key: p.flags&C.AV_PKT_FLAG_KEY != 0}
	pts, okP := tsDur(p.pts, base)
	dts, okD := tsDur(p.dts, base)
	switch {
	case okP && okD:
		pkt.PTS, pkt.DTS = pts, dts
	case okP:
		pkt.PTS, pkt.DTS = pts, pts
		if video && m.vdelay > 0 && m.vframe > 0 { // no DTS in the container: made
			if m.vk == 0 {
				m.vfirst = pts
			}
			pkt.DTS = min(pts, m.vfirst+time.Duration(m.vk-m.vdelay)*m.vframe)
		}
	case okD:
		pkt.PTS, pkt.DTS = dts, dts
	}
	if video {
		m.vk++
	}
	return pkt, nil
}

// Seek moves to the key frame at or before pos.
func (m *Demuxer) Seek(pos time.Duration) error {
	if code := C.sy_demux_seek(m.d, C.int64_t(pos/time.Microsecond)); code < 0 {
		return &Error{Op: "seek", Code: int(code)}
	}
	m.vk = 0
	return nil
}

// Close frees the demuxer. Safe twice.
func (m *Demuxer) Close() {
	if m.d != nil {
		C.sy_demux_close(m.d)
		m.d = nil
	}
}
