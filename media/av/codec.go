package av

/*
#include "av.h"
#include "rtreturn.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Packet is an encoded packet, valid only during the callback that receives it.
type Packet struct {
	Data []byte
	PTS  int64
	DTS  int64
	Key  bool
}

func packetOf(c *C.sy_codec) Packet {
	p := c.pkt
	return Packet{
		Data: unsafe.Slice((*byte)(unsafe.Pointer(p.data)), int(p.size)),
		PTS:  int64(p.pts),
		DTS:  int64(p.dts),
		Key:  p.flags&C.AV_PKT_FLAG_KEY != 0,
	}
}

var startCode = [4]byte{0, 0, 0, 1}

// VideoDecoder decodes H.264 or H.265 access units, or the packets of any
// other video codec the FFmpeg build decodes (NewVideoDecoderConfig).
type VideoDecoder struct {
	c        *C.sy_codec
	buf      cbuf
	skipping bool
	hw       bool // decoding on a device (NewVideoDecoderOn)
	// packets: the codec is not H.264/H.265; Decode's data is the parts of
	// one packet, sent as they are (no start codes)
	packets bool
}

// SkipNonReference makes the decoder drop the pictures no other picture
// refers to (non-reference B-frames), or decode everything again. The
// pictures it keeps are exact: nothing that follows depends on the ones it
// drops. Only a stream with B-frames has any to drop.
func (d *VideoDecoder) SkipNonReference(on bool) {
	if on == d.skipping {
		return
	}
	d.skipping = on
	d.c.ctx.skip_frame = C.AVDISCARD_DEFAULT
	if on {
		d.c.ctx.skip_frame = C.AVDISCARD_NONREF
	}
}

// NALCodec reports whether codec is one whose units are NAL units with
// parameter sets (H.264, H.265), which Decode frames with start codes.
func NALCodec(codec string) bool { return codec == "h264" || codec == "h265" }

// NewVideoDecoder opens a decoder for codec "h264" or "h265" (or another
// codec without out-of-band configuration, as NewVideoDecoderConfig).
// threads is the slice-thread count (0: FFmpeg picks).
func NewVideoDecoder(codec string, threads int) (*VideoDecoder, error) {
	return NewVideoDecoderConfig(codec, nil, threads)
}

// NewVideoDecoderConfig opens a decoder for codec: "h264", "h265", or the
// FFmpeg name of any other video codec the build decodes ("prores", "vp9",
// "av1", "mpeg2video"…), with config its out-of-band configuration (the
// container's extradata; nil for H.264/H.265 in Annex-B). A codec the
// build cannot decode is an error that names it.
func NewVideoDecoderConfig(codec string, config []byte, threads int) (*VideoDecoder, error) {
	name, nal := codec, NALCodec(codec)
	if codec == "h265" {
		name = "hevc"
	}
	if name == "" {
		return nil, errors.New("video decoder: no codec named")
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var extra *C.uint8_t
	if len(config) > 0 {
		extra = (*C.uint8_t)(unsafe.Pointer(&config[0]))
	}
	lowDelay := C.int(0)
	if nal {
		lowDelay = 1
	}
	var code C.int
	c := C.sy_video_dec_open(cname, extra, C.int(len(config)), C.int(threads), lowDelay, &code)
	if c == nil {
		if code == C.AVERROR_DECODER_NOT_FOUND {
			return nil, fmt.Errorf("video decoder: this FFmpeg build has no decoder for %q", codec)
		}
		return nil, avErr("open "+codec+" decoder", code)
	}
	return &VideoDecoder{c: c, packets: !nal}, nil
}

// Decode sends one access unit and calls fn for every picture that comes
// out; nil data flushes the pictures the decoder holds (reordering), after
// which it decodes a new stream from its next key frame. For H.264 and
// H.265 data is the NAL units without start codes; for other codecs the
// parts of one packet, sent as they are. The picture is valid only during
// fn.
func (d *VideoDecoder) Decode(nalus [][]byte, pts int64, fn func(Picture, int64)) error {
	n := 0
	for _, u := range nalus {
		if !d.packets {
			n += 4
		}
		n += len(u)
	}
	b := d.buf.ensure(n)
	o := 0
	for _, u := range nalus {
		if !d.packets {
			o += copy(b[o:], startCode[:])
		}
		o += copy(b[o:], u)
	}
	clear(b[o : o+C.AV_INPUT_BUFFER_PADDING_SIZE]) // the padding FFmpeg's bit readers may read
	inC.Add(1)
	code := C.sy_dec_send(d.c, (*C.uint8_t)(d.buf.p), C.int(n), C.int64_t(pts))
	inC.Add(-1)
	if err := avErr("decode", code); err != nil && err != ErrAgain {
		return err
	}
	for {
		inC.Add(1)
		if d.hw {
			code = C.sy_dec_receive_hw(d.c)
		} else {
			code = C.sy_dec_receive(d.c)
		}
		inC.Add(-1)
		if code < 0 {
			if err := avErr("decode", code); err != ErrAgain {
				return err
			}
			if n == 0 {
				// drained: ready for a new stream (its next key frame)
				C.avcodec_flush_buffers(d.c.ctx)
			}
			return nil
		}
		fn(Picture{f: d.c.frame}, int64(d.c.frame.pts))
	}
}

// Close frees the decoder.
func (d *VideoDecoder) Close() {
	C.sy_codec_close(d.c)
	d.c = nil
	d.buf.free()
}

// H264Config configures the libx264 encoder.
type H264Config struct {
	Width, Height  int
	FPSNum, FPSDen int
	BitrateBPS     int
	// GOP is the keyframe interval in frames (closed GOP, no scene-cut keyframes).
	GOP int
	// Preset (one of X264Presets) defaults to DefaultX264Preset, Tune to
	// "zerolatency".
	Preset, Tune string
	// Threads: 0 lets x264 choose.
	Threads int
	// Encoder is x264 (the default: libx264), nvenc, vaapi or qsv
	// (FFmpeg's hardware encoders, hw.go); Device the device for the last
	// three (EncoderDevice; vaapi needs one, nvenc and qsv open their own
	// when nil).
	Encoder string
	Device  *HWDevice
}

// DefaultX264Preset is the preset an H264Config without one gets.
const DefaultX264Preset = "veryfast"

// X264Presets are x264's presets, fastest first: each slower one spends
// more CPU on a frame for a better picture at the same bitrate.
var X264Presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}

// VideoEncoder encodes I420 frames to H.264 with libx264 or a hardware
// encoder.
type VideoEncoder struct {
	c     *C.sy_codec
	extra []byte
	hw    bool
}

// NewH264Encoder opens libx264, or the hardware encoder cfg.Encoder names.
// Its time base is 1/FPS: PTS counts frames.
func NewH264Encoder(cfg H264Config) (*VideoEncoder, error) {
	if cfg.FPSDen == 0 {
		cfg.FPSDen = 1
	}
	if cfg.Encoder != "" && cfg.Encoder != EncoderX264 {
		return newHWEncoder(cfg)
	}
	if cfg.Preset == "" {
		cfg.Preset = DefaultX264Preset
	}
	if cfg.Tune == "" {
		cfg.Tune = "zerolatency"
	}
	if cfg.FPSDen == 0 {
		cfg.FPSDen = 1
	}
	preset, tune := C.CString(cfg.Preset), C.CString(cfg.Tune)
	defer C.free(unsafe.Pointer(preset))
	defer C.free(unsafe.Pointer(tune))
	var code C.int
	c := C.sy_h264_enc_open(C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPSNum), C.int(cfg.FPSDen),
		C.int(cfg.BitrateBPS), C.int(cfg.GOP), preset, tune, C.int(cfg.Threads), &code)
	if c == nil {
		return nil, avErr("open libx264", code)
	}
	return &VideoEncoder{c: c, extra: C.GoBytes(unsafe.Pointer(c.ctx.extradata), c.ctx.extradata_size)}, nil
}

// Extradata returns the SPS and PPS in Annex-B form.
func (e *VideoEncoder) Extradata() []byte { return e.extra }

// Encode encodes f with pts (in frames); forceKey asks for an IDR. fn receives
// every packet that comes out, valid only during fn.
func (e *VideoEncoder) Encode(f *Frame, pts int64, forceKey bool, fn func(Packet)) error {
	key := C.int(0)
	if forceKey {
		key = 1
	}
	inC.Add(1)
	var code C.int
	if e.hw {
		code = C.sy_enc_send_hw(e.c, f.f, C.int64_t(pts), key)
	} else {
		code = C.sy_enc_send_watched(e.c, f.f, C.int64_t(pts), key)
	}
	back(e.c.rw) // first: a real-time thread the runtime held coming back is let go
	inC.Add(-1)
	if err := avErr("encode", code); err != nil {
		return err
	}
	return drain(e.c, fn)
}

func drain(c *C.sy_codec, fn func(Packet)) error {
	for {
		inC.Add(1)
		code := C.sy_enc_receive(c)
		inC.Add(-1)
		if code < 0 {
			if err := avErr("encode", code); err != ErrAgain {
				return err
			}
			return nil
		}
		fn(packetOf(c))
	}
}

// Close frees the encoder.
func (e *VideoEncoder) Close() {
	C.sy_codec_close(e.c)
	e.c = nil
}
