package mixer

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
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
// and the preview are one list (targets), encoded in turn by the encode
// loop: the program first, the preview last.
type target struct {
	feed   feed
	bps    int
	enc    *av.VideoEncoder
	track  *media.Track
	stream *media.Stream
	// main is the program's own encode: it takes the key frames asked for
	// (KeyFrameNext). The program and its renditions carry the program's sound.
	main, sound bool
	refs        int // a rendition's users (under targets.mu)
	// height is a scaled rendition's (0: the program's size); the encode
	// loop scales each program frame into scaled first.
	height int
	scaler *av.Scaler
	scaled *av.Frame
}

// Targets are the encodes of every program frame: the program (always the
// first), its renditions, the preview bus's (when configured, always the
// last). The list is copy-on-write under mu, so the encode loop reads it
// without a lock; the encode loop holds encoding while it encodes a frame,
// so a target taken out of the list is closed only after that frame.
// Lock order: mu, then encoding.
type Targets struct {
	cfg       Config
	gopFrames int64
	sound     *media.Track // the program's sound, carried by the program and its renditions
	preview   bool         // the list ends with the preview's target (set by New, read by the tick)

	mu       sync.Mutex // edits of the list (renditions coming and going)
	encoding sync.Mutex // held while the encode loop encodes a program frame
	list     atomic.Pointer[[]*target]
}

// newTargets opens the program's encode, the first of the list.
func newTargets(cfg Config, gopFrames int64) (*Targets, error) {
	ts := &Targets{cfg: cfg, gopFrames: gopFrames}
	p, err := ts.newTarget(cfg.VideoBitrateBPS, feedProgram)
	if err != nil {
		return nil, err
	}
	p.main = true
	ts.list.Store(&[]*target{p})
	return ts, nil
}

// load is the list as the encode loop reads it.
func (ts *Targets) load() []*target { return *ts.list.Load() }

// program is the program's own encode.
func (ts *Targets) program() *target { return ts.load()[0] }

// close closes every target (the encode loop is done).
func (ts *Targets) close() {
	for _, t := range ts.load() {
		t.close()
	}
}

// rendition is a second encode of the program at a lower bitrate.
func (t *target) rendition() bool { return t.feed == feedProgram && !t.main }

// newTarget opens an encoder at bps and its stream; the caller sets the
// stream's tracks.
func (ts *Targets) newTarget(bps int, f feed) (*target, error) {
	return ts.newSizedTarget(bps, ts.cfg.Width, ts.cfg.Height, f)
}

// newSizedTarget is newTarget for a w×h encode.
func (ts *Targets) newSizedTarget(bps, w, h int, f feed) (*target, error) {
	enc, err := ts.newVideoEncoder(bps, w, h)
	if err != nil {
		return nil, err
	}
	vt, err := media.H264TrackFromAnnexB(enc.Extradata(), float64(ts.cfg.FPSNum)/float64(ts.cfg.FPSDen))
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
	if t.scaler != nil {
		t.scaler.Close()
		t.scaled.Free()
	}
}

// newVideoEncoder opens an H.264 encoder of the program's format at bps,
// on a raised thread (onProgramThread) so that its slice threads run at the
// program's priority.
func (ts *Targets) newVideoEncoder(bps, w, h int) (enc *av.VideoEncoder, err error) {
	c := ts.cfg
	onProgramThread(func() {
		enc, err = av.NewH264Encoder(av.H264Config{Width: w, Height: h, FPSNum: c.FPSNum, FPSDen: c.FPSDen,
			BitrateBPS: bps, GOP: int(ts.gopFrames), Threads: c.EncodeThreads, Encoder: c.Encoder, Device: c.EncodeDevice, Preset: c.Preset})
	})
	return enc, err
}

// openPreview adds the preview bus's encode, last of the targets, and its
// picture to every program frame (before Start).
func (ts *Targets) openPreview(frames []*programFrame) error {
	t, err := ts.newTarget(ts.cfg.PreviewBitrateBPS, feedPreview)
	if err != nil {
		return fmt.Errorf("preview encoder: %w", err)
	}
	for _, f := range frames {
		if f.pv, err = av.NewFrame(ts.cfg.Width, ts.cfg.Height); err != nil {
			t.close()
			return err
		}
	}
	t.stream.SetTracks(t.track)
	ts.preview = true
	next := append(append([]*target(nil), ts.load()...), t)
	ts.list.Store(&next)
	return nil
}

// Program returns the program stream.
func (ts *Targets) Program() *media.Stream { return ts.program().stream }

// ProgramTracks returns the program's video and audio tracks.
func (ts *Targets) ProgramTracks() (video, audio *media.Track) { return ts.program().track, ts.sound }

// PreviewStream carries the encoded preview bus (video only), or is nil
// when Config.PreviewBitrateBPS is not set.
func (ts *Targets) PreviewStream() *media.Stream {
	if !ts.preview {
		return nil
	}
	l := ts.load()
	return l[len(l)-1].stream
}

// MaxRenditions bounds the second encodes: each costs a whole x264 encode
// of the program, so outputs asking for other bitrates share these.
const MaxRenditions = 4

// AcquireRendition returns a stream of the program re-encoded at bps (same
// size, rate and GOP, same audio), starting one if no one uses that bitrate
// yet. Each Acquire is paired with a ReleaseRendition.
func (ts *Targets) AcquireRendition(bps int) (*media.Stream, error) {
	return ts.AcquireScaledRendition(0, bps)
}

// ScaledWidth is the width of a rendition height pixels high: the
// program's aspect, rounded to an even number.
func (ts *Targets) ScaledWidth(height int) int { return ts.cfg.scaledWidth(height) }

func (c Config) scaledWidth(height int) int {
	return int(math.Round(float64(c.Width)*float64(height)/float64(c.Height)/2)) * 2
}

// AcquireScaledRendition is AcquireRendition for an encode height pixels
// high (the program's aspect; 0 or the program's height: its size): each
// program frame is scaled for it first. Renditions are shared by height
// and bitrate; each Acquire is paired with a ReleaseScaledRendition.
func (ts *Targets) AcquireScaledRendition(height, bps int) (*media.Stream, error) {
	if bps <= 0 || bps >= ts.cfg.VideoBitrateBPS {
		return nil, fmt.Errorf("a rendition needs a bitrate below the program's %d bit/s", ts.cfg.VideoBitrateBPS)
	}
	if height == ts.cfg.Height {
		height = 0
	}
	if height != 0 && (height < 16 || height > ts.cfg.Height || height%2 != 0) {
		return nil, fmt.Errorf("a rendition's height %d must be even, from 16 to the program's %d", height, ts.cfg.Height)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	cur := ts.load()
	var have []string
	for _, r := range cur {
		if !r.rendition() {
			continue
		}
		if r.bps == bps && r.height == height {
			r.refs++
			return r.stream, nil
		}
		have = append(have, r.name())
	}
	if len(have) >= MaxRenditions {
		return nil, fmt.Errorf("at most %d encodes besides the program's are made at once; use one of %v", MaxRenditions, have)
	}
	w, h := ts.cfg.Width, ts.cfg.Height
	if height != 0 {
		w, h = ts.cfg.scaledWidth(height), height
	}
	r, err := ts.newSizedTarget(bps, w, h, feedProgram)
	if err != nil {
		return nil, err
	}
	if height != 0 {
		if r.scaled, err = av.NewFrame(w, h); err != nil {
			r.enc.Close()
			return nil, err
		}
		r.height, r.scaler = height, &av.Scaler{}
	}
	r.refs = 1
	r.stream.SetTracks(r.track, ts.sound)
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
	ts.list.Store(&next)
	return r.stream, nil
}

// name is a rendition's, for errors: "2500000" or "360p:800000".
func (t *target) name() string {
	if t.height != 0 {
		return fmt.Sprintf("%dp:%d", t.height, t.bps)
	}
	return fmt.Sprint(t.bps)
}

// ReleaseRendition drops a user of the bps rendition; the last one stops it.
func (ts *Targets) ReleaseRendition(bps int) { ts.ReleaseScaledRendition(0, bps) }

// ReleaseScaledRendition drops a user of the height×bps rendition; the
// last one stops it.
func (ts *Targets) ReleaseScaledRendition(height, bps int) {
	if height == ts.cfg.Height {
		height = 0
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	cur := ts.load()
	var gone *target
	next := make([]*target, 0, len(cur))
	for _, r := range cur {
		if r.rendition() && r.bps == bps && r.height == height {
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
	ts.list.Store(&next)
	// the encode loop may still be encoding with it: wait for that frame's end
	ts.encoding.Lock()
	ts.encoding.Unlock() //nolint:staticcheck // an empty critical section is the point
	gone.close()
}

// encode encodes the canvas as frame n with enc (a key frame when key) and
// publishes it on st.
//
// Each encode starts with a yield: the encode loop may have encoded another
// rendition without blocking, and sysmon would otherwise retake its P in the
// encode (internal/sysmon.Yield).
func (ts *Targets) encode(tg *target, f *av.Frame, n int64, key bool, tm *clock.FrameTiming) error {
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
		pts := ts.cfg.frameTime(p.PTS)
		st.WriteUnit(&media.Unit{Track: t, PTS: pts, DTS: pts, Key: key, Data: nalus})
	})
}

// encodeFrame encodes program frame f on every target in turn (under
// encoding, which the caller holds), the preview's from its picture,
// a scaled rendition's scaled first; it returns the list it used and the
// first error.
func (ts *Targets) encodeFrame(f *programFrame, tm *clock.FrameTiming) ([]*target, error) {
	var err error
	list := ts.load()
	for _, t := range list {
		pic := f.canvas
		if t.feed == feedPreview {
			pic = f.pv
		}
		if t.scaler != nil { // a rendition of another size
			if serr := t.scaler.Scale(pic.Picture(), t.scaled, av.Rect{W: t.scaled.Width, H: t.scaled.Height}); serr != nil {
				if err == nil {
					err = serr
				}
				continue
			}
			pic = t.scaled
		}
		if terr := ts.encode(t, pic, f.n, f.key && t.main, tm); terr != nil && err == nil {
			err = terr
		}
	}
	return list, err
}
