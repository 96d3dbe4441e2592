package mixer

// What a program frame shows: the buses, a transition, the keyers and the
// fade, composed on the clock's thread at the frame's time (engine.go's
// run), before the encode loop takes the frame.

import (
	"time"

	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/media/draw"
	"switchyard/mixer/bus"
)

// compose draws program frame n into f: the buses, the transition, the
// keyers, the fade; the preview output's picture; and what the frame's
// sound will be.
func (e *Engine) compose(n int64, f *programFrame) {
	now := time.Now()
	// the pictures shown are those due by the middle of this frame
	at := e.cfg.frameTime(n) + e.cfg.FrameDuration()/2
	sh := e.sw.take(n, at, now, e.keyers, e.targets.preview, &f.timing)
	f.key = sh.key
	if e.OnSwitch != nil {
		for _, sw := range sh.switches {
			e.OnSwitch(sw)
		}
	}
	keyers, trans, p, ftbLvl := sh.keyers, sh.Transition, sh.Position, sh.FTB
	var transT bus.Transition
	var transC color.YUV
	if trans != nil {
		transT, transC = trans.Transition, trans.Color
	}

	canvas := f.canvas
	e.composeInto(canvas, &e.scaler, sh.picA, sh.slateA)
	if trans != nil {
		e.composeInto(e.canvasB, &e.scalerB, sh.picB, sh.slateB)
		switch transT.Type {
		case bus.TransDip:
			draw.Dip(canvas, canvas, e.canvasB, p, transC)
		case bus.TransWipe:
			draw.Wipe(canvas, canvas, e.canvasB, p, transT.Direction, transT.Softness())
		case bus.TransStinger: // the cut under the clip, the clip over it
			if sh.stingCut {
				canvas.CopyFrom(e.canvasB)
			}
			draw.Blend(canvas, sh.stingL, 0, 0, 256)
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
			e.composeInto(f.pv, &e.pvScaler, sh.picP, sh.slateP)
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
	e.soundPrev = soundMix{inA: sh.inA, inB: sh.inB, bGain: bGain, gain: 1 - ftbLvl, sting: sh.stingSound, stingStart: sh.stingSample}
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
