package mixer

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
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

// KeyerSet is the keyers: the API's under mu (never taken by the tick);
// the tick reads list, sorted by z, without a lock. edit is held through a
// whole change (files read, rendered, committed), so mu — which the API's
// readers need — is held only to copy a spec and to commit. What a change
// frees waits in retired for the tick after (retire).
//
// Lock order: edit, then mu, then the switcher's mu (taken by the
// hooks known and onAir); retireMu is innermost (retire runs under mu, the
// tick frees under the switcher's mu). The tick takes no other of these.
type KeyerSet struct {
	cfg Config
	log *slog.Logger
	// known tells whether a source may be shown (a PiP's).
	known func(source string) bool
	// onAir runs set where the tick sees it whole and returns the first
	// program frame that does.
	onAir func(set func()) int64
	// changed tells OnChange's listener (ChangedKeyers).
	changed func()

	edit sync.Mutex
	mu   sync.Mutex
	m    map[string]*keyerState
	seq  int
	list atomic.Pointer[[]*keyerState]

	retireMu sync.Mutex
	retired  []func() // run by the next tick (see retire)
}

func newKeyerSet(cfg Config, log *slog.Logger) *KeyerSet {
	ks := &KeyerSet{cfg: cfg, log: log, m: map[string]*keyerState{}}
	ks.list.Store(&[]*keyerState{})
	return ks
}

// onAirList is the keyers in drawing order, for the tick.
func (ks *KeyerSet) onAirList() []*keyerState { return *ks.list.Load() }

// keyerState is one keyer. Its spec is the API's (guarded by KeyerSet.mu); what
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
	onNow  bool // on, as the tick read it under the switcher's mu
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
func (ks *KeyerSet) Keyers() []keyer.Status {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	out := make([]keyer.Status, 0, len(ks.m))
	for _, k := range ks.sortedKeyersLocked() {
		out = append(out, k.status())
	}
	return out
}

// KeyerSpecs returns the keyers as show.json keeps them.
func (ks *KeyerSet) KeyerSpecs() []keyer.Spec {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	out := make([]keyer.Spec, 0, len(ks.m))
	for _, k := range ks.sortedKeyersLocked() {
		out = append(out, k.spec.Clone())
	}
	return out
}

// Keyer returns one keyer.
func (ks *KeyerSet) Keyer(id string) (keyer.Status, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k := ks.m[id]
	if k == nil {
		return keyer.Status{}, fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	return k.status(), nil
}

// AddKeyer validates, renders and adds a keyer; it gets an id (k1, k2, …)
// unless it brings one. It is on air from the next tick if On. Its files
// are read and it is rendered without holding the lock the API's readers
// take.
func (ks *KeyerSet) AddKeyer(s keyer.Spec) (keyer.Status, error) {
	defer ks.changed()
	ks.edit.Lock()
	defer ks.edit.Unlock()
	ks.mu.Lock()
	if len(ks.m) >= MaxKeyers {
		ks.mu.Unlock()
		return keyer.Status{}, ErrTooManyKeyer
	}
	seq := ks.seq // a refused keyer gives its generated id back
	if s.ID == "" {
		for {
			ks.seq++
			s.ID = "k" + strconv.Itoa(ks.seq)
			if ks.m[s.ID] == nil {
				break
			}
		}
	} else if ks.m[s.ID] != nil {
		ks.mu.Unlock()
		return keyer.Status{}, fmt.Errorf("%w: %q", ErrKeyerExists, s.ID)
	}
	ks.mu.Unlock()
	k := &keyerState{}
	var started time.Time
	if s.On {
		started = time.Now()
	}
	p, err := ks.prepareKeyer(k, s, started)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err != nil {
		ks.seq = seq // under edit: no other add took one since
		return keyer.Status{}, err
	}
	k.started = started
	ks.commitKeyerLocked(k, p)
	ks.setOn(k, s.On)
	ks.m[s.ID] = k
	ks.publishKeyersLocked()
	return k.status(), nil
}

// UpdateKeyer changes a keyer: apply edits a copy of its spec (the id and
// type stay), which is validated and rendered before it replaces the old
// one. A keyer sized to its content is sized again when its content changes.
func (ks *KeyerSet) UpdateKeyer(id string, apply func(*keyer.Spec) error) (keyer.Status, error) {
	defer ks.changed()
	ks.edit.Lock()
	defer ks.edit.Unlock()
	ks.mu.Lock()
	k := ks.m[id]
	if k == nil {
		ks.mu.Unlock()
		return keyer.Status{}, fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	cur, wasOn, started := k.spec.Clone(), k.on.Load(), k.started
	ks.mu.Unlock() // kedit keeps every other change out until this one is committed
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
	if err := s.Load(ks.cfg.Assets); err != nil {
		return keyer.Status{}, err
	}
	if cur.AutoRect() && s.Rect != nil && *s.Rect == *cur.Rect {
		at := *s.Rect
		s.Rect = nil // fit the new content
		if err := s.Normalize(ks.cfg.Width, ks.cfg.Height); err != nil {
			return keyer.Status{}, err
		}
		if s.Type != keyer.TypeImage { // text stays where it was; a new image is centred
			s.Rect.X = min(at.X, ks.cfg.Width-s.Rect.W)
			s.Rect.Y = min(at.Y, ks.cfg.Height-s.Rect.H)
		}
	}
	if s.On && !wasOn {
		started = time.Now()
	}
	p, err := ks.prepareKeyer(k, s, started)
	if err != nil {
		return keyer.Status{}, err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k.started = started
	ks.commitKeyerLocked(k, p)
	ks.setOn(k, s.On)
	ks.publishKeyersLocked()
	return k.status(), nil
}

// SetKeyerOn fades a keyer on or off over its fade_ms; the status's Frame
// is the first program frame that shows the change. Going on restarts a
// count-up or count-down clock.
func (ks *KeyerSet) SetKeyerOn(id string, on bool) (keyer.Status, error) {
	defer ks.changed()
	ks.edit.Lock()
	defer ks.edit.Unlock()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k := ks.m[id]
	if k == nil {
		return keyer.Status{}, fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	if on && !k.on.Load() {
		k.started = time.Now()
		if k.spec.Dynamic() {
			ks.renderClockLocked(k, time.Now())
		}
	}
	k.spec.On = on
	st := k.status()
	st.Frame = ks.setOn(k, on)
	return st, nil
}

// DeleteKeyer removes a keyer at once.
func (ks *KeyerSet) DeleteKeyer(id string) error {
	defer ks.changed()
	ks.edit.Lock()
	defer ks.edit.Unlock()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k := ks.m[id]
	if k == nil {
		return fmt.Errorf("%w %q", ErrUnknownKeyer, id)
	}
	delete(ks.m, id)
	ks.publishKeyersLocked()
	old := k.view.Load()
	ks.retire(func() {
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
func (ks *KeyerSet) prepareKeyer(k *keyerState, s keyer.Spec, started time.Time) (*preparedKeyer, error) {
	if err := s.Load(ks.cfg.Assets); err != nil {
		return nil, err
	}
	if err := s.Normalize(ks.cfg.Width, ks.cfg.Height); err != nil {
		return nil, err
	}
	if s.Type == keyer.TypePiP {
		if !ks.known(s.Source) {
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
		fadeFrames: float64(s.FadeMS) * float64(ks.cfg.FPSNum) / float64(ks.cfg.FPSDen) / 1000}}
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

// commitKeyerLocked makes a prepared keyer k's (under mu).
func (ks *KeyerSet) commitKeyerLocked(k *keyerState, p *preparedKeyer) {
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
		ks.retire(old.pipFrame.Free)
	}
}

// setOn switches a keyer where the tick sees it whole (onAir), and
// returns the first program frame that does.
func (ks *KeyerSet) setOn(k *keyerState, on bool) int64 {
	return ks.onAir(func() { k.on.Store(on) })
}

// retire runs free after the tick in progress (if any) is done with what it
// frees: the next tick runs it first thing (freeRetired). Without a running
// clock, Close does.
func (ks *KeyerSet) retire(free func()) {
	ks.retireMu.Lock()
	ks.retired = append(ks.retired, free)
	ks.retireMu.Unlock()
}

// freeRetired runs what was retired (the tick, before it reads the list;
// Close). Anything retired after it is freed by the next call.
func (ks *KeyerSet) freeRetired() {
	ks.retireMu.Lock()
	defer ks.retireMu.Unlock()
	for i, free := range ks.retired {
		free() // the last tick is done with it
		ks.retired[i] = nil
	}
	ks.retired = ks.retired[:0]
}

func (ks *KeyerSet) sortedKeyersLocked() []*keyerState {
	list := make([]*keyerState, 0, len(ks.m))
	for _, k := range ks.m {
		list = append(list, k)
	}
	slices.SortFunc(list, func(a, b *keyerState) int {
		return cmp.Or(cmp.Compare(a.spec.Z, b.spec.Z), cmp.Compare(a.spec.ID, b.spec.ID))
	})
	return list
}

// publishKeyersLocked gives the tick a new drawing order.
func (ks *KeyerSet) publishKeyersLocked() {
	list := ks.sortedKeyersLocked()
	ks.list.Store(&list)
}

// renderClockLocked re-renders a clock whose text changed.
func (ks *KeyerSet) renderClockLocked(k *keyerState, now time.Time) {
	c := keyer.Clock{Now: now, Started: k.started}
	text := k.spec.ClockText(c)
	if text == k.text {
		return
	}
	l, err := keyer.Render(&k.spec, c)
	if err != nil {
		ks.log.Warn("clock keyer render failed", "keyer", k.spec.ID, "err", err)
		return
	}
	k.text = text
	k.layer.Store(l)
}

// runClocks re-renders clock keyers once a second, just after the second
// turns, off the tick.
func (ks *KeyerSet) runClocks(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		ks.mu.Lock()
		for _, k := range ks.m {
			if k.spec.Dynamic() {
				ks.renderClockLocked(k, now)
			}
		}
		ks.mu.Unlock()
		timer.Reset(time.Second - time.Duration(time.Now().Nanosecond()) + 5*time.Millisecond)
	}
}

// drawKeyers moves every keyer's fade one frame and blends the visible ones
// over dst in z order. It releases the pictures the tick took.
func drawKeyers(dst *av.Frame, list []*keyerState) {
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
				scalePiP(k, v)
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
func scalePiP(k *keyerState, v *keyerView) {
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
func (ks *KeyerSet) free() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for id, k := range ks.m {
		k.scaler.Close()
		if v := k.view.Load(); v != nil && v.pipFrame != nil {
			v.pipFrame.Free()
		}
		delete(ks.m, id)
	}
	empty := []*keyerState{}
	ks.list.Store(&empty)
}
