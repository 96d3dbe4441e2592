package mixer

import (
	"time"

	"switchyard/internal/assets"
	"switchyard/media/av"
	"switchyard/mixer/clock"
)

// Config is the program format.
type Config struct {
	Width, Height int
	// FPSNum/FPSDen is the program frame rate (30/1, 30000/1001, …).
	FPSNum, FPSDen  int
	VideoBitrateBPS int
	AudioBitrateBPS int
	// Keyint is the GOP length; defaults to 2s.
	Keyint time.Duration
	// StaleAfter shows the slate when the program source has had no new
	// picture for this long; defaults to 500ms.
	StaleAfter time.Duration
	// DecodeThreads per source (0: FFmpeg chooses); defaults to 1.
	DecodeThreads int
	// EncodeThreads for x264; 0 picks by size (encodeThreads): one thread
	// up to 720p, x264's choice above.
	EncodeThreads int
	// PreviewBitrateBPS, when set, encodes the preview bus too, at this
	// bitrate, on PreviewStream (a confidence monitor); it costs a second
	// compose and encode per frame.
	PreviewBitrateBPS int
	// Multiview is the monitor wall's format.
	Multiview MultiviewConfig
	// JitterBuffer is how long a source's pictures and sound wait after
	// the earliest they could be shown (timing.go); AutoJitter (the
	// default) gives each source an adaptive one (adaptive.go).
	JitterBuffer time.Duration
	// Assets is the folder keyer images and fonts are read from; nil: only
	// the built-in fonts, and no image files.
	Assets *assets.Dir
	// Encoder is the program's (and renditions') H.264 encoder: x264 (the
	// default) or a hardware one (av.EncoderNVENC, …) on EncodeDevice.
	Encoder      string
	EncodeDevice *av.HWDevice
	// Preset is x264's speed for quality trade (av.X264Presets; "" is
	// veryfast): a faster one frees CPU at the same bitrate for less
	// quality. Only x264 has one.
	Preset string
	// DecodeDevice, when set, decodes the sources on a GPU (each picture
	// downloaded once for the compose); a source the device cannot decode
	// is decoded on the CPU.
	DecodeDevice *av.HWDevice
	// Stingers resolves a stinger transition's clip name to its file (the
	// clip folders, as clip sources resolve theirs); nil refuses stingers.
	Stingers func(name string) (string, error)
	// StingerMaxBytes bounds a stinger's decoded pictures
	// (sting.DefaultMaxBytes, 1 GiB, when 0).
	StingerMaxBytes int64
}

// Rate is the program's frame rate.
func (c Config) Rate() clock.Rate { return clock.Rate{Num: c.FPSNum, Den: c.FPSDen} }

// FrameDuration returns the duration of frame n+1 minus frame n on average.
func (c Config) FrameDuration() time.Duration { return c.Rate().FrameDuration() }

// frameTime returns the exact time of frame n: n × FPSDen / FPSNum seconds.
func (c Config) frameTime(n int64) time.Duration { return c.Rate().FrameTime(n) }

// FrameOf returns the index of the program frame whose timestamp is pts: the
// inverse of frame n's time n × FPSDen / FPSNum seconds.
func (c Config) FrameOf(pts time.Duration) int64 { return c.Rate().FrameOf(pts) }

// singleThreadPixels is the largest program x264 encodes on one thread by
// default: 1280×720.
const singleThreadPixels = 1280 * 720

// encodeThreads is the default x264 thread count for a w×h program. Up to
// 720p one thread: a veryfast frame takes a few milliseconds, well inside a
// frame, and with zerolatency x264's threads are slices of the frame that
// each wake per frame and cost bits at their borders — measured paced at
// 720p30, one thread spends 14 % less CPU on x264 than its choice of two
// sliced threads. Above it x264 chooses (0), so a 1080p frame is not
// encoded on one core.
func encodeThreads(w, h int) int {
	if w*h <= singleThreadPixels {
		return 1
	}
	return 0
}
