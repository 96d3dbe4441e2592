package mixer

// What a program frame shows: the buses, a transition, the keyers and the
// fade, composed on the clock's thread at the frame's time (engine.go's
// run), before the encode loop takes the frame.

import (
	"time"

	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/media/draw"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
)

// compose draws program frame n into f: the buses, the transition, the
// keyers, the fade; the preview output's picture; and what the frame's
// sound will be.
func (e *Engine) compose(n int64, f *programFrame) {
	now := time.Now()
	// the pictures shown are those due by the middle of this frame
	at := e.cfg.frameTime(n) + e.cfg.FrameDuration()/2
	e.mu.Lock()
	e.current = n
	e.keyers.freeRetired()
	// after the frees: anything retired from here on is freed by the next tick
	keyers := e.keyers.onAirList()
	var (
		inB    *input
		picB   *av.PictureRef
		slateB *av.Frame
		picP   *av.PictureRef // the preview output's picture when no transition runs
		slateP *av.Frame
	)
	// what frame n shows; a transition complete at n is all preview, and the buses swap
	shot := e.bus.At(n)
	trans, p, ftbLvl := shot.Transition, shot.Position, shot.FTB
	var transT bus.Transition
	var transC color.YUV
	if trans != nil && !trans.Manual && n%3 == 0 {
		e.busesMoved() // an automatic transition's position, ten times a second at 30 fps
	}
	var (
		stingL      *color.Layer
		stingCut    bool
		stingSound  []float32
		stingSample int64
	)
	if trans != nil {
		transT, transC = trans.Transition, trans.Color
		picB, slateB, inB = e.sourceLocked(shot.Preview, at, now, true)
		if transT.Type == bus.TransStinger {
			stingL, stingCut = e.stingerShot(trans, n, p)
			if c := e.stingAir; c != nil && !trans.Manual { // the T-bar scrubs the pictures, not the sound
				stingSound = c.Audio
				stingSample = int64(e.cfg.frameTime(trans.Start)) * audio.SampleRate / int64(time.Second)
			}
		}
	}
	picA, slateA, inA := e.sourceLocked(shot.Program, at, now, true)
	if picA != nil {
		f.timing.Src, _ = inA.tookFresh()
		f.timing.Frame = e.cfg.frameTime(n)
	}
	if e.targets.preview && trans == nil {
		picP, slateP, _ = e.sourceLocked(shot.Preview, at, now, true)
	}
	e.takeKeyerSourcesLocked(keyers, n, at, now)
	e.tickN.Store(n)
	inA.markShown(n)
	inB.markShown(n)
	e.ins.m[shot.Preview].markShown(n) // preview: the next cut or transition needs it whole
	f.key = e.marks.frame(n, shot, inA, inB, picA != nil, picB != nil, e.ins.list)
	if trans != nil && transT.Type == bus.TransStinger {
		e.marks.stingerCut(n, stingCut, inB, picB != nil) // the cut under the clip, for its switch event
	}
	switches := e.marks.take()
	e.mu.Unlock()
	if e.OnSwitch != nil {
		for _, sw := range switches {
			e.OnSwitch(sw)
		}
	}

	canvas := f.canvas
	e.composeInto(canvas, &e.scaler, picA, slateA)
	if trans != nil {
		e.composeInto(e.canvasB, &e.scalerB, picB, slateB)
		switch transT.Type {
		case bus.TransDip:
			draw.Dip(canvas, canvas, e.canvasB, p, transC)
		case bus.TransWipe:
			draw.Wipe(canvas, canvas, e.canvasB, p, transT.Direction, transT.Softness())
		case bus.TransStinger: // the cut under the clip, the clip over it
			if stingCut {
				canvas.CopyFrom(e.canvasB)
			}
			draw.Blend(canvas, stingL, 0, 0, 256)
		default:
			draw.Mix(canvas, canvas, e.canvasB, p)
		}
	}
	drawKeyers(canvas, keyers)
	if ftbLvl > 0 {
		draw.Fade(canvas, canvas, ftbLvl, color.Black)
	}
	if e.mv.wants(n) {
		e.mv.handOver(canvas)
	}
	if e.targets.preview {
		if trans == nil {
			e.composeInto(f.pv, &e.pvScaler, picP, slateP)
		} else { // canvasB holds the preview bus already: it goes out in f
			f.pv, e.canvasB = e.canvasB, f.pv
		}
	}

	bGain := 0.0
	if trans != nil {
		bGain = p
	}
	f.n = n
	f.sound = e.soundPrev // the last frame's sound is mixed after this picture (sound.mix)
	e.soundPrev = soundMix{inA: inA, inB: inB, bGain: bGain, gain: 1 - ftbLvl, sting: stingSound, stingStart: stingSample}
}

// composeInto draws a bus's picture (fitted, letterboxed) or slate into dst
// and releases it.
func (e *Engine) composeInto(dst *av.Frame, sc *av.Scaler, pic *av.PictureRef, slate *av.Frame) {
	if pic == nil {
		dst.CopyFrom(slate)
		slate.Release()
		return
	}
	full := av.Rect{W: e.cfg.Width, H: e.cfg.Height}
	pp := pic.Picture()
	r := draw.Fit(pp.Width(), pp.Height(), full)
	if err := sc.Scale(pp, dst, r); err != nil {
		dst.CopyFrom(e.black)
	} else {
		draw.Letterbox(dst, full, r)
	}
	pic.Release()
}

// takeKeyerSourcesLocked takes the pictures of the PiPs that are (or are
// fading) on air, under e.mu with the tick's other pictures.
func (e *Engine) takeKeyerSourcesLocked(list []*keyerState, n int64, at time.Duration, now time.Time) {
	for _, k := range list {
		v := k.view.Load()
		k.onNow = k.on.Load()
		if v.source != "" && (k.onNow || k.lvl > 0) {
			var in *input
			k.pic, k.slate, in = e.sourceLocked(v.source, at, now, true)
			in.markShown(n)
		}
	}
}
