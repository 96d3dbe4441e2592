package av

/*
#include "av.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// AudioDecoder decodes compressed audio and resamples it to interleaved float32
// stereo at a fixed output rate.
type AudioDecoder struct {
	c       *C.sy_codec
	swr     *C.SwrContext
	outRate int
	out     []float32
	buf     cbuf
	// input format the resampler was built for
	inRate, inFmt, inCh C.int
}

// NewAudioDecoder opens a decoder for codec "aac", "opus", "pcma" or "pcmu",
// or the FFmpeg name of any other audio codec the build decodes
// ("pcm_s16le", "mp3", "flac"… from a clip). config is the codec's
// out-of-band configuration (AAC AudioSpecificConfig; a container's
// extradata).
func NewAudioDecoder(codec string, config []byte, sampleRate, channels, outRate int) (*AudioDecoder, error) {
	name := map[string]string{"aac": "aac", "opus": "opus", "pcma": "pcm_alaw", "pcmu": "pcm_mulaw"}[codec]
	if name == "" {
		name = codec
	}
	if name == "" {
		return nil, fmt.Errorf("audio decoder: unsupported codec %q", codec)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var extra *C.uint8_t
	if len(config) > 0 {
		extra = (*C.uint8_t)(unsafe.Pointer(&config[0]))
	}
	var code C.int
	c := C.sy_audio_dec_open(cname, extra, C.int(len(config)), C.int(sampleRate), C.int(channels), &code)
	if c == nil {
		return nil, avErr("open "+codec+" decoder", code)
	}
	return &AudioDecoder{c: c, outRate: outRate}, nil
}

// Decode decodes one access unit and calls fn with its samples, interleaved
// stereo float32 at the output rate, valid only during fn.
func (d *AudioDecoder) Decode(data []byte, fn func([]float32)) error {
	b := d.buf.ensure(len(data))
	copy(b, data)
	clear(b[len(data) : len(data)+C.AV_INPUT_BUFFER_PADDING_SIZE]) // what FFmpeg's bit readers may read past the end
	if err := avErr("decode audio", C.sy_dec_send(d.c, (*C.uint8_t)(d.buf.p), C.int(len(data)), 0)); err != nil && err != ErrAgain {
		return err
	}
	for {
		code := C.sy_dec_receive(d.c)
		if code < 0 {
			if err := avErr("decode audio", code); err != ErrAgain {
				return err
			}
			return nil
		}
		fr := d.c.frame
		if d.swr != nil && (fr.sample_rate != d.inRate || fr.format != d.inFmt || fr.ch_layout.nb_channels != d.inCh) {
			C.swr_free(&d.swr)
		}
		d.inRate, d.inFmt, d.inCh = fr.sample_rate, fr.format, fr.ch_layout.nb_channels
		need := int(fr.nb_samples)*d.outRate/int(fr.sample_rate) + 256
		if cap(d.out) < need*2 {
			d.out = make([]float32, need*2)
		}
		out := d.out[:cap(d.out)]
		n := C.sy_resample(&d.swr, fr, (*C.float)(unsafe.Pointer(&out[0])), C.int(len(out)/2), C.int(d.outRate))
		if n < 0 {
			return avErr("resample", n)
		}
		fn(out[:int(n)*2])
	}
}

// Close frees the decoder.
func (d *AudioDecoder) Close() {
	C.swr_free(&d.swr)
	C.sy_codec_close(d.c)
	d.c = nil
	d.buf.free()
}

// AudioEncoder encodes interleaved float32 stereo to AAC-LC.
type AudioEncoder struct {
	c     *C.sy_codec
	frame *C.AVFrame
	extra []byte
	size  int
}

// NewAACEncoder opens FFmpeg's AAC encoder for stereo at rate Hz.
func NewAACEncoder(rate, bitrateBPS int) (*AudioEncoder, error) {
	var code C.int
	c := C.sy_aac_enc_open(C.int(rate), C.int(bitrateBPS), &code)
	if c == nil {
		return nil, avErr("open aac encoder", code)
	}
	size := int(c.ctx.frame_size)
	f := C.sy_audio_frame_new(C.int(size), C.int(rate), &code)
	if f == nil {
		C.sy_codec_close(c)
		return nil, avErr("allocate audio frame", code)
	}
	return &AudioEncoder{c: c, frame: f, size: size,
		extra: C.GoBytes(unsafe.Pointer(c.ctx.extradata), c.ctx.extradata_size)}, nil
}

// FrameSize is the number of samples per channel each Encode takes (1024 for AAC).
func (e *AudioEncoder) FrameSize() int { return e.size }

// Extradata returns the AudioSpecificConfig.
func (e *AudioEncoder) Extradata() []byte { return e.extra }

// Encode encodes exactly FrameSize interleaved stereo samples; pts counts samples.
func (e *AudioEncoder) Encode(samples []float32, pts int64, fn func(Packet)) error {
	if len(samples) != 2*e.size {
		return fmt.Errorf("encode audio: got %d samples, want %d", len(samples)/2, e.size)
	}
	if err := avErr("make frame writable", C.av_frame_make_writable(e.frame)); err != nil {
		return err
	}
	C.sy_fill_fltp(e.frame, (*C.float)(unsafe.Pointer(&samples[0])), C.int(e.size))
	if err := avErr("encode audio", C.sy_enc_send(e.c, e.frame, C.int64_t(pts), 0)); err != nil {
		return err
	}
	return drain(e.c, fn)
}

// Close frees the encoder.
func (e *AudioEncoder) Close() {
	C.av_frame_free(&e.frame)
	C.sy_codec_close(e.c)
	e.c = nil
}
