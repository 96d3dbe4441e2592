package av

/*
#include "av.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Hardware kinds: the FFmpeg device types Switchyard decodes and encodes
// on.
const (
	HWCUDA  = "cuda"  // NVIDIA: NVDEC decoding, NVENC encoding
	HWVAAPI = "vaapi" // Intel and AMD on Linux (a DRM render node)
	HWQSV   = "qsv"   // Intel Quick Sync
)

// HWDevice is a hardware device FFmpeg decodes and encodes on. Share it
// between codecs; Close it after the last one.
type HWDevice struct {
	ref  *C.AVBufferRef
	Kind string
	// Path is the device asked for ("" for the kind's default: the first
	// GPU, or /dev/dri/renderD128).
	Path string
}

// OpenHWDevice opens a device of kind (HWCUDA, HWVAAPI, HWQSV) at path
// ("" for the default). The error says why it is not there (no driver, no
// device node, no permission).
func OpenHWDevice(kind, path string) (*HWDevice, error) {
	switch kind {
	case HWCUDA, HWVAAPI, HWQSV:
	default:
		return nil, fmt.Errorf("hardware device %q: must be cuda, vaapi or qsv", kind)
	}
	ck, cp := C.CString(kind), C.CString(path)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cp))
	var ref *C.AVBufferRef
	if code := C.sy_hw_device_open(ck, cp, &ref); code < 0 {
		where := kind
		if path != "" {
			where += " at " + path
		}
		return nil, avErr("open hardware device "+where, code)
	}
	return &HWDevice{ref: ref, Kind: kind, Path: path}, nil
}

// Close frees the device (the codecs opened on it hold their own
// references). Safe on nil and twice.
func (d *HWDevice) Close() {
	if d != nil && d.ref != nil {
		C.sy_hw_device_free(&d.ref)
	}
}

// NewVideoDecoderOn opens a decoder for codec ("h264", "h265") that
// decodes on dev and hands each picture over in system memory; nil dev is
// NewVideoDecoder. A stream the device cannot decode (a profile it lacks)
// is decoded in software by the same decoder.
func NewVideoDecoderOn(codec string, threads int, dev *HWDevice) (*VideoDecoder, error) {
	if dev == nil {
		return NewVideoDecoder(codec, threads)
	}
	name := map[string]string{"h264": "h264", "h265": "hevc"}[codec]
	if name == "" {
		return nil, fmt.Errorf("video decoder: unsupported codec %q", codec)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var code C.int
	c := C.sy_video_dec_open_hw(cname, C.int(threads), dev.ref, &code)
	if c == nil {
		return nil, avErr("open "+codec+" decoder on "+dev.Kind, code)
	}
	return &VideoDecoder{c: c, hw: true}, nil
}

// Encoders: the H.264 encoders H264Config.Encoder names.
const (
	EncoderX264  = "x264"
	EncoderNVENC = "nvenc"
	EncoderVAAPI = "vaapi"
	EncoderQSV   = "qsv"
)

// EncoderDevice is the device kind an encoder needs ("" for x264).
func EncoderDevice(encoder string) string {
	return map[string]string{EncoderNVENC: HWCUDA, EncoderVAAPI: HWVAAPI, EncoderQSV: HWQSV}[encoder]
}

// newHWEncoder opens FFmpeg's h264_nvenc, h264_vaapi or h264_qsv with the
// program's rate control: constant bitrate, a fixed GOP, no B-frames, the
// lowest-latency settings each offers.
func newHWEncoder(cfg H264Config) (*VideoEncoder, error) {
	name := map[string]string{EncoderNVENC: "h264_nvenc", EncoderVAAPI: "h264_vaapi", EncoderQSV: "h264_qsv"}[cfg.Encoder]
	if name == "" {
		return nil, fmt.Errorf("video encoder %q: must be x264, nvenc, vaapi or qsv", cfg.Encoder)
	}
	if cfg.Encoder == EncoderVAAPI && cfg.Device == nil {
		return nil, fmt.Errorf("video encoder vaapi: needs a VAAPI device")
	}
	var ref *C.AVBufferRef
	if cfg.Device != nil {
		ref = cfg.Device.ref
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var code C.int
	c := C.sy_h264_enc_open_hw(cname, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPSNum), C.int(cfg.FPSDen),
		C.int(cfg.BitrateBPS), C.int(cfg.GOP), ref, &code)
	if c == nil {
		return nil, avErr("open "+name, code)
	}
	return &VideoEncoder{c: c, hw: true, extra: C.GoBytes(unsafe.Pointer(c.ctx.extradata), c.ctx.extradata_size)}, nil
}
