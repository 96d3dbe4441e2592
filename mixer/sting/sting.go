// Package sting loads a stinger: a clip with alpha that plays over the
// program while the cut happens under it (bus.TransStinger). The whole
// clip is decoded when the transition is set or taken — never on the
// program clock — into one premultiplied YUVA layer per program frame at
// the program's size (the keyers' color.Layer, blended by media/draw),
// and its sound into 48 kHz stereo samples. What it holds is bounded
// (Options.MaxBytes): a clip too long or too large for it is refused with
// the figures. Why a pool rather than a decoder running ahead: the T-bar
// may move the clip back and forth, so every picture must be at hand, and
// decoding ahead on air would take a core from the program at the moment
// it needs one; stingers are short (one to three seconds).
package sting

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"switchyard/internal/fault"
	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/mixer/clock"
)

// DefaultMaxBytes bounds a stinger's decoded pictures: 1 GiB, about 6 s of
// 1080p30 with every picture showing something (a transparent picture
// costs nothing), 14 s of 720p30 (2.75 bytes a pixel).
const DefaultMaxBytes = 1 << 30

// MaxDuration is the longest stinger (the longest transition).
const MaxDuration = 60 * time.Second

// maxPictures bounds the pictures decoded (a minute at 240 fps), whatever
// their timestamps say.
const maxPictures = 60 * 240

// Options say how a stinger is decoded.
type Options struct {
	Width, Height int        // the program's size (even)
	Rate          clock.Rate // the program's frame rate
	SampleRate    int        // the program's sound
	MaxBytes      int64      // bound on the decoded pictures; DefaultMaxBytes when 0
}

// Clip is a loaded stinger. It is immutable once loaded: the program reads
// it without a lock.
type Clip struct {
	// Name is the clip as the transition names it, Path the file.
	Name, Path string
	// Codec and Decoder decoded it (e.g. prores, or vp9 by libvpx-vp9).
	Codec, Decoder string
	// Duration is the clip's length; DurationMS the same in whole ms, as
	// the transition carries it.
	Duration   time.Duration
	DurationMS int
	// Frames holds one layer per program frame of the transition (nil:
	// wholly transparent there).
	Frames []*color.Layer
	// Audio is the clip's sound from its start: interleaved stereo at
	// SampleRate (nil without sound).
	Audio []float32
	// Bytes is the memory its pictures take.
	Bytes int64

	size    int64
	modTime time.Time
}

// Same is true when c was loaded from the file at path as it is now (same
// size and modification time): a transition set again reuses it.
func (c *Clip) Same(path string) bool {
	st, err := os.Stat(path)
	return c != nil && err == nil && c.Path == path && st.Size() == c.size && st.ModTime().Equal(c.modTime)
}

// CutFrame is the transition's frame (from 0) at which the cut happens for
// a cut at cut: the first frame that shows the incoming source under the
// clip.
func (c *Clip) CutFrame(rate clock.Rate, cut time.Duration) int64 {
	return rate.FramesIn(cut)
}

// At is the layer of the transition's frame k (nil: nothing to draw).
func (c *Clip) At(k int64) *color.Layer {
	if k < 0 || k >= int64(len(c.Frames)) {
		return nil
	}
	return c.Frames[k]
}

func invalid(msg string, err error) error {
	return &fault.Invalid{Field: "clip", Msg: msg, Err: err}
}

// makeIt is how to make a stinger FFmpeg and the mixer agree on.
const makeIt = "make it with alpha: ProRes 4444 (ffmpeg … -c:v prores_ks -profile:v 4444 -pix_fmt yuva444p10le sting.mov), " +
	"QuickTime Animation (-c:v qtrle -pix_fmt argb sting.mov) or VP9 in WebM (-c:v libvpx-vp9 -pix_fmt yuva420p sting.webm)"

// Load decodes the stinger name (its file at path) for o. Its errors are
// fault.Invalid on the field "clip" and say what to do.
func Load(name, path string, o Options) (*Clip, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	w, h := o.Width&^1, o.Height&^1
	st, err := os.Stat(path)
	if err != nil {
		return nil, invalid(fmt.Sprintf("stinger %s: %v", name, err), err)
	}
	d, err := av.OpenClipDecoder(path)
	if err != nil {
		return nil, invalid(fmt.Sprintf("stinger %s cannot be decoded (%v); %s", name, err, makeIt), err)
	}
	defer d.Close()
	c := &Clip{Name: name, Path: path, Codec: d.Codec, Decoder: d.Decoder, size: st.Size(), modTime: st.ModTime()}
	type pic struct {
		pts   time.Duration
		layer *color.Layer
	}
	var (
		pics      []pic
		audio     []float32
		last      time.Duration
		frameSize = int64(w*h*2 + 3*(w/2)*(h/2))
		y, u, v   = make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)
		a         = make([]byte, w*h)
	)
	for {
		kind, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid(fmt.Sprintf("stinger %s: decoding failed at %v (%v); %s", name, last, err, makeIt), err)
		}
		if kind == av.ClipSound {
			s, err := d.Samples(o.SampleRate)
			if err != nil {
				return nil, invalid(fmt.Sprintf("stinger %s: its sound: %v", name, err), err)
			}
			if len(audio) < 2*o.SampleRate*int(MaxDuration/time.Second) {
				audio = append(audio, s...)
			}
			continue
		}
		if !d.Alpha() {
			return nil, invalid(fmt.Sprintf("stinger %s (%s, decoded by %s) has no alpha channel: it would hide the program; %s",
				name, d.Codec, d.Decoder, makeIt), nil)
		}
		pts, ok := d.PTS()
		if !ok {
			pts = last
			if len(pics) > 0 && d.FPS > 0 {
				pts += time.Duration(float64(time.Second) / d.FPS)
			}
		}
		if len(pics) > 0 && pts < pics[len(pics)-1].pts {
			continue // out of order: a broken file; its pictures keep their order
		}
		if len(pics) >= maxPictures {
			return nil, invalid(fmt.Sprintf("stinger %s has more than %d pictures: a stinger lasts a few seconds", name, maxPictures), nil)
		}
		last = pts
		if len(pics) > 0 && pts-pics[0].pts > MaxDuration {
			return nil, invalid(fmt.Sprintf("stinger %s is longer than %v: a stinger lasts a few seconds", name, MaxDuration), nil)
		}
		if err := d.YUVA(y, u, v, a, w, h); err != nil {
			return nil, invalid(fmt.Sprintf("stinger %s: converting its pictures: %v", name, err), err)
		}
		l := premultiply(y, u, v, a, w, h)
		if l != nil {
			c.Bytes += frameSize
		}
		if c.Bytes > o.MaxBytes {
			return nil, invalid(fmt.Sprintf("stinger %s decodes to more than %d MiB at %dx%d (%d pictures so far): "+
				"the mixer holds at most %d MiB of a stinger; shorten it or make it transparent where it shows nothing",
				name, c.Bytes>>20, w, h, len(pics)+1, o.MaxBytes>>20), nil)
		}
		pics = append(pics, pic{pts, l})
	}
	if len(pics) == 0 {
		return nil, invalid(fmt.Sprintf("stinger %s has no picture FFmpeg decodes; %s", name, makeIt), nil)
	}
	// its length: the last picture's time plus one picture
	step := time.Duration(0)
	if d.FPS > 0 {
		step = time.Duration(float64(time.Second) / d.FPS)
	} else if len(pics) > 1 {
		step = (pics[len(pics)-1].pts - pics[0].pts) / time.Duration(len(pics)-1)
	}
	c.Duration = pics[len(pics)-1].pts - pics[0].pts + step
	c.DurationMS = int((c.Duration + time.Millisecond/2) / time.Millisecond)
	if c.DurationMS <= 0 {
		return nil, invalid(fmt.Sprintf("stinger %s lasts no time: it needs pictures over at least one frame", name), nil)
	}
	// one layer per program frame: the picture due by the middle of it
	n := o.Rate.FramesIn(time.Duration(c.DurationMS) * time.Millisecond)
	c.Frames = make([]*color.Layer, n)
	j := 0
	for k := range n {
		t := o.Rate.FrameTime(k) + o.Rate.FrameDuration()/2
		for j+1 < len(pics) && pics[j+1].pts-pics[0].pts <= t {
			j++
		}
		c.Frames[k] = pics[j].layer
	}
	if len(audio) > 0 {
		c.Audio = audio[:min(len(audio), 2*int(int64(c.Duration)*int64(o.SampleRate)/int64(time.Second)))]
	}
	return c, nil
}

// premultiply makes a layer of one picture (straight alpha, tightly packed
// planes): each sample times its alpha, chroma times the mean of its 2×2
// alphas, as color.Layer holds them. A wholly transparent picture is nil.
// Alpha within 2 of either end is snapped to it: libswscale dithers a
// 10-bit alpha (ProRes 4444) down to 8 bits, which leaves 1s over what
// was clear and 254s in what was solid.
func premultiply(y, u, v, a []byte, w, h int) *color.Layer {
	opaque := false
	for i, x := range a[:w*h] {
		switch {
		case x <= 2:
			a[i] = 0
		case x >= 253:
			a[i] = 255
			opaque = true
		default:
			opaque = true
		}
	}
	if !opaque {
		return nil
	}
	l := color.NewLayer(w, h)
	copy(l.A, a)
	for i, x := range y[:w*h] {
		l.Y[i] = byte((int(x)*int(a[i]) + 127) / 255)
	}
	cw := w / 2
	for cy := range h / 2 {
		r0, r1 := a[2*cy*w:], a[(2*cy+1)*w:]
		for cx := range cw {
			ac := (int(r0[2*cx]) + int(r0[2*cx+1]) + int(r1[2*cx]) + int(r1[2*cx+1]) + 2) >> 2
			i := cy*cw + cx
			l.AC[i] = byte(ac)
			l.U[i] = byte((int(u[i])*ac + 127) / 255)
			l.V[i] = byte((int(v[i])*ac + 127) / 255)
		}
	}
	return l
}
