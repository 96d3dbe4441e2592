package slowmo

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/media"
	"switchyard/media/av"
)

// Package slowmo makes the pictures of a blended slow replay
// (replay.slow: blend): the buffer's units decoded, the in-between
// pictures mixed of their two neighbours, and encoded again as H.264 —
// only while such a replay plays, never for the buffers (a source nobody
// replays costs no decode). It is the replay's only cgo (through
// media/av), kept out of package replay so that what imports the replay's
// types (control) links no FFmpeg; main hands a Blender to the Replayer.

// Decoder decodes a replay's video units in order and hands out each
// picture, in display order, scaled into a frame of its own.
type Decoder struct {
	dec  *av.VideoDecoder
	sc   av.Scaler
	w, h int
}

// NewDecoder opens a decoder of codec (a media.Track's Codec).
func NewDecoder(codec string) (*Decoder, error) {
	dec, err := av.NewVideoDecoder(codec, 1)
	if err != nil {
		return nil, err
	}
	return &Decoder{dec: dec}, nil
}

// Close frees the decoder.
func (d *Decoder) Close() {
	d.dec.Close()
	d.sc.Close()
}

// Decode feeds u (nil: flush) and calls fn with each picture that comes
// out and its PTS; fn owns the frame.
func (d *Decoder) Decode(u *media.Unit, fn func(f *av.Frame, pts time.Duration)) error {
	var nalus [][]byte
	var pts int64
	if u != nil {
		nalus, pts = u.Data, int64(u.PTS)
	}
	var ferr error
	err := d.dec.Decode(nalus, pts, func(pic av.Picture, p int64) {
		if ferr != nil {
			return
		}
		if d.w == 0 {
			d.w, d.h = pic.Width()&^1, pic.Height()&^1
		}
		f, err := av.NewFrame(d.w, d.h)
		if err != nil {
			ferr = err
			return
		}
		if err := d.sc.Scale(pic, f, av.Rect{W: d.w, H: d.h}); err != nil {
			f.Free()
			ferr = err
			return
		}
		fn(f, time.Duration(p))
	})
	return errors.Join(err, ferr)
}

// encoder encodes a replay's own pictures as H.264 units of one track.
type encoder struct {
	enc   *av.VideoEncoder
	track *media.Track
	n     int64
}

// newEncoder opens an encoder for w×h pictures at fps, a key frame every
// gop pictures.
func newEncoder(w, h int, fps float64, gop int) (*encoder, error) {
	rate := max(int(fps+0.5), 1)
	bps := max(int(float64(w*h)*fps*0.12), 500_000) // about what a camera sends for its size
	enc, err := av.NewH264Encoder(av.H264Config{Width: w, Height: h, FPSNum: rate, FPSDen: 1,
		BitrateBPS: bps, GOP: gop, Preset: "ultrafast", Threads: 1})
	if err != nil {
		return nil, err
	}
	track, err := media.H264TrackFromAnnexB(enc.Extradata(), fps)
	if err != nil {
		enc.Close()
		return nil, err
	}
	return &encoder{enc: enc, track: track}, nil
}

func (e *encoder) close() { e.enc.Close() }

// encode returns f as one unit's NAL units (an IDR carries its parameter
// sets in front) and whether it is a key unit.
func (e *encoder) encode(f *av.Frame, forceKey bool) (nalus [][]byte, key bool, err error) {
	err = e.enc.Encode(f, e.n, forceKey, func(pk av.Packet) {
		var au h264.AnnexB
		if au.Unmarshal(append([]byte(nil), pk.Data...)) != nil {
			return
		}
		nalus, key = media.H264KeyWithParams(au, e.track.SPS, e.track.PPS)
	})
	e.n++
	if err == nil && nalus == nil {
		err = fmt.Errorf("the encoder gave no picture out")
	}
	return nalus, key, err
}

// blend mixes a and b into out, w of b (0–1): out = a·(1−w) + b·w, each
// plane byte for byte (the three frames are of one size).
func blend(out, a, b *av.Frame, w float64) {
	wi := uint32(w*256 + 0.5)
	mix := func(o, x, y []byte) {
		for i := range o {
			o[i] = byte((uint32(x[i])*(256-wi) + uint32(y[i])*wi + 128) >> 8)
		}
	}
	mix(out.Y, a.Y, b.Y)
	mix(out.U, a.U, b.U)
	mix(out.V, a.V, b.V)
}

// Blender makes a blended slow replay's pictures (replay.Slowmo) and a
// replay's held picture (replay.Stiller).
type Blender struct{}

// Still decodes units' video from their last key unit on and returns the
// last picture that comes out — decoders give pictures out in display
// order, so after the flush the last out is the range's last picture,
// whatever timestamp it carries — encoded as one H.264 IDR unit of a
// track of its own at fps.
func (Blender) Still(units []*media.Unit, fps float64) (*media.Track, [][]byte, error) {
	key := -1
	for i, u := range units {
		if u.Track.Kind == media.KindVideo && u.Key {
			key = i
		}
	}
	if key < 0 {
		return nil, nil, errors.New("the range holds no key frame")
	}
	d, err := NewDecoder(units[key].Track.Codec)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	var last *av.Frame
	defer func() {
		if last != nil {
			last.Free()
		}
	}()
	keep := func(f *av.Frame, _ time.Duration) {
		if last != nil {
			last.Free()
		}
		last = f
	}
	for _, u := range units[key:] {
		if u.Track.Kind != media.KindVideo {
			continue
		}
		if err := d.Decode(u, keep); err != nil {
			return nil, nil, fmt.Errorf("decode the last picture: %w", err)
		}
	}
	if err := d.Decode(nil, keep); err != nil {
		return nil, nil, fmt.Errorf("decode the last picture: %w", err)
	}
	if last == nil {
		return nil, nil, errors.New("decode the last picture: no picture came out")
	}
	enc, err := newEncoder(last.Width, last.Height, fps, 1)
	if err != nil {
		return nil, nil, err
	}
	defer enc.close()
	nalus, _, err := enc.encode(last, true)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the held picture: %w", err)
	}
	return enc.track, nalus, nil
}

// Pictures decodes units (the range, in decode order) from the mark on
// and calls emit with picture j = 1, 2, … in turn: the camera at
// j×speed frames past the mark — a frame of it, or between two a mix of
// both by where it falls (at 50 % every other picture is half of each
// neighbour; at 25 % a quarter, half, three quarters) — encoded as one
// H.264 unit of track (the first a key unit), until the range has no
// more pictures or emit returns false.
func (Blender) Pictures(units []*media.Unit, mark int, speed, fps float64, emit func(track *media.Track, nalus [][]byte, key bool) bool) error {
	markPTS := units[mark].PTS
	d, err := NewDecoder(units[mark].Track.Codec)
	if err != nil {
		return err
	}
	defer d.Close()
	var pics []*av.Frame // the decoded pictures from the mark on, in display order; pics[0] is number first
	first, in, flushed := 0, 0, false
	defer func() {
		for _, p := range pics {
			p.Free()
		}
	}()
	collect := func(f *av.Frame, pts time.Duration) {
		if pts != math.MinInt64 && pts < markPTS-time.Millisecond { // (the flush's picture may have no timestamp: the last)
			f.Free()
			return
		}
		pics = append(pics, f)
	}
	have := func(n int) (bool, error) { // is picture n decoded (false: the range ends before it)?
		for first+len(pics) <= n {
			switch {
			case in < len(units):
				u := units[in]
				in++
				if u.Track.Kind == media.KindVideo {
					if err := d.Decode(u, collect); err != nil {
						return false, err
					}
				}
			case !flushed:
				flushed = true
				if err := d.Decode(nil, collect); err != nil {
					return false, err
				}
			default:
				return false, nil
			}
		}
		return true, nil
	}
	var enc *encoder
	var mix *av.Frame
	defer func() {
		if enc != nil {
			enc.close()
		}
		if mix != nil {
			mix.Free()
		}
	}()
	for j := 1; ; j++ {
		p := float64(j) * speed
		i := int(p + 1e-9)
		w := p - float64(i)
		hi := i
		if w > 1e-9 {
			hi = i + 1
		} else {
			w = 0
		}
		ok, err := have(hi)
		if err != nil || !ok {
			return err
		}
		for first < i {
			pics[0].Free()
			pics = pics[1:]
			first++
		}
		pic := pics[i-first]
		if w > 0 {
			if mix == nil {
				if mix, err = av.NewFrame(pic.Width, pic.Height); err != nil {
					return err
				}
			}
			blend(mix, pic, pics[hi-first], w)
			pic = mix
		}
		if enc == nil {
			if enc, err = newEncoder(pic.Width, pic.Height, fps, max(int(fps+0.5), 1)); err != nil {
				return err
			}
		}
		nalus, key, err := enc.encode(pic, j == 1)
		if err != nil {
			return err
		}
		if !emit(enc.track, nalus, key) {
			return nil
		}
	}
}
