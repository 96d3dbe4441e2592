package control

import (
	"cmp"
	"fmt"
	"image"
	"slices"
	"strconv"
	"sync"
	"time"

	"switchyard/ingest"
	"switchyard/internal/assets"
	"switchyard/internal/fault"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
	"switchyard/mixer/keyer"
	"switchyard/output/push"
	"switchyard/output/record"
)

// The owners of control's own tests: fakes of the mixer, the runtime source
// set, the outputs and the recorder, over the same cgo-free parts the real
// ones use (the buses state machine, audio settings, keyer specs and their
// rendering, the source registry), so a route's validation and answers are
// the real ones and no FFmpeg is linked. The errors they return are the
// owners' own (the same words and kinds).

// fakeMixer is the mixer without pictures: buses, sound, keyers and each
// source's jitter buffer. Frame advances by one with every bus change.
type fakeMixer struct {
	mu       sync.Mutex
	w, h     int
	assets   *assets.Dir
	buses    *bus.Buses
	current  int64
	master   audio.Settings
	inputs   map[string]*fakeInput
	keyers   map[string]*keyer.Status
	keyerSeq int
	stats    clock.Stats
	levels   audio.Levels
	// snapshot is what Snapshot returns for a source; none: no picture yet.
	snapshot map[string]*image.YCbCr
	// multiview carries the wall's pictures to subscribers.
	multiview chan []byte
}

type fakeInput struct {
	mix    audio.Settings
	jitter time.Duration
	behind time.Duration // BehindOffAir
}

// fakeDefaultJitter is the program's jitter buffer in the fake (2 frames at 30 fps).
const fakeDefaultJitter = 66 * time.Millisecond

var errFakeUnknownSource = fault.New(fault.NotFound, "unknown source")

func newFakeMixer(w, h int, a *assets.Dir) *fakeMixer {
	return &fakeMixer{w: w, h: h, assets: a, buses: bus.New(clock.Rate{Num: 30, Den: 1}), master: audio.Settings{},
		inputs: map[string]*fakeInput{}, keyers: map[string]*keyer.Status{}, snapshot: map[string]*image.YCbCr{},
		multiview: make(chan []byte, 1), stats: clock.Stats{LateBy: map[string]uint64{}}}
}

func (m *fakeMixer) addInput(name string, jitter time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inputs[name] = &fakeInput{mix: audio.Settings{Mode: audio.ModeAFV}, jitter: jitter}
}

func (m *fakeMixer) removeInput(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inputs, name)
	m.buses.Remove(name)
}

func (m *fakeMixer) setJitter(name string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if in := m.inputs[name]; in != nil {
		in.jitter = d
	}
}

func (m *fakeMixer) known(name string) bool { return m.inputs[name] != nil || name == bus.Black }

func (m *fakeMixer) stateLocked() bus.State { return m.buses.State(m.current) }

func (m *fakeMixer) State() bus.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stateLocked()
}

func (m *fakeMixer) setBus(name string, set func(string, int64)) (bus.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.known(name) {
		return bus.State{}, fmt.Errorf("%w %q", errFakeUnknownSource, name)
	}
	m.current++
	set(name, m.current)
	return m.stateLocked(), nil
}

func (m *fakeMixer) SetProgram(name string) (bus.State, error) {
	return m.setBus(name, m.buses.SetProgram)
}
func (m *fakeMixer) SetPreview(name string) (bus.State, error) {
	return m.setBus(name, m.buses.SetPreview)
}

func (m *fakeMixer) Cut() bus.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.current++
	m.buses.Cut(m.current)
	return m.stateLocked()
}

func (m *fakeMixer) Auto(t bus.Transition) (bus.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.buses.Auto(t, m.current+1); err != nil {
		return bus.State{}, err
	}
	m.current++
	return m.stateLocked(), nil
}

func (m *fakeMixer) SetTransition(t bus.Transition) (bus.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.buses.SetTransition(t); err != nil {
		return bus.State{}, err
	}
	return m.stateLocked(), nil
}

func (m *fakeMixer) DefaultTransition() bus.Transition {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buses.Default()
}

func (m *fakeMixer) SetPosition(p float64) (bus.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.buses.SetPosition(p, m.current+1); err != nil {
		return bus.State{}, err
	}
	m.current++
	return m.stateLocked(), nil
}

// BusesMoved: the fake's buses move only on commands (its frame count
// advances with them), so they never move on their own.
func (m *fakeMixer) BusesMoved() <-chan struct{} { return nil }

func (m *fakeMixer) FTB() bus.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.current++
	m.buses.FTB(m.current)
	return m.stateLocked()
}

func (m *fakeMixer) Audio() audio.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := audio.State{Master: m.master, Sources: map[string]audio.Settings{}}
	for name, in := range m.inputs {
		st.Sources[name] = in.mix
	}
	return st
}

func (m *fakeMixer) SetMaster(p audio.Patch) (audio.Settings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.master
	if err := p.Apply(&s, true); err != nil {
		return audio.Settings{}, err
	}
	m.master = s
	return s, nil
}

func (m *fakeMixer) SetAudio(name string, p audio.Patch) (audio.Settings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.inputs[name]
	if in == nil {
		return audio.Settings{}, fmt.Errorf("%w %q", errFakeUnknownSource, name)
	}
	s := in.mix
	if err := p.Apply(&s, false); err != nil {
		return audio.Settings{}, err
	}
	in.mix = s
	return s, nil
}

func (m *fakeMixer) TakeLevels() audio.Levels {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.levels
}

func (m *fakeMixer) LastLevels() audio.Levels { return m.TakeLevels() }

func (m *fakeMixer) sortedKeyersLocked() []*keyer.Status {
	out := make([]*keyer.Status, 0, len(m.keyers))
	for _, k := range m.keyers {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b *keyer.Status) int { return cmp.Or(cmp.Compare(a.Z, b.Z), cmp.Compare(a.ID, b.ID)) })
	return out
}

func (m *fakeMixer) Keyers() []keyer.Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []keyer.Status{}
	for _, k := range m.sortedKeyersLocked() {
		out = append(out, keyer.Status{Spec: k.Spec.Clone(), Level: k.Level})
	}
	return out
}

func (m *fakeMixer) KeyerSpecs() []keyer.Spec {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []keyer.Spec{}
	for _, k := range m.sortedKeyersLocked() {
		out = append(out, k.Spec.Clone())
	}
	return out
}

func (m *fakeMixer) Keyer(id string) (keyer.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keyers[id]
	if k == nil {
		return keyer.Status{}, fmt.Errorf("%w %q", errFakeUnknownKeyer, id)
	}
	return keyer.Status{Spec: k.Spec.Clone(), Level: k.Level}, nil
}

var (
	errFakeUnknownKeyer = fault.New(fault.NotFound, "unknown keyer")
	errFakeKeyerExists  = fault.New(fault.Conflict, "keyer id already taken")
	errFakeTooManyKeyer = &fault.TooMany{Limit: "keyers", Msg: fmt.Sprintf("a show holds at most %d keyers; delete one first", keyer.MaxKeyers)}
)

// prepare validates and renders s as the mixer does (its files read from
// the assets folder, its rectangle fitted, a PiP's source known).
func (m *fakeMixer) prepare(s keyer.Spec) (keyer.Spec, error) {
	if err := s.Load(m.assets); err != nil {
		return s, err
	}
	if err := s.Normalize(m.w, m.h); err != nil {
		return s, err
	}
	if s.Type == keyer.TypePiP && !m.known(s.Source) {
		return s, &fault.Invalid{Field: "source", Msg: fmt.Sprintf("source %q is not known; add it first or pick another", s.Source)}
	}
	_, err := keyer.Render(&s, keyer.Clock{Now: time.Now()})
	s.DropImage()
	return s, err
}

func (m *fakeMixer) AddKeyer(s keyer.Spec) (keyer.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.keyers) >= keyer.MaxKeyers {
		return keyer.Status{}, errFakeTooManyKeyer
	}
	if s.ID == "" {
		for {
			m.keyerSeq++
			s.ID = "k" + strconv.Itoa(m.keyerSeq)
			if m.keyers[s.ID] == nil {
				break
			}
		}
	} else if m.keyers[s.ID] != nil {
		return keyer.Status{}, fmt.Errorf("%w: %q", errFakeKeyerExists, s.ID)
	}
	s, err := m.prepare(s)
	if err != nil {
		return keyer.Status{}, err
	}
	k := &keyer.Status{Spec: s}
	if s.On {
		k.Level = 1
	}
	m.keyers[s.ID] = k
	return keyer.Status{Spec: k.Spec.Clone(), Level: k.Level}, nil
}

func (m *fakeMixer) UpdateKeyer(id string, apply func(*keyer.Spec) error) (keyer.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keyers[id]
	if k == nil {
		return keyer.Status{}, fmt.Errorf("%w %q", errFakeUnknownKeyer, id)
	}
	s := k.Spec.Clone()
	if err := apply(&s); err != nil {
		return keyer.Status{}, err
	}
	if s.ID != id {
		return keyer.Status{}, &fault.Invalid{Field: "id", Msg: "a keyer's id cannot change; delete it and add another"}
	}
	if s.Type != k.Type {
		return keyer.Status{}, &fault.Invalid{Field: "type", Msg: "a keyer's type cannot change; delete it and add another"}
	}
	s, err := m.prepare(s)
	if err != nil {
		return keyer.Status{}, err
	}
	k.Spec = s
	return keyer.Status{Spec: k.Spec.Clone(), Level: k.Level}, nil
}

func (m *fakeMixer) SetKeyerOn(id string, on bool) (keyer.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keyers[id]
	if k == nil {
		return keyer.Status{}, fmt.Errorf("%w %q", errFakeUnknownKeyer, id)
	}
	k.On, k.Level = on, 0
	if on {
		k.Level = 1
	}
	return keyer.Status{Spec: k.Spec.Clone(), Level: k.Level}, nil
}

func (m *fakeMixer) DeleteKeyer(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keyers[id] == nil {
		return fmt.Errorf("%w %q", errFakeUnknownKeyer, id)
	}
	delete(m.keyers, id)
	return nil
}

func (m *fakeMixer) SourceStats(name string) clock.SourceStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.inputs[name]
	if in == nil {
		return clock.SourceStats{}
	}
	j := in.jitter
	if j == 0 {
		j = fakeDefaultJitter
	}
	return clock.SourceStats{JitterBuffer: j, BehindOffAir: in.behind}
}

func (m *fakeMixer) Snapshot(name string, maxWidth int) (*image.YCbCr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inputs[name] == nil {
		return nil, fmt.Errorf("%w: %q", errFakeUnknownSource, name)
	}
	img := m.snapshot[name]
	if img == nil {
		return nil, fault.New(fault.Unavailable, "no picture has been decoded from this source yet; try again when it is live")
	}
	return img, nil
}

func (m *fakeMixer) Stats() clock.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

func (m *fakeMixer) SubscribeMultiview() (<-chan []byte, func()) { return m.multiview, func() {} }

// fakeSources is the runtime source set: the real registry, the fake
// mixer's inputs, and the reserved names refused as main's source set does.
type fakeSources struct {
	mu  sync.Mutex
	reg *ingest.Registry
	mix *fakeMixer
}

func (fs *fakeSources) check(cfg ingest.SourceConfig) error {
	switch cfg.Name {
	case bus.Black:
		return &fault.Invalid{Field: "name", Msg: `"black" is the mixer's black bus; choose another name`}
	case "master", "program", "preview":
		return &fault.Invalid{Field: "name", Msg: fmt.Sprintf("%q is reserved (the audio master, the program and preview outputs); choose another name", cfg.Name)}
	}
	return cfg.Validate()
}

func (fs *fakeSources) Add(cfg ingest.SourceConfig) (ingest.Status, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(cfg); err != nil {
		return ingest.Status{}, err
	}
	src, err := fs.reg.Add(cfg)
	if err != nil {
		return ingest.Status{}, err
	}
	fs.mix.addInput(cfg.Name, cfg.JitterBufferMS.Duration())
	return src.Status(), nil
}

func (fs *fakeSources) Update(cfg ingest.SourceConfig) (ingest.Status, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	src, ok := fs.reg.Get(cfg.Name)
	if !ok {
		return ingest.Status{}, fmt.Errorf("source %q: %w", cfg.Name, ingest.ErrUnknownSource)
	}
	if err := fs.check(cfg); err != nil {
		return ingest.Status{}, err
	}
	fs.mix.setJitter(cfg.Name, cfg.JitterBufferMS.Duration())
	if err := fs.reg.Update(cfg); err != nil {
		return ingest.Status{}, err
	}
	return src.Status(), nil
}

func (fs *fakeSources) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if _, ok := fs.reg.Get(name); !ok {
		return fmt.Errorf("source %q: %w", name, ingest.ErrUnknownSource)
	}
	fs.mix.removeInput(name)
	return fs.reg.Remove(name)
}

func (fs *fakeSources) Configs() []ingest.SourceConfig {
	out := []ingest.SourceConfig{}
	for _, s := range fs.reg.List() {
		out = append(out, s.Config())
	}
	return out
}

// fakeOutputs keeps destinations without connecting anywhere: validated as
// push validates them, enabled ones shown connecting.
type fakeOutputs struct {
	mu       sync.Mutex
	list     []push.Config
	onChange func(name string)
}

func (o *fakeOutputs) OnChange(f func(name string)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.onChange = f
}

// changed tells the listener, outside the lock (the methods defer it
// before they lock, so it runs after their unlock).
func (o *fakeOutputs) changed(name string) {
	o.mu.Lock()
	f := o.onChange
	o.mu.Unlock()
	if f != nil {
		f(name)
	}
}

func (o *fakeOutputs) status(c push.Config) push.Status {
	st := push.Status{Name: c.Name, URL: c.URL, Enabled: c.Enabled, State: push.StateIdle}
	if c.Enabled {
		st.State = push.StateConnecting
	}
	return st
}

func (o *fakeOutputs) find(name string) int {
	return slices.IndexFunc(o.list, func(c push.Config) bool { return c.Name == name })
}

func (o *fakeOutputs) List() []push.Status {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []push.Status{}
	for _, c := range o.list {
		out = append(out, o.status(c))
	}
	return out
}

func (o *fakeOutputs) Get(name string) (push.Status, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := o.find(name)
	if i < 0 {
		return push.Status{}, fmt.Errorf("output %q: %w", name, push.ErrNotFound)
	}
	return o.status(o.list[i]), nil
}

func (o *fakeOutputs) Add(c push.Config) (push.Status, error) {
	defer o.changed(c.Name)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := c.Validate(); err != nil {
		return push.Status{}, err
	}
	if o.find(c.Name) >= 0 {
		return push.Status{}, fmt.Errorf("output %q: %w", c.Name, push.ErrExists)
	}
	o.list = append(o.list, c)
	return o.status(c), nil
}

func (o *fakeOutputs) Patch(name string, p push.Patch) (push.Status, error) {
	defer o.changed(name)
	o.mu.Lock()
	defer o.mu.Unlock()
	i := o.find(name)
	if i < 0 {
		return push.Status{}, fmt.Errorf("output %q: %w", name, push.ErrNotFound)
	}
	c := o.list[i]
	if p.URL != nil {
		c.URL = *p.URL
	}
	if p.Enabled != nil {
		c.Enabled = *p.Enabled
	}
	if p.VideoBitrate != nil {
		c.VideoBitrate = *p.VideoBitrate
	}
	if err := c.Validate(); err != nil {
		return push.Status{}, err
	}
	o.list[i] = c
	return o.status(c), nil
}

func (o *fakeOutputs) enable(name string, on bool) (push.Status, error) {
	return o.Patch(name, push.Patch{Enabled: &on})
}

func (o *fakeOutputs) Start(name string) (push.Status, error) { return o.enable(name, true) }
func (o *fakeOutputs) Stop(name string) (push.Status, error)  { return o.enable(name, false) }

func (o *fakeOutputs) Remove(name string) error {
	defer o.changed(name)
	o.mu.Lock()
	defer o.mu.Unlock()
	i := o.find(name)
	if i < 0 {
		return fmt.Errorf("output %q: %w", name, push.ErrNotFound)
	}
	o.list = slices.Delete(o.list, i, i+1)
	return nil
}

func (o *fakeOutputs) Configs() []push.Config {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.list)
}

// fakeRecorder records nothing: its sessions are kept in memory, with one
// file each written under dir.
type fakeRecorder struct {
	mu       sync.Mutex
	dir      string
	active   *record.Info
	sessions []record.Info
	seq      int
	// started is the last start request.
	started  record.StartRequest
	onChange func()
}

func (r *fakeRecorder) OnChange(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onChange = f
}

// changed tells the listener, outside the lock (as fakeOutputs.changed).
func (r *fakeRecorder) changed() {
	r.mu.Lock()
	f := r.onChange
	r.mu.Unlock()
	if f != nil {
		f()
	}
}

func (r *fakeRecorder) Start(req record.StartRequest) (record.Info, error) {
	defer r.changed()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active != nil {
		return record.Info{}, record.ErrRecording
	}
	r.seq++
	r.started = req
	in := record.Info{ID: fmt.Sprintf("s%d", r.seq), State: "recording"}
	r.active = &in
	return in, nil
}

func (r *fakeRecorder) Stop() (record.Info, error) {
	defer r.changed()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		return record.Info{}, record.ErrNotRecording
	}
	in := *r.active
	in.State = "complete"
	r.active = nil
	r.sessions = append(r.sessions, in)
	return in, nil
}

func (r *fakeRecorder) AddMarker(name, color string) (record.Marker, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		return record.Marker{}, record.ErrNotRecording
	}
	if name == "" {
		return record.Marker{}, &fault.Invalid{Field: "name", Msg: "name must be 1 to 64 characters on one line", Err: record.ErrBadMarker}
	}
	if color == "" {
		color = "red"
	}
	return record.Marker{Name: name, Color: color}, nil
}

func (r *fakeRecorder) Active() (record.Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		return record.Info{}, false
	}
	return *r.active, true
}

func (r *fakeRecorder) List() ([]record.Info, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.sessions)
	if r.active != nil {
		out = append(out, *r.active)
	}
	return out, nil
}

func (r *fakeRecorder) File(session, name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if session == "" || name == "" || name == ".." {
		return "", record.ErrBadName
	}
	for _, in := range r.sessions {
		if in.ID == session && name == "program.mp4" {
			return r.dir + "/" + session + "/" + name, nil
		}
	}
	return "", record.ErrNotFound
}

func (r *fakeRecorder) Delete(session string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active != nil && r.active.ID == session {
		return record.ErrActive
	}
	i := slices.IndexFunc(r.sessions, func(in record.Info) bool { return in.ID == session })
	if i < 0 {
		return record.ErrNotFound
	}
	r.sessions = slices.Delete(r.sessions, i, i+1)
	return nil
}

func (r *fakeRecorder) Dir() string { return r.dir }

// The fakes are the owners control declares.
var (
	_ Mixer    = (*fakeMixer)(nil)
	_ Sources  = (*fakeSources)(nil)
	_ Outputs  = (*fakeOutputs)(nil)
	_ Recorder = (*fakeRecorder)(nil)
)
