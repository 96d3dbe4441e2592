package mixer

import (
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/internal/sysmon"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/clock"
)

// What a target encodes of each program frame.
type feed int

const (
	feedProgram feed = iota // the program canvas
	feedPreview             // the preview bus (a confidence monitor)
)

// target is one encode of every program frame: an encoder, its track and
// stream, and what it encodes at which bitrate. The program, its renditions
// and the preview are one list (Engine.targets), encoded in turn by the
// encode loop: the program first, the preview last.
type target struct {
	feed   feed
	bps    int
	enc    *av.VideoEncoder
	track  *media.Track
	stream *media.Stream
	// main is the program's own encode: it takes the key frames asked for
	// (KeyFrameNext). The program and its renditions carry the program's sound.
	main, sound bool
	refs        int // a rendition's users (under rmu)
}

// rendition is a second encode of the program at a lower bitrate.
func (t *target) rendition() bool { return t.feed == feedProgram && !t.main }

// newTarget opens an encoder at bps and its stream; the caller sets the
// stream's tracks.
func (e *Engine) newTarget(bps int, f feed) (*target, error) {
	enc, err := e.newVideoEncoder(bps)
	if err != nil {
		return nil, err
	}
	vt, err := media.H264TrackFromAnnexB(enc.Extradata(), float64(e.cfg.FPSNum)/float64(e.cfg.FPSDen))
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("encoder parameters: %w", err)
	}
	return &target{feed: f, bps: bps, enc: enc, track: vt, stream: media.NewStream(), sound: f == feedProgram}, nil
}

// close ends its stream and frees its encoder (the encode loop is done with it).
func (t *target) close() {
	t.stream.Close()
	t.enc.Close()
}

// newVideoEncoder opens an H.264 encoder of the program's format at bps,
// on a raised thread (onProgramThread) so that its slice threads run at the
// program's priority.
func (e *Engine) newVideoEncoder(bps int) (enc *av.VideoEncoder, err error) {
	c := e.cfg
	onProgramThread(func() {
		enc, err = av.NewH264Encoder(av.H264Config{Width: c.Width, Height: c.Height, FPSNum: c.FPSNum, FPSDen: c.FPSDen,
			BitrateBPS: bps, GOP: int(e.gopFrames), Threads: c.EncodeThreads, Encoder: c.Encoder, Device: c.EncodeDevice})
	})
	return enc, err
}

// openPreview adds the preview bus's encode, last of the targets, and its
// picture to every program frame.
func (e *Engine) openPreview() error {
	t, err := e.newTarget(e.cfg.PreviewBitrateBPS, feedPreview)
	if err != nil {
		return fmt.Errorf("preview encoder: %w", err)
	}
	for _, f := range e.outFrames {
		if f.pv, err = av.NewFrame(e.cfg.Width, e.cfg.Height); err != nil {
			t.close()
			return err
		}
	}
	t.stream.SetTracks(t.track)
	e.pvOut = t
	next := append(append([]*target(nil), *e.targets.Load()...), t)
	e.targets.Store(&next)
	return nil
}

// PreviewStream carries the encoded preview bus (video only), or is nil
// when Config.PreviewBitrateBPS is not set.
func (e *Engine) PreviewStream() *media.Stream {
	if e.pvOut == nil {
		return nil
	}
	return e.pvOut.stream
}

// MaxRenditions bounds the second encodes: each costs a whole x264 encode
// of the program, so outputs asking for other bitrates share these.
const MaxRenditions = 4

// AcquireRendition returns a stream of the program re-encoded at bps (same
// size, rate and GOP, same audio), starting one if no one uses that bitrate
// yet. Each Acquire is paired with a ReleaseRendition.
func (e *Engine) AcquireRendition(bps int) (*media.Stream, error) {
	if bps <= 0 || bps >= e.cfg.VideoBitrateBPS {
		return nil, fmt.Errorf("a rendition needs a bitrate below the program's %d bit/s", e.cfg.VideoBitrateBPS)
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	cur := *e.targets.Load()
	var have []int
	for _, r := range cur {
		if !r.rendition() {
			continue
		}
		if r.bps == bps {
			r.refs++
			return r.stream, nil
		}
		have = append(have, r.bps)
	}
	if len(have) >= MaxRenditions {
		return nil, fmt.Errorf("at most %d bitrates below the program's are encoded at once; use one of %v", MaxRenditions, have)
	}
	r, err := e.newTarget(bps, feedProgram)
	if err != nil {
		return nil, err
	}
	r.refs = 1
	r.stream.SetTracks(r.track, e.audioTrack)
	// after the program and the renditions, before the preview
	next := make([]*target, 0, len(cur)+1)
	placed := false
	for _, t := range cur {
		if t.feed == feedPreview && !placed {
			next, placed = append(next, r), true
		}
		next = append(next, t)
	}
	if !placed {
		next = append(next, r)
	}
	e.targets.Store(&next)
	return r.stream, nil
}

// ReleaseRendition drops a user of the bps rendition; the last one stops it.
func (e *Engine) ReleaseRendition(bps int) {
	e.rmu.Lock()
	defer e.rmu.Unlock()
	cur := *e.targets.Load()
	var gone *target
	next := make([]*target, 0, len(cur))
	for _, r := range cur {
		if r.rendition() && r.bps == bps {
			r.refs--
			if r.refs == 0 {
				gone = r
				continue
			}
		}
		next = append(next, r)
	}
	if gone == nil {
		return
	}
	e.targets.Store(&next)
	// the encode loop may still be encoding with it: wait for that frame's end
	e.tickMu.Lock()
	e.tickMu.Unlock() //nolint:staticcheck // an empty critical section is the point
	gone.close()
}

// encode encodes the canvas as frame n with enc (a key frame when key) and
// publishes it on st.
//
// Each encode starts with a yield: the encode loop may have encoded another
// rendition without blocking, and sysmon would otherwise retake its P in the
// encode (internal/sysmon.Yield).
func (e *Engine) encode(tg *target, f *av.Frame, n int64, key bool, tm *clock.FrameTiming) error {
	y := time.Now()
	sysmon.Yield()
	v := time.Now()
	tm.Yielded += v.Sub(y)
	defer func() { tm.Video += time.Since(v) }()
	t, st := tg.track, tg.stream
	return tg.enc.Encode(f, n, key, func(p av.Packet) {
		var au h264.AnnexB
		if err := au.Unmarshal(append([]byte(nil), p.Data...)); err != nil {
			return
		}
		nalus, key := media.H264KeyWithParams(au, t.SPS, t.PPS)
		ts := e.cfg.frameTime(p.PTS)
		st.WriteUnit(&media.Unit{Track: t, PTS: ts, DTS: ts, Key: key, Data: nalus})
	})
}
