package mixer

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"switchyard/internal/fault"
	"switchyard/media/av"
	"switchyard/media/color"
	"switchyard/media/draw"
	"switchyard/mixer/keyer"
)

// MaxKeyers bounds the layers a show may hold.
const MaxKeyers = keyer.MaxKeyers

// Errors of the keyer commands.
var (
	ErrUnknownKeyer error = fault.New(fault.NotFound, "unknown keyer")
	ErrKeyerExists  error = fault.New(fault.Conflict, "keyer id already taken")
	ErrTooManyKeyer error = &fault.TooMany{Limit: "keyers", Msg: fmt.Sprintf("a show holds at most %d keyers; delete one first", MaxKeyers)}
)

// keyerState is one keyer. Its spec is the API's (guarded by e.kmu); what
// the tick draws is published through atomics, and the fade level and the
// PiP scaler belong to the tick.
type keyerState struct {
	spec    keyer.Spec
	started time.Time // when it last went on (timers)
	text    string    // a clock's text last rendered

	view  atomic.Pointer[keyerView]
	layer atomic.Pointer[color.Layer]
	on    atomic.Bool
	level atomic.Uint64 // float64 bits, for the API

	// the tick's own
	onNow  bool // on, as the tick read it under e.mu
	lvl    float64
	pic    *av.PictureRef
	slate  *av.Frame
	scaler av.Scaler
}

// keyerView is the geometry the tick draws with; replaced whole on change.
type keyerView struct {
	rect       keyer.Rect
	opacity    float64
	fadeFrames float64
	source     string    // pip: the source shown
	pipFrame   *av.Frame // pip: its picture, scaled here each frame
	inner      av.Rect   // pip: where pipFrame goes on the canvas
}

func (k *keyerState) status() keyer.Status {
	st := keyer.Status{Spec: k.spec.Clone(), Level: math.Float64frombits(k.level.Load())}
	if k.spec.Type == keyer.TypeClock && k.spec.Mode != keyer.ClockTime && !k.started.IsZero() {
		t := k.started
		st.StartedAt = &t
	}
	if (k.spec.Type == keyer.TypeText && !k.spec.HasGlyphs(k.spec.Text, false)) ||
		(k.spec.Type == keyer.TypeLowerThird && !k.spec.HasGlyphs(k.spec.Title+k.spec.Subtitle, false)) {
		st.Warning = "the font has no glyph for some characters (drawn as boxes); set font to a TTF that has them"
	}
	return st
}

// Keyers lists the keyers in drawing order (z, then id).
func (e *Engine) Keyers() []keyer.Status {
	e.kmu.Lock()
	defer e.kmu.Unlock()
	out := make([]keyer.Status, 0, len(e.keyers))
	for _, k := range e.sortedKeyersLocked() {
		out = append(out, k.status())
	}
	return out
}

// KeyerSpecs returns the keyers as show.json keeps them.
func (e *Engine) KeyerSpecs() []keyer.Spec {
	e.kmu.Lock()
	defer e.kmu.Unlock()
	out := make([]keyer.Spec, 0, len(e.keyers))
	for _, k := range e.sortedKeyersLocked() {
		out = append(out, k.spec.Clone())
	}
	return out
}

// Keyer returns one keyer.
func (e *Engine) Keyer(id string) (keyer.Status, error) {
	e.kmu.Lock()
	defer e.kmu.Unlock()
	k := e.keyers[id]
	if k == nil {
		return keyer.Status{}, fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	return k.status(), nil
}

// AddKeyer validates, renders and adds a keyer; it gets an id (k1, k2, …)
// unless it brings one. It is on air from the next tick if On. Its files
// are read and it is rendered without holding the lock the API's readers
// take.
func (e *Engine) AddKeyer(s keyer.Spec) (keyer.Status, error) {
	defer e.changes.Changed(ChangedKeyers)
	e.kedit.Lock()
	defer e.kedit.Unlock()
	e.kmu.Lock()
	if len(e.keyers) >= MaxKeyers {
		e.kmu.Unlock()
		return keyer.Status{}, ErrTooManyKeyer
	}
	if s.ID == "" {
		for {
			e.keyerSeq++
			s.ID = "k" + strconv.Itoa(e.keyerSeq)
			if e.keyers[s.ID] == nil {
				break
			}
		}
	} else if e.keyers[s.ID] != nil {
		e.kmu.Unlock()
		return keyer.Status{}, fmt.Errorf("%w: %q", ErrKeyerExists, s.ID)
	}
	e.kmu.Unlock()
	k := &keyerState{}
	var started time.Time
	if s.On {
		started = time.Now()
	}
	p, err := e.prepareKeyer(k, s, started)
	if err != nil {
		return keyer.Status{}, err
	}
	e.kmu.Lock()
	defer e.kmu.Unlock()
	k.started = started
	e.commitKeyerLocked(k, p)
	e.setOn(k, s.On)
	e.keyers[s.ID] = k
	e.publishKeyersLocked()
	return k.status(), nil
}

// UpdateKeyer changes a keyer: apply edits a copy of its spec (the id and
// type stay), which is validated and rendered before it replaces the old
// one. A keyer sized to its content is sized again when its content changes.
func (e *Engine) UpdateKeyer(id string, apply func(*keyer.Spec) error) (keyer.Status, error) {
	defer e.changes.Changed(ChangedKeyers)
	e.kedit.Lock()
	defer e.kedit.Unlock()
	e.kmu.Lock()
	k := e.keyers[id]
	if k == nil {
		e.kmu.Unlock()
		return keyer.Status{}, fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	cur, wasOn, started := k.spec.Clone(), k.on.Load(), k.started
	e.kmu.Unlock() // kedit keeps every other change out until this one is committed
	s := cur.Clone()
	if err := apply(&s); err != nil {
		return keyer.Status{}, err
	}
	if s.ID != id {
		return keyer.Status{}, &fault.Invalid{Field: "id", Msg: "a keyer's id cannot change; delete it and add another"}
	}
	if s.Type != cur.Type {
		return keyer.Status{}, &fault.Invalid{Field: "type", Msg: "a keyer's type cannot change; delete it and add another"}
	}
	if err := s.Load(e.cfg.Assets); err != nil {
		return keyer.Status{}, err
	}
	if cur.AutoRect() && s.Rect != nil && *s.Rect == *cur.Rect {
		at := *s.Rect
		s.Rect = nil // fit the new content
		if err := s.Normalize(e.cfg.Width, e.cfg.Height); err != nil {
			return keyer.Status{}, err
		}
		if s.Type != keyer.TypeImage { // text stays where it was; a new image is centred
			s.Rect.X = min(at.X, e.cfg.Width-s.Rect.W)
			s.Rect.Y = min(at.Y, e.cfg.Height-s.Rect.H)
		}
	}
	if s.On && !wasOn {
		started = time.Now()
	}
	p, err := e.prepareKeyer(k, s, started)
	if err != nil {
		return keyer.Status{}, err
	}
	e.kmu.Lock()
	defer e.kmu.Unlock()
	k.started = started
	e.commitKeyerLocked(k, p)
	e.setOn(k, s.On)
	e.publishKeyersLocked()
	return k.status(), nil
}

// SetKeyerOn fades a keyer on or off over its fade_ms. Going on restarts a
// count-up or count-down clock.
func (e *Engine) SetKeyerOn(id string, on bool) (keyer.Status, error) {
	defer e.changes.Changed(ChangedKeyers)
	e.kedit.Lock()
	defer e.kedit.Unlock()
	e.kmu.Lock()
	defer e.kmu.Unlock()
	k := e.keyers[id]
	if k == nil {
		return keyer.Status{}, fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	if on && !k.on.Load() {
		k.started = time.Now()
		if k.spec.Dynamic() {
			e.renderClockLocked(k, time.Now())
		}
	}
	k.spec.On = on
	st := k.status()
	st.Frame = e.setOn(k, on)
	return st, nil
}

// DeleteKeyer removes a keyer at once.
func (e *Engine) DeleteKeyer(id string) error {
	defer e.changes.Changed(ChangedKeyers)
	e.kedit.Lock()
	defer e.kedit.Unlock()
	e.kmu.Lock()
	defer e.kmu.Unlock()
	k := e.keyers[id]
	if k == nil {
		return fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	delete(e.keyers, id)
	e.publishKeyersLocked()
	old := k.view.Load()
	e.retire(func() {
		k.scaler.Close()
		if old.pipFrame != nil {
			old.pipFrame.Free()
		}
	})
	return nil
}

// preparedKeyer is a keyer validated and rendered, ready to commit.
type preparedKeyer struct {
	spec  keyer.Spec
	layer *color.Layer
	view  *keyerView
	text  string // a clock's text as rendered
}

// prepareKeyer reads s's files, validates and renders it for k, under
// kedit only: nothing here blocks the API's readers or the tick.
func (e *Engine) prepareKeyer(k *keyerState, s keyer.Spec, started time.Time) (*preparedKeyer, error) {
	if err := s.Load(e.cfg.Assets); err != nil {
		return nil, err
	}
	if err := s.Normalize(e.cfg.Width, e.cfg.Height); err != nil {
		return nil, err
	}
	if s.Type == keyer.TypePiP {
		e.mu.Lock()
		known := e.known(s.Source)
		e.mu.Unlock()
		if !known {
			return nil, &fault.Invalid{Field: "source", Msg: fmt.Sprintf("source %q is not known; add it first or pick another", s.Source)}
		}
	}
	now := time.Now()
	layer, err := keyer.Render(&s, keyer.Clock{Now: now, Started: started})
	s.DropImage() // rendered: its pixels are in the layer
	if err != nil {
		return nil, err
	}
	p := &preparedKeyer{spec: s, layer: layer, view: &keyerView{rect: *s.Rect, opacity: *s.Opacity,
		fadeFrames: float64(s.FadeMS) * float64(e.cfg.FPSNum) / float64(e.cfg.FPSDen) / 1000}}
	if s.Type == keyer.TypePiP {
		v := p.view
		v.source = s.Source
		bw := 0
		if s.Border != nil {
			bw = (s.Border.Width + 1) &^ 1
		}
		v.inner = av.Rect{X: s.Rect.X + bw, Y: s.Rect.Y + bw, W: s.Rect.W - 2*bw, H: s.Rect.H - 2*bw}
		if v.inner.W < 2 || v.inner.H < 2 {
			return nil, &fault.Invalid{Field: "border.width", Msg: "the border leaves no room for the picture"}
		}
		// k's view changes only under kedit, which the caller holds
		if old := k.view.Load(); old != nil && old.pipFrame != nil && old.inner.W == v.inner.W && old.inner.H == v.inner.H {
			v.pipFrame = old.pipFrame // same size: the tick keeps using it
		} else if v.pipFrame, err = av.NewFrame(v.inner.W, v.inner.H); err != nil {
			return nil, err
		}
	}
	if s.Dynamic() {
		p.text = s.ClockText(keyer.Clock{Now: now, Started: started})
	}
	return p, nil
}

// commitKeyerLocked makes a prepared keyer k's (under kmu).
func (e *Engine) commitKeyerLocked(k *keyerState, p *preparedKeyer) {
	old := k.view.Load()
	if p.spec.Dynamic() {
		k.text = p.text
	}
	k.spec = p.spec
	k.layer.Store(p.layer)
	k.view.Store(p.view)
	// retired after the new view is out: a tick that loads a view from now
	// on cannot see the old frame
	if old != nil && old.pipFrame != nil && old.pipFrame != p.view.pipFrame {
		e.retire(old.pipFrame.Free)
	}
}

// setOn switches a keyer under e.mu, so the tick sees it whole, and
// returns the first program frame that does.
func (e *Engine) setOn(k *keyerState, on bool) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	k.on.Store(on)
	return e.current + 1
}

// retire runs free after the tick in progress (if any) is done with what it
// frees: the next tick runs it first thing. Without a running clock, Close does.
func (e *Engine) retire(free func()) {
	e.mu.Lock()
	e.retired = append(e.retired, free)
	e.mu.Unlock()
}

func (e *Engine) sortedKeyersLocked() []*keyerState {
	list := make([]*keyerState, 0, len(e.keyers))
	for _, k := range e.keyers {
		list = append(list, k)
	}
	slices.SortFunc(list, func(a, b *keyerState) int {
		return cmp.Or(cmp.Compare(a.spec.Z, b.spec.Z), cmp.Compare(a.spec.ID, b.spec.ID))
	})
	return list
}

// publishKeyersLocked gives the tick a new drawing order.
func (e *Engine) publishKeyersLocked() {
	list := e.sortedKeyersLocked()
	e.keyerList.Store(&list)
}

// renderClockLocked re-renders a clock whose text changed.
func (e *Engine) renderClockLocked(k *keyerState, now time.Time) {
	c := keyer.Clock{Now: now, Started: k.started}
	text := k.spec.ClockText(c)
	if text == k.text {
		return
	}
	l, err := keyer.Render(&k.spec, c)
	if err != nil {
		e.log.Warn("clock keyer render failed", "keyer", k.spec.ID, "err", err)
		return
	}
	k.text = text
	k.layer.Store(l)
}

// runClocks re-renders clock keyers once a second, just after the second
// turns, off the tick.
func (e *Engine) runClocks() {
	defer close(e.clocksDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		e.kmu.Lock()
		for _, k := range e.keyers {
			if k.spec.Dynamic() {
				e.renderClockLocked(k, now)
			}
		}
		e.kmu.Unlock()
		timer.Reset(time.Second - time.Duration(time.Now().Nanosecond()) + 5*time.Millisecond)
	}
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

// drawKeyers moves every keyer's fade one frame and blends the visible ones
// over dst in z order. It releases the pictures the tick took.
func (e *Engine) drawKeyers(dst *av.Frame, list []*keyerState) {
	for _, k := range list {
		v := k.view.Load()
		target := 0.0
		if k.onNow {
			target = 1
		}
		if k.lvl != target {
			step := 1.0
			if v.fadeFrames > 1 {
				step = 1 / v.fadeFrames
			}
			if k.lvl < target {
				k.lvl = min(k.lvl+step, target)
			} else {
				k.lvl = max(k.lvl-step, target)
			}
			k.level.Store(math.Float64bits(k.lvl))
		}
		op := int(math.Round(v.opacity * k.lvl * 256))
		if v.pipFrame != nil && (k.pic != nil || k.slate != nil) {
			if op > 0 {
				e.scalePiP(k, v)
				draw.BlendFrame(dst, v.pipFrame, v.inner.X, v.inner.Y, op)
			}
			if k.pic != nil {
				k.pic.Release()
			} else {
				k.slate.Release()
			}
			k.pic, k.slate = nil, nil
		}
		if op > 0 {
			draw.Blend(dst, k.layer.Load(), v.rect.X, v.rect.Y, op)
		}
	}
}

// scalePiP draws the PiP's source into its frame, fitted and letterboxed.
func (e *Engine) scalePiP(k *keyerState, v *keyerView) {
	f := v.pipFrame
	full := av.Rect{W: f.Width, H: f.Height}
	src := k.slateOrPicture()
	r := draw.Fit(src.Width(), src.Height(), full)
	if err := k.scaler.Scale(src, f, r); err != nil {
		f.Fill(color.Black.Y, color.Black.U, color.Black.V)
		return
	}
	draw.Letterbox(f, full, r)
}

func (k *keyerState) slateOrPicture() av.Picture {
	if k.pic != nil {
		return k.pic.Picture()
	}
	return k.slate.Picture()
}

// freeKeyers frees every keyer's tick resources (at Close).
func (e *Engine) freeKeyers() {
	e.kmu.Lock()
	defer e.kmu.Unlock()
	for id, k := range e.keyers {
		k.scaler.Close()
		if v := k.view.Load(); v != nil && v.pipFrame != nil {
			v.pipFrame.Free()
		}
		delete(e.keyers, id)
	}
	empty := []*keyerState{}
	e.keyerList.Store(&empty)
}
