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
	"path/filepath"
	"strings"
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
	size, mod, err := fingerprint(path)
	return c != nil && err == nil && c.Path == path && size == c.size && mod.Equal(c.modTime)
}

// fingerprint is a clip's size and modification time: a file's own; for a
// folder of PNGs their sum and the latest of theirs and the folder's (a
// picture added, removed or changed).
func fingerprint(path string) (int64, time.Time, error) {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		if err != nil {
			return 0, time.Time{}, err
		}
		return st.Size(), st.ModTime(), nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return 0, time.Time{}, err
	}
	size, mod := int64(0), st.ModTime()
	for _, e := range entries {
		if !strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			continue
		}
		if info, err := e.Info(); err == nil {
			size += info.Size()
			if info.ModTime().After(mod) {
				mod = info.ModTime()
			}
		}
	}
	return size, mod, nil
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
	"QuickTime Animation (-c:v qtrle -pix_fmt argb sting.mov), VP9 in WebM (-c:v libvpx-vp9 -pix_fmt yuva420p sting.webm) " +
	"or a folder of numbered RGBA PNGs (0001.png, 0002.png, …: one a program frame)"

// Load decodes the stinger name (its file, or its folder of PNG pictures,
// at path) for o. Its errors are fault.Invalid on the field "clip" and say
// what to do.
func Load(name, path string, o Options) (*Clip, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, invalid(fmt.Sprintf("stinger %s: %v", name, err), err)
	}
	size, mod, err := fingerprint(path) // before reading: a change while it loads makes it stale
	if err != nil {
		return nil, invalid(fmt.Sprintf("stinger %s: %v", name, err), err)
	}
	l := newLoader(name, o)
	c := &Clip{Name: name, Path: path, size: size, modTime: mod}
	var step time.Duration
	if st.IsDir() {
		step, err = l.sequence(c, path)
	} else {
		step, err = l.file(c, path)
	}
	if err != nil {
		return nil, err
	}
	return l.finish(c, step)
}

// loader collects a stinger's pictures (premultiplied layers at the
// program's size, by time) and sound.
type loader struct {
	name      string
	o         Options
	w, h      int
	frameSize int64
	y, u, v   []byte
	a         []byte
	pics      []pic
	audio     []float32
	bytes     int64
}

type pic struct {
	pts   time.Duration
	layer *color.Layer
}

func newLoader(name string, o Options) *loader {
	w, h := o.Width&^1, o.Height&^1
	return &loader{name: name, o: o, w: w, h: h, frameSize: int64(w*h*2 + 3*(w/2)*(h/2)),
		y: make([]byte, w*h), u: make([]byte, w*h/4), v: make([]byte, w*h/4), a: make([]byte, w*h)}
}

// file decodes a clip file and returns the time of one of its pictures.
func (l *loader) file(c *Clip, path string) (time.Duration, error) {
	d, err := av.OpenClipDecoder(path)
	if err != nil {
		return 0, invalid(fmt.Sprintf("stinger %s cannot be decoded (%v); %s", l.name, err, makeIt), err)
	}
	defer d.Close()
	c.Codec, c.Decoder = d.Codec, d.Decoder
	var last time.Duration
	for {
		kind, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, invalid(fmt.Sprintf("stinger %s: decoding failed at %v (%v); %s", l.name, last, err, makeIt), err)
		}
		if kind == av.ClipSound {
			s, err := d.Samples(l.o.SampleRate)
			if err != nil {
				return 0, invalid(fmt.Sprintf("stinger %s: its sound: %v", l.name, err), err)
			}
			if len(l.audio) < 2*l.o.SampleRate*int(MaxDuration/time.Second) {
				l.audio = append(l.audio, s...)
			}
			continue
		}
		pts, ok := d.PTS()
		if !ok {
			pts = last
			if len(l.pics) > 0 && d.FPS > 0 {
				pts += time.Duration(float64(time.Second) / d.FPS)
			}
		}
		if len(l.pics) > 0 && pts < l.pics[len(l.pics)-1].pts {
			continue // out of order: a broken file; its pictures keep their order
		}
		last = pts
		if err := l.add(d, pts); err != nil {
			return 0, err
		}
	}
	switch {
	case d.FPS > 0:
		return time.Duration(float64(time.Second) / d.FPS), nil
	case len(l.pics) > 1:
		return (l.pics[len(l.pics)-1].pts - l.pics[0].pts) / time.Duration(len(l.pics)-1), nil
	}
	return 0, nil
}

// sequence decodes a folder of PNG pictures in the order of their names,
// one a program frame. Each is read like a clip file; an entry that is not
// a regular file (a link, a folder) is refused, other files are skipped.
func (l *loader) sequence(c *Clip, dir string) (time.Duration, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return 0, invalid(fmt.Sprintf("stinger %s: %v", l.name, err), err)
	}
	step := l.o.Rate.FrameDuration()
	for _, e := range entries {
		if !strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			continue
		}
		if !e.Type().IsRegular() {
			return 0, invalid(fmt.Sprintf("stinger %s: %s is not a regular file (a link or a folder); copy the pictures into the folder", l.name, e.Name()), nil)
		}
		if len(l.pics) >= maxPictures {
			return 0, invalid(fmt.Sprintf("stinger %s has more than %d pictures: a stinger lasts a few seconds", l.name, maxPictures), nil)
		}
		p := filepath.Join(dir, e.Name())
		d, err := av.OpenClipDecoder(p)
		if err != nil {
			return 0, invalid(fmt.Sprintf("stinger %s: %s cannot be decoded (%v); %s", l.name, e.Name(), err, makeIt), err)
		}
		kind, err := d.Next()
		if err == nil && kind != av.ClipPicture {
			err = av.ErrNoVideo
		}
		if err == nil {
			err = l.add(d, time.Duration(len(l.pics))*step)
		}
		c.Codec, c.Decoder = d.Codec, d.Decoder
		d.Close()
		var inv *fault.Invalid
		if errors.As(err, &inv) {
			return 0, err
		}
		if err != nil {
			return 0, invalid(fmt.Sprintf("stinger %s: %s cannot be decoded (%v); %s", l.name, e.Name(), err, makeIt), err)
		}
	}
	if len(l.pics) == 0 {
		return 0, invalid(fmt.Sprintf("stinger %s is a folder with no PNG pictures; %s", l.name, makeIt), nil)
	}
	return step, nil
}

// add takes the picture d decoded last, at pts.
func (l *loader) add(d *av.ClipDecoder, pts time.Duration) error {
	if !d.Alpha() {
		return invalid(fmt.Sprintf("stinger %s (%s, decoded by %s) has no alpha channel: it would hide the program; %s",
			l.name, d.Codec, d.Decoder, makeIt), nil)
	}
	if len(l.pics) >= maxPictures {
		return invalid(fmt.Sprintf("stinger %s has more than %d pictures: a stinger lasts a few seconds", l.name, maxPictures), nil)
	}
	if len(l.pics) > 0 && pts-l.pics[0].pts > MaxDuration {
		return invalid(fmt.Sprintf("stinger %s is longer than %v: a stinger lasts a few seconds", l.name, MaxDuration), nil)
	}
	if err := d.YUVA(l.y, l.u, l.v, l.a, l.w, l.h); err != nil {
		return invalid(fmt.Sprintf("stinger %s: converting its pictures: %v", l.name, err), err)
	}
	layer := premultiply(l.y, l.u, l.v, l.a, l.w, l.h)
	if layer != nil {
		l.bytes += l.frameSize
	}
	if l.bytes > l.o.MaxBytes {
		return invalid(fmt.Sprintf("stinger %s decodes to more than %d MiB at %dx%d (%d pictures so far): "+
			"the mixer holds at most %d MiB of a stinger; shorten it or make it transparent where it shows nothing",
			l.name, l.bytes>>20, l.w, l.h, len(l.pics)+1, l.o.MaxBytes>>20), nil)
	}
	l.pics = append(l.pics, pic{pts, layer})
	return nil
}

// finish lays the pictures out one a program frame (each the picture due
// by the middle of it) over the clip's length: the last picture's time plus
// step.
func (l *loader) finish(c *Clip, step time.Duration) (*Clip, error) {
	if len(l.pics) == 0 {
		return nil, invalid(fmt.Sprintf("stinger %s has no picture FFmpeg decodes; %s", l.name, makeIt), nil)
	}
	pics, o := l.pics, l.o
	c.Bytes = l.bytes
	c.Duration = pics[len(pics)-1].pts - pics[0].pts + step
	c.DurationMS = int((c.Duration + time.Millisecond/2) / time.Millisecond)
	if c.DurationMS <= 0 {
		return nil, invalid(fmt.Sprintf("stinger %s lasts no time: it needs pictures over at least one frame", l.name), nil)
	}
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
	if len(l.audio) > 0 {
		c.Audio = l.audio[:min(len(l.audio), 2*int(int64(c.Duration)*int64(o.SampleRate)/int64(time.Second)))]
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
