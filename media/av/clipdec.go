package av

/*
#cgo pkg-config: libavformat libavcodec libavutil libswscale libswresample
#include "clipdec.h"
*/
import "C"

import (
	"errors"
	"io"
	"time"
	"unsafe"
)

// ClipDecoder decodes a whole media file — any video codec the FFmpeg
// build decodes (ProRes 4444, QuickTime Animation, VP9 with alpha, PNG…)
// and its sound — for the mixer's own use: a stinger's pictures, with
// their alpha, converted to YUVA 4:2:0 at the program's size. It is for
// work done ahead of air, never on the program clock. Not safe for
// concurrent use.
type ClipDecoder struct {
	c   *C.sy_clipdec
	out []float32
	// Codec is the video stream's codec ("prores", "qtrle", "vp9"…),
	// Decoder the decoder opened for it ("libvpx-vp9" for VP9).
	Codec, Decoder string
	// Width and Height are the pictures' coded size, FPS the stream's
	// average frame rate (0 when the container does not say).
	Width, Height int
	FPS           float64
	// Sound is true when the file has sound the build decodes.
	Sound bool
}

// What ClipDecoder.Next found.
const (
	ClipPicture = 1 // a picture: Alpha, PTS and YUVA read it
	ClipSound   = 2 // a block of sound: Samples reads it
)

// ErrNoVideo is returned for a file without a video stream.
var ErrNoVideo = errors.New("the file holds no video")

// OpenClipDecoder opens path and decoders for its video and its sound. VP9
// is decoded by libvpx-vp9 when the build has it: FFmpeg's own vp9 decoder
// drops the alpha WebM carries beside each picture (a Matroska
// BlockAdditional), libvpx's decodes it into a YUVA picture.
func OpenClipDecoder(path string) (*ClipDecoder, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var c *C.sy_clipdec
	if code := C.sy_clipdec_open(cpath, 1, &c); code < 0 {
		if code == C.AVERROR_STREAM_NOT_FOUND {
			return nil, ErrNoVideo
		}
		return nil, &Error{Op: "open", Code: int(code)}
	}
	d := &ClipDecoder{c: c, Codec: C.GoString(C.avcodec_get_name(c.vdec.codec_id)), Decoder: C.GoString(c.vdec.codec.name),
		Width: int(c.vdec.width), Height: int(c.vdec.height), Sound: c.adec != nil}
	if r := C.sy_clipdec_vrate(c); r.den > 0 && r.num > 0 {
		d.FPS = float64(r.num) / float64(r.den)
	}
	return d, nil
}

// Next decodes on to the next picture or block of sound and says which
// (ClipPicture, ClipSound); io.EOF at the end of the file.
func (d *ClipDecoder) Next() (int, error) {
	code := C.sy_clipdec_next(d.c)
	switch {
	case code == C.AVERROR_EOF:
		return 0, io.EOF
	case code < 0:
		return 0, &Error{Op: "decode", Code: int(code)}
	}
	return int(code), nil
}

// Alpha is true when the current picture carries alpha.
func (d *ClipDecoder) Alpha() bool { return C.sy_clipdec_alpha(d.c) != 0 }

// PTS is the current picture's presentation time (the decoder's best
// estimate); ok is false when the file gives none.
func (d *ClipDecoder) PTS() (time.Duration, bool) {
	return tsDur(d.c.frame.best_effort_timestamp, C.sy_clipdec_vtb(d.c))
}

// YUVA converts the current picture to YUVA 4:2:0 of w×h (w and h even;
// stretched to it) into tightly packed planes: y and a w×h, u and v
// (w/2)×(h/2). Alpha is straight (not premultiplied); a picture without
// alpha comes out opaque.
func (d *ClipDecoder) YUVA(y, u, v, a []byte, w, h int) error {
	if w <= 0 || h <= 0 || len(y) < w*h || len(a) < w*h || len(u) < w*h/4 || len(v) < w*h/4 {
		return errors.New("yuva: planes smaller than the size")
	}
	code := C.sy_clipdec_yuva(d.c, (*C.uint8_t)(unsafe.Pointer(&y[0])), (*C.uint8_t)(unsafe.Pointer(&u[0])),
		(*C.uint8_t)(unsafe.Pointer(&v[0])), (*C.uint8_t)(unsafe.Pointer(&a[0])), C.int(w), C.int(h))
	return avErr("convert picture", code)
}

// Samples returns the current block of sound as interleaved stereo float32
// at rate, valid until the next call.
func (d *ClipDecoder) Samples(rate int) ([]float32, error) {
	fr := d.c.frame
	if fr.sample_rate <= 0 {
		return nil, nil
	}
	need := int(fr.nb_samples)*rate/int(fr.sample_rate) + 256
	if cap(d.out) < need*2 {
		d.out = make([]float32, need*2)
	}
	out := d.out[:need*2]
	n := C.sy_clipdec_samples(d.c, (*C.float)(unsafe.Pointer(&out[0])), C.int(need), C.int(rate))
	if n < 0 {
		return nil, avErr("resample", n)
	}
	return out[:int(n)*2], nil
}

// Close frees the decoder. Safe twice.
func (d *ClipDecoder) Close() {
	if d.c != nil {
		C.sy_clipdec_close(d.c)
		d.c = nil
	}
}
