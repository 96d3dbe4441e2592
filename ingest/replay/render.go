package replay

import (
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/media"
	"switchyard/media/av"
)

// The pictures a replay makes of its own — those of a blended slow
// motion — are decoded here from
// the buffer's units and encoded again as H.264: only while a replay
// plays, never for the buffers (a source nobody replays costs no decode).

// decoder decodes a replay's video units in order and hands out each
// picture, in display order, scaled into a frame of its own.
type decoder struct {
	dec  *av.VideoDecoder
	sc   av.Scaler
	w, h int
}

func newDecoder(codec string) (*decoder, error) {
	dec, err := av.NewVideoDecoder(codec, 1)
	if err != nil {
		return nil, err
	}
	return &decoder{dec: dec}, nil
}

func (d *decoder) close() {
	d.dec.Close()
	d.sc.Close()
}

// decode feeds u (nil: flush) and calls fn with each picture that comes
// out and its PTS; fn owns the frame.
func (d *decoder) decode(u *media.Unit, fn func(f *av.Frame, pts time.Duration)) error {
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
