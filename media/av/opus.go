package av

/*
#include <string.h>
#include "sy_opus.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// OpusEncoder encodes interleaved float32 stereo at 48 kHz to Opus
// (libopus), 20 ms (960 samples) a packet.
type OpusEncoder struct {
	c     *C.sy_codec
	frame *C.AVFrame
	size  int
}

// NewOpusEncoder opens libopus at bitrateBPS.
func NewOpusEncoder(bitrateBPS int) (*OpusEncoder, error) {
	var code C.int
	c := C.sy_opus_enc_open(C.int(bitrateBPS), &code)
	if c == nil {
		return nil, avErr("open opus encoder", code)
	}
	size := int(c.ctx.frame_size)
	f := C.sy_flt_frame_new(C.int(size), &code)
	if f == nil {
		C.sy_codec_close(c)
		return nil, avErr("allocate audio frame", code)
	}
	return &OpusEncoder{c: c, frame: f, size: size}, nil
}

// FrameSize is the number of samples per channel each Encode takes (960).
func (e *OpusEncoder) FrameSize() int { return e.size }

// Encode encodes exactly FrameSize interleaved stereo samples; pts counts
// samples at 48 kHz.
func (e *OpusEncoder) Encode(samples []float32, pts int64, fn func(Packet)) error {
	if len(samples) != 2*e.size {
		return fmt.Errorf("encode opus: got %d samples, want %d", len(samples)/2, e.size)
	}
	if err := avErr("make frame writable", C.av_frame_make_writable(e.frame)); err != nil {
		return err
	}
	C.sy_fill_flt(e.frame, (*C.float)(unsafe.Pointer(&samples[0])), C.int(e.size))
	if err := avErr("encode opus", C.sy_enc_send(e.c, e.frame, C.int64_t(pts), 0)); err != nil {
		return err
	}
	return drain(e.c, fn)
}

// Close frees the encoder.
func (e *OpusEncoder) Close() {
	C.av_frame_free(&e.frame)
	C.sy_codec_close(e.c)
	e.c = nil
}
