package mixer

import (
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/internal/notify"
	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
	"switchyard/mixer/sting"
)

// Switcher is the switcher: the buses (package bus: program, preview, the
// transition and FTB), the sources they switch between (inputSet) and the
// switch log for the edit lists (switchLog), under one lock, mu — the frame
// lock. A bus command checks its source in the critical section it moves
// the buses in (transition.go), a source's audio setting is logged at the
// frame it takes effect in the one it changes in (SetAudio), and the tick
// takes a frame's pictures in the one it reads the buses in (take).
//
// Lock order: KeyerSet.edit, KeyerSet.mu, then mu, then KeyerSet.retireMu
// (take frees what the keyers retired); Sound.mu is never held with mu.
type Switcher struct {
	cfg   Config
	log   *slog.Logger
	black *av.Frame // the Engine's: what black and a source gone show

	// the program clock as the inputs see it (the Engine's)
	tickN       *atomic.Int64        // the tick being composed
	progNow     func() time.Duration // the program clock now
	tickSamples int                  // one tick of sound (both channels)

	mu      sync.Mutex
	bus     *bus.Buses // program, preview, the transition and FTB
	ins     inputSet   // the sources
	marks   switchLog  // what the program showed, for the edit lists
	current int64      // index of the frame being composed (or last composed)

	// busMoved is signalled, never waited on, when the buses move on their
	// own: an automatic transition's progress (every third frame) and a
	// transition's end. Commands move them too; their callers know.
	busMoved chan struct{}
	changes  notify.Notifier // the buses' and the keyers' changes, to OnChange's listener

	// stingers (stinger.go): the default transition's, the one on air and
	// the last loaded, under mu; stingLoad lets one load at a time
	stingDef, stingAir, stingLast *sting.Clip
	stingLoad                     sync.Mutex
}

func newSwitcher(cfg Config, log *slog.Logger, black *av.Frame, tickN *atomic.Int64, progNow func() time.Duration, tickSamples int) *Switcher {
	s := &Switcher{cfg: cfg, log: log, black: black, tickN: tickN, progNow: progNow, tickSamples: tickSamples,
		bus: bus.New(cfg.Rate()), ins: newInputSet(runtime.NumCPU()), current: -1, busMoved: make(chan struct{}, 1)}
	s.marks = newSwitchLog(cfg, s.bus)
	s.bus.OnFinish = s.finished // a completed transition is a switch event
	return s
}

// knownNow tells whether name may go on a bus (a PiP's source: the
// keyers' hook).
func (s *Switcher) knownNow(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ins.known(name)
}

// onAir runs set where the tick sees it whole and returns the first
// program frame that does (the keyers' hook).
func (s *Switcher) onAir(set func()) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	set()
	return s.current + 1
}

// shot is what a program frame shows, as the tick took it under mu: the
// buses, the pictures (a reference or a slate each, retained: compose
// releases them), the inputs the sound comes from, and the switch events
// to hand to OnSwitch.
type shot struct {
	bus.Shot
	keyers         []*keyerState
	picA, picB     *av.PictureRef
	slateA, slateB *av.Frame
	inA, inB       *input
	picP           *av.PictureRef // the preview output's picture when no transition runs
	slateP         *av.Frame
	key            bool // a key frame asked for (KeyFrameNext)
	switches       []SwitchEvent
	// a stinger on air (stinger.go): its layer at this frame (nil: none),
	// whether the cut under it has happened, and its sound from program
	// sample stingSample (AUTO only: the T-bar scrubs the pictures)
	stingL      *color.Layer
	stingCut    bool
	stingSound  []float32
	stingSample int64
}

// take is the tick's one critical section of frame n: what the buses show
// at n, their pictures and the keyers' due by at (now), the preview
// output's when preview and no transition runs, and the switch log's
// events. tm gets the program picture's way.
func (s *Switcher) take(n int64, at time.Duration, now time.Time, keyers *KeyerSet, preview bool, tm *clock.FrameTiming) (sh shot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = n
	keyers.freeRetired()
	// after the frees: anything retired from here on is freed by the next tick
	sh.keyers = keyers.onAirList()
	// what frame n shows; a transition complete at n is all preview, and the buses swap
	sh.Shot = s.bus.At(n)
	trans := sh.Transition
	if trans != nil && !trans.Manual && n%3 == 0 {
		s.busesMoved() // an automatic transition's position, ten times a second at 30 fps
	}
	if trans != nil {
		sh.picB, sh.slateB, sh.inB = s.sourceLocked(sh.Preview, at, now, true)
		if trans.Transition.Type == bus.TransStinger {
			sh.stingL, sh.stingCut = s.stingerShot(trans, n, sh.Position)
			if c := s.stingAir; c != nil && !trans.Manual {
				sh.stingSound = c.Audio
				sh.stingSample = int64(s.cfg.frameTime(trans.Start)) * audio.SampleRate / int64(time.Second)
			}
		}
	}
	sh.picA, sh.slateA, sh.inA = s.sourceLocked(sh.Program, at, now, true)
	if sh.picA != nil {
		tm.Src, _ = sh.inA.tookFresh()
		tm.Frame = s.cfg.frameTime(n)
	}
	if preview && trans == nil {
		sh.picP, sh.slateP, _ = s.sourceLocked(sh.Preview, at, now, true)
	}
	s.takeKeyerSourcesLocked(sh.keyers, n, at, now)
	s.tickN.Store(n)
	sh.inA.markShown(n)
	sh.inB.markShown(n)
	sh.inA.markAired(n)
	sh.inB.markAired(n)
	s.ins.m[sh.Preview].markShown(n) // preview: the next cut or transition needs it whole
	sh.key = s.marks.frame(n, sh.Shot, sh.inA, sh.inB, sh.picA != nil, sh.picB != nil, s.ins.list)
	if trans != nil && trans.Transition.Type == bus.TransStinger {
		s.marks.stingerCut(n, sh.stingCut, sh.inB, sh.picB != nil) // the cut under the clip, for its switch event
	}
	sh.switches = s.marks.take()
	return sh
}

// takeKeyerSourcesLocked takes the pictures of the PiPs that are (or are
// fading) on air, under mu with the tick's other pictures.
func (s *Switcher) takeKeyerSourcesLocked(list []*keyerState, n int64, at time.Duration, now time.Time) {
	for _, k := range list {
		v := k.view.Load()
		k.onNow = k.on.Load()
		if v.source != "" && (k.onNow || k.lvl > 0) {
			var in *input
			k.pic, k.slate, in = s.sourceLocked(v.source, at, now, true)
			in.markShown(n)
			in.markAired(n)
		}
	}
}

// weigh sets each source's gain into the program for the sound m (under
// mu) and returns the sources (the encode loop's sound.mix).
func (s *Switcher) weigh(m soundMix) []*input {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.ins.list {
		in.weight = audio.Weight(in.mix, in == m.inA, in == m.inB, m.bGain)
	}
	return s.ins.list
}

// inputs is the sources as a list (copied on change: read without a lock
// once loaded).
func (s *Switcher) inputs() []*input {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ins.list
}

// wall takes the wall's pictures of the preview bus and of every source
// under mu, and the program's window last, without its picture
// (Multiview.gather); levels are the meters' last reading.
func (s *Switcher) wall(c MultiviewConfig, levels audio.Levels) []mvPicture {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.ins.m))
	for name := range s.ins.m {
		names = append(names, name)
	}
	slices.Sort(names)
	pvwR, pgmR, tiles := c.Layout(len(names))
	now, at := time.Now(), s.progNow()
	pics := make([]mvPicture, 0, 2+len(tiles))
	prog, prev := s.bus.Program(), s.bus.Preview()
	pv := mvPicture{name: prev, rect: pvwR, tally: tallyPVW, level: math.NaN(), label: "PVW  " + prev}
	pv.pic, pv.frame, _ = s.sourceLocked(prev, at, now, false)
	pics = append(pics, pv)
	pg := mvPicture{name: prog, rect: pgmR, tally: tallyPGM, level: levels.Program.PeakDB, label: "PGM  " + prog}
	for i, r := range tiles {
		p := mvPicture{name: names[i], rect: r, tally: tallyNone, level: math.NaN(), label: names[i]}
		if l, ok := levels.Sources[names[i]]; ok {
			p.level = l.PeakDB
		}
		switch names[i] {
		case prog:
			p.tally = tallyPGM
		case prev:
			p.tally = tallyPVW
		}
		p.pic, p.frame, _ = s.sourceLocked(names[i], at, now, false)
		pics = append(pics, p)
	}
	return append(pics, pg)
}

// close stops every input (at the Engine's Close, its clock stopped; the
// listener of OnChange is let go before).
func (s *Switcher) close() {
	s.mu.Lock()
	ins := s.ins.clear()
	s.mu.Unlock()
	for _, in := range ins {
		in.stop()
		in.slate.Release()
	}
}
