// Package av is Switchyard's only cgo: H.264/H.265 and audio decoding, H.264
// (libx264) and AAC encoding, scaling and resampling over FFmpeg's libraries
// (libavcodec, libswscale, libswresample, libavutil; FFmpeg 5.1 through 7.x).
//
// Pictures live in C memory (AVFrame) and are exposed to Go as plane slices, so
// Go code can compose on them and hand them back to C without copies. Frames
// come from a FramePool and are reference counted, so the steady state
// allocates nothing per frame.
package av

/*
#cgo pkg-config: libavcodec libavutil libswscale libswresample
#cgo CFLAGS: -O3
#include "av.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// ErrAgain reports that a codec needs more input before it has output.
var ErrAgain = errors.New("av: need more input")

// Error is an FFmpeg error code with its message.
type Error struct {
	Op   string
	Code int
}

func (e *Error) Error() string {
	var buf [128]C.char
	C.av_strerror(C.int(e.Code), &buf[0], C.size_t(len(buf)))
	return fmt.Sprintf("%s: %s", e.Op, C.GoString(&buf[0]))
}

func avErr(op string, code C.int) error {
	if code >= 0 {
		return nil
	}
	if code == C.SY_EAGAIN || code == C.SY_EOF {
		return ErrAgain
	}
	return &Error{Op: op, Code: int(code)}
}

// inC counts the goroutines inside FFmpeg's decode, encode and scale calls.
var inC atomic.Int32

// InC returns how many goroutines are inside FFmpeg's video decode, encode
// or scale calls at this moment. Each holds one of the Go runtime's Ps
// until its call returns or the runtime's monitor takes the P back: when
// they hold every P, nothing else runs Go code for a while — timers
// included.
func InC() int { return int(inC.Load()) }

// Version returns the libavcodec version string, for logs.
func Version() string {
	v := uint32(C.avcodec_version())
	return fmt.Sprintf("%d.%d.%d", v>>16, (v>>8)&0xff, v&0xff)
}

func init() {
	C.av_log_set_level(C.AV_LOG_QUIET)
}

// cbuf is a growable C buffer with FFmpeg's input padding, for packet data.
type cbuf struct {
	p   unsafe.Pointer
	cap int
}

func (b *cbuf) ensure(n int) []byte {
	if n+C.AV_INPUT_BUFFER_PADDING_SIZE > b.cap {
		C.av_free(b.p)
		b.cap = (n + C.AV_INPUT_BUFFER_PADDING_SIZE) * 2
		b.p = C.av_mallocz(C.size_t(b.cap))
	}
	return unsafe.Slice((*byte)(b.p), b.cap)
}

func (b *cbuf) free() {
	C.av_free(b.p)
	b.p, b.cap = nil, 0
}
