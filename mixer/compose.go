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
	for i, free := range e.retired {
		free() // the last tick is done with it
		e.retired[i] = nil
	}
	e.retired = e.retired[:0]
	// after the frees: anything retired from here on is freed by the next tick
	keyers := *e.keyerList.Load()
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
	if e.pvOut != nil && trans == nil {
		picP, slateP, _ = e.sourceLocked(shot.Preview, at, now, true)
	}
	e.takeKeyerSourcesLocked(keyers, n, at, now)
	e.tickN.Store(n)
	inA.markShown(n)
	inB.markShown(n)
	e.inputs[shot.Preview].markShown(n) // preview: the next cut or transition needs it whole
	if trans != nil && e.tmarks.seq != trans.Seq {
		// where both sources stood at its first frame
		e.tmarks = transMarks{seq: trans.Seq}
		if inA != nil {
			e.tmarks.at[0], e.tmarks.atSource[0] = shownTime(inA, picA != nil, e.cfg.frameTime(n)), true
		}
		if inB != nil {
			e.tmarks.at[1], e.tmarks.atSource[1] = shownTime(inB, picB != nil, e.cfg.frameTime(n)), true
		}
	}
	if trans != nil && transT.Type == bus.TransStinger {
		switch m := &e.tmarks; {
		case stingCut && m.stingCut == 0: // the cut under the clip, for its switch event
			m.stingCut = n + 1
			if inB != nil {
				m.stingCutAt, m.stingCutHave = shownTime(inB, picB != nil, e.cfg.frameTime(n)), true
			}
		case !stingCut:
			m.stingCut, m.stingCutHave = 0, false
		}
	}
	if trans == nil && shot.Program != e.lastProg {
		ev := SwitchEvent{PTS: e.cfg.frameTime(n), Kind: "cut", From: e.lastProg, To: shot.Program}
		if inA != nil {
			ev.Sources = []SourceTime{shownTime(inA, picA != nil, ev.PTS)}
		}
		e.switches = append(e.switches, ev)
		e.lastProg = shot.Program
	}
	if trans == nil {
		e.airing.next(e, n, inA, picA != nil)
	} else { // the transition's event says what it aired; what follows goes on from its incoming source
		e.airing.follow(inB, picB != nil)
		if inB != nil && picB != nil {
			e.tmarks.lastB, e.tmarks.lastBFrame, e.tmarks.haveB = time.Duration(inB.shownPTS.Load()), n, true
		}
	}
	f.key = false
	if e.keyAt >= 0 && n >= e.keyAt {
		f.key = true
		e.keyAt = -1
		e.switches = append(e.switches, e.keyEventLocked(n, inA, inB, picA != nil, picB != nil))
	}
	var switches []SwitchEvent
	if len(e.switches) > 0 {
		switches, e.switches = e.switches, nil
	}
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
	e.drawKeyers(canvas, keyers)
	if ftbLvl > 0 {
		draw.Fade(canvas, canvas, ftbLvl, color.Black)
	}
	if e.mvWant.Load() && n%e.mvEvery == 0 {
		e.handToMultiview(canvas)
	}
	if e.pvOut != nil {
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
	f.sound = e.soundPrev // the last frame's sound is mixed after this picture (mixAudio)
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
