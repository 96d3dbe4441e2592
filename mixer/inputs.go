package mixer

import (
	"context"
	"fmt"
	"image"
	"math"
	"time"

	"switchyard/internal/fault"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/media/draw"
	"switchyard/mixer/audio"
	"switchyard/mixer/clock"
)

// The sources as the switcher holds them: adding and removing inputs, their
// jitter buffers and slates, the picture each shows at an instant, their
// snapshots and counters. (input.go is one input: its decoding and timing.)

// MaxJitterBuffer is the longest jitter buffer, the program's or a source's
// (media.MaxJitterBuffer, the one bound ingest checks too).
const MaxJitterBuffer = media.MaxJitterBuffer

// inputSet is the sources the mixer decodes, by name, and the same as a
// list (copied on change: the encode loop and the meters read a list they
// loaded without a lock), and the decode gate they share. It is under the
// switcher's mu, the frame lock: the tick takes a frame's pictures in the
// critical section it reads the buses in, and a bus command checks its
// source in the one it moves the buses in.
type inputSet struct {
	m    map[string]*input
	list []*input
	gate *decodeGate // the sources' decodes, one a core
}

func newInputSet(cores int) inputSet {
	return inputSet{m: map[string]*input{}, gate: newDecodeGate(cores)}
}

// known tells whether name may go on a bus: an input, or black.
func (s *inputSet) known(name string) bool {
	_, ok := s.m[name]
	return ok || name == Black
}

// add adds in, unless its name is taken; those that follow it, added
// before, follow it from now.
func (s *inputSet) add(in *input) error {
	if _, ok := s.m[in.name]; ok || in.name == Black {
		return fmt.Errorf("input %s already exists", in.name)
	}
	s.m[in.name] = in
	for _, x := range s.m { // those that follow it, added before
		if x.follows == in.name {
			x.lead.Store(in)
		}
	}
	s.list = append(s.list[:len(s.list):len(s.list)], in) // a new slice: a tick may hold the old one
	return nil
}

// remove takes out the input called name, if there is one; those that
// follow it go on with their own buffers.
func (s *inputSet) remove(name string) (*input, bool) {
	in, ok := s.m[name]
	delete(s.m, name)
	if ok {
		ins := make([]*input, 0, len(s.list))
		for _, x := range s.list {
			if x != in {
				ins = append(ins, x)
			}
		}
		s.list = ins
	}
	for _, x := range s.m { // those that follow it go on with their own buffers
		if x.follows == name {
			x.lead.Store(nil)
		}
	}
	return in, ok
}

// follow makes name follow lead's jitter buffer ("": its own).
func (s *inputSet) follow(name, lead string) error {
	in := s.m[name]
	if in == nil {
		return fmt.Errorf("%w %q", ErrUnknownSource, name)
	}
	if lead != "" {
		if lead == name {
			return fmt.Errorf("source %s cannot follow itself", name)
		}
		for _, x := range s.m {
			if x.follows == name {
				return fmt.Errorf("source %s is followed by %s and cannot follow another", name, x.name)
			}
		}
		if l := s.m[lead]; l != nil && l.follows != "" {
			return fmt.Errorf("source %s follows %s and cannot be followed", lead, l.follows)
		}
	}
	in.follows = lead
	in.lead.Store(s.m[lead]) // nil when "" or not added yet
	in.setWake()
	return nil
}

// clear empties the set and returns what it held (at Close).
func (s *inputSet) clear() map[string]*input {
	m := s.m
	s.m, s.list = map[string]*input{}, nil
	return m
}

// AddInput starts decoding a source so it can be put on a bus. jitterBuffer
// is its own jitter buffer (a feed over the internet needs more than the
// cameras in the room): AutoJitter for an adaptive one, 0 takes the
// program's.
func (s *Switcher) AddInput(name string, st *media.Stream, jitterBuffer time.Duration) error {
	if err := checkJitterBuffer(name, jitterBuffer); err != nil {
		return err
	}
	slate, err := newSlate(s.cfg, name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &input{name: name, stream: st, log: s.log.With("source", name), slate: slate, gate: s.ins.gate, gateCh: make(chan struct{}, 1),
		audio: audio.NewRing(audio.RingFrames(MaxJitterBuffer)), cancel: cancel, done: make(chan struct{}),
		mix: audio.Settings{Mode: audio.ModeAFV}, tickBuf: make([]float32, s.tickSamples), clock: s.tickN,
		progNow: s.progNow, reader: st.NewReader(256), tickAt: math.MinInt64, frame: s.cfg.FrameDuration(), rate: s.cfg.Rate(), decodeDevice: s.cfg.DecodeDevice}
	d, auto := s.cfg.jitterOr(jitterBuffer)
	in.delay.Store(int64(d))
	in.soundJ.Store(int64(d))
	in.buf.auto = auto
	in.cmap.maxMove = s.cfg.FrameDuration()
	in.shownPTS.Store(int64(noPTS))
	in.shownAt.Store(s.tickN.Load()) // in sight and heard until the ticks say otherwise
	in.heardAt.Store(s.tickN.Load())
	in.airedAt.Store(s.tickN.Load())
	s.mu.Lock()
	err = s.ins.add(in)
	s.mu.Unlock()
	if err != nil {
		cancel()
		in.reader.Close()
		slate.Free()
		return err
	}
	go in.run(ctx, s.cfg.DecodeThreads)
	return nil
}

func checkJitterBuffer(name string, d time.Duration) error {
	if d != AutoJitter && (d < 0 || d > MaxJitterBuffer) {
		return fmt.Errorf("source %s: jitter buffer %v must be between 0 (the program's) and %v, or adaptive", name, d, MaxJitterBuffer)
	}
	return nil
}

// jitterOr is the buffer a source starts on for a setting of d (0: the
// program's), and whether it is adaptive.
func (c Config) jitterOr(d time.Duration) (time.Duration, bool) {
	if d == 0 {
		d = c.JitterBuffer
	}
	if d == AutoJitter {
		return autoStart, true
	}
	return d, false
}

// SetJitterBuffer changes a source's jitter buffer (0: the program's;
// AutoJitter: adaptive, from the buffer it has). On air, a longer one holds
// the picture on show and leaves a gap in the source's sound for the
// difference, once, when the pictures before have aired; a shorter one
// skips as much.
func (s *Switcher) SetJitterBuffer(name string, d time.Duration) error {
	if err := checkJitterBuffer(name, d); err != nil {
		return err
	}
	s.mu.Lock()
	in := s.ins.m[name]
	s.mu.Unlock()
	if in == nil {
		return fmt.Errorf("no input %s", name)
	}
	v, auto := s.cfg.jitterOr(d)
	in.buf.mu.Lock()
	if in.buf.auto = auto; !auto {
		in.setBufferLocked(s.progNow(), v)
	}
	in.buf.mu.Unlock()
	in.setWake()
	return nil
}

// HoldOnAir keeps (hold) source name's adaptive buffer from coming down
// while it is on air, or lets it again: for a source whose pictures are
// made here (a clip, a replay, a generator), timed exactly, a step — which
// skips a picture, or a beat of a slow motion's cadence — has nothing to
// make up for. Off air it follows its need as any source's does.
func (s *Switcher) HoldOnAir(name string, hold bool) error {
	s.mu.Lock()
	in := s.ins.m[name]
	s.mu.Unlock()
	if in == nil {
		return fmt.Errorf("no input %s", name)
	}
	in.buf.mu.Lock()
	in.buf.holdOnAir = hold
	in.buf.mu.Unlock()
	return nil
}

// Follow makes source name use the jitter buffer of source lead (its
// sound and pictures wait as lead's do, so a microphone stays in sync with
// its camera whatever their buffers; its needs count in lead's adaptive
// buffer); "" gives it its own again. lead need not be an input yet: name
// follows it from when it is added. A source that others follow cannot
// follow, nor follow itself.
func (s *Switcher) Follow(name, lead string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ins.follow(name, lead)
}

// RemoveInput stops decoding a source; a bus showing it goes to black.
func (s *Switcher) RemoveInput(name string) {
	s.mu.Lock()
	in, ok := s.ins.remove(name)
	s.bus.Remove(name)
	s.mu.Unlock()
	s.changes.Changed(ChangedBuses)
	if ok {
		in.stop()
		in.slate.Release()
	}
}

func (in *input) stop() {
	in.cancel()
	<-in.done
}

// newSlate renders the NO SIGNAL picture of source name.
func newSlate(c Config, name string) (*av.Frame, error) {
	f, err := av.NewFrame(c.Width, c.Height)
	if err != nil {
		return nil, err
	}
	bg := color.FromRGB(24, 24, 28)
	f.Fill(bg.Y, bg.U, bg.V)
	big, err := draw.Face(float64(c.Height) / 9)
	if err != nil {
		f.Free()
		return nil, err
	}
	small, _ := draw.Face(float64(c.Height) / 16)
	draw.TextCentered(f, big, c.Height/2, "NO SIGNAL", color.FromRGB(230, 230, 230))
	draw.TextCentered(f, small, c.Height/2+c.Height/8, name, color.FromRGB(160, 160, 170))
	return f, nil
}

// sourceLocked returns what a bus shows now: a picture reference, or a slate
// (retained; the caller releases either), and the input for its audio.
// tick: the program's tick is asking (input.take).
func (s *Switcher) sourceLocked(name string, at time.Duration, now time.Time, tick bool) (*av.PictureRef, *av.Frame, *input) {
	if name == Black {
		s.black.Retain()
		return nil, s.black, nil
	}
	in := s.ins.m[name]
	if in == nil {
		s.black.Retain()
		return nil, s.black, nil
	}
	if pic := in.take(now, at, s.cfg.StaleAfter, tick); pic != nil {
		return pic, nil, in
	}
	in.slate.Retain() // RemoveInput may drop the input's slate meanwhile
	return nil, in.slate, in
}

// ErrNoPicture: the source has not had a picture decoded yet.
var ErrNoPicture error = fault.New(fault.Unavailable, "no picture has been decoded from this source yet; try again when it is live")

// Snapshot returns the latest picture decoded from a source, scaled down to
// at most maxWidth wide, as a Go image (for snapshot.jpg). It works off the
// program's critical path: the picture is shared by reference and scaled
// here, on the caller's goroutine.
func (s *Switcher) Snapshot(name string, maxWidth int) (*image.YCbCr, error) {
	s.mu.Lock()
	in := s.ins.m[name]
	var pic *av.PictureRef
	if in != nil {
		pic = in.take(time.Now(), s.progNow(), 1<<62, false)
	}
	s.mu.Unlock()
	if in == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSource, name)
	}
	if pic == nil {
		return nil, ErrNoPicture
	}
	defer pic.Release()
	return toImage(pic.Picture(), maxWidth)
}

// toImage scales a picture down to at most maxWidth wide into a Go image.
func toImage(pp av.Picture, maxWidth int) (*image.YCbCr, error) {
	w, h := pp.Width(), pp.Height()
	if w > maxWidth {
		w, h = maxWidth, h*maxWidth/w
	}
	w, h = w&^1, h&^1
	f, err := av.NewFrame(w, h)
	if err != nil {
		return nil, err
	}
	defer f.Free()
	var sc av.Scaler
	defer sc.Close()
	if err := sc.Scale(pp, f, av.Rect{W: w, H: h}); err != nil {
		return nil, err
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		copy(img.Y[y*img.YStride:y*img.YStride+w], f.Y[y*f.StrideY:])
	}
	for y := range h / 2 {
		copy(img.Cb[y*img.CStride:y*img.CStride+w/2], f.U[y*f.StrideC:])
		copy(img.Cr[y*img.CStride:y*img.CStride+w/2], f.V[y*f.StrideC:])
	}
	return img, nil
}

// SourceStats are what the mixer counts of one source (clock.SourceStats:
// a cgo-free type, for the API).
type SourceStats = clock.SourceStats

// SourceStats returns a source's counters (zero for an unknown source).
func (s *Switcher) SourceStats(name string) SourceStats {
	s.mu.Lock()
	in := s.ins.m[name]
	s.mu.Unlock()
	if in == nil {
		return SourceStats{}
	}
	return in.stats()
}

// stats are its counters.
func (in *input) stats() SourceStats {
	auto, need, steps := in.bufferState()
	return SourceStats{Pictures: in.frames.Load(), DecodeErrors: in.decodeErrors.Load(), PicturesLate: in.picsLate.Load(), PicturesSkipped: in.picsSkipped.Load(),
		SoundLate: time.Duration(in.soundLate.Load()) * time.Second / audio.SampleRate, JitterBuffer: in.jitter(), Transit: in.cmap.transit(),
		DecodeWait: time.Duration(in.decodeWait.Load()), BehindOffAir: time.Duration(in.behindOffAir.Load()),
		JitterAuto: auto, JitterNeed: need, JitterSteps: steps, AiredJumps: in.jumps.Load(), MapMoves: in.cmap.moves.Load()}
}
