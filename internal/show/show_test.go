package show

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/internal/macro"
	"switchyard/media"
	"switchyard/output/push"
	"switchyard/output/tally"
)

// fakeInputs are the mixer's inputs; refuse makes AddInput fail.
type fakeInputs struct {
	inputs  map[string]time.Duration
	follows map[string]string
	refuse  error
	held    map[string]bool // HoldOnAir
}

func (f *fakeInputs) AddInput(name string, _ *media.Stream, d time.Duration) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.inputs[name] = d
	return nil
}
func (f *fakeInputs) RemoveInput(name string) { delete(f.inputs, name) }
func (f *fakeInputs) HoldOnAir(name string, hold bool) error {
	if _, ok := f.inputs[name]; !ok {
		return fmt.Errorf("no input %s", name)
	}
	if f.held == nil {
		f.held = map[string]bool{}
	}
	f.held[name] = hold
	return nil
}
func (f *fakeInputs) SetJitterBuffer(name string, d time.Duration) error {
	f.inputs[name] = d
	return nil
}
func (f *fakeInputs) Follow(name, lead string) error {
	if f.follows == nil {
		f.follows = map[string]string{}
	}
	f.follows[name] = lead
	return nil
}

// fakePaths are the re-served paths; refuse makes Add fail.
type fakePaths struct {
	paths  map[string]bool
	refuse error
}

func (f *fakePaths) Add(name string, _ *media.Stream) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.paths[name] = true
	return nil
}
func (f *fakePaths) Remove(name string) { delete(f.paths, name) }

// fakeRecorder is the recorder; refuse makes AddSource fail. removedWhile
// notes, for each source removed, whether the registry still had it.
type fakeRecorder struct {
	reg          *ingest.Registry
	recorded     map[string]bool
	refuse       error
	removedWhile map[string]bool
}

func (f *fakeRecorder) AddSource(name string, _ *media.Stream) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.recorded[name] = true
	return nil
}
func (f *fakeRecorder) RemoveSource(name string) {
	_, inRegistry := f.reg.Get(name)
	f.removedWhile[name] = inRegistry
	delete(f.recorded, name)
}

// fakeGen is a generator; startErr makes Start fail.
type fakeGen struct {
	started, closed bool
	startErr        error
}

func (g *fakeGen) Start() error { g.started = true; return g.startErr }
func (g *fakeGen) Close()       { g.closed = true }

type fakeClip struct{ fakeGen }

func (*fakeClip) Command(string, time.Duration) error { return nil }
func (*fakeClip) PlayerStatus() any                   { return nil }

type setup struct {
	reg    *ingest.Registry
	inputs *fakeInputs
	paths  *fakePaths
	rec    *fakeRecorder
	gens   map[string]*fakeGen
	ss     *Sources
}

func newSetup() *setup {
	log := slog.New(slog.DiscardHandler)
	s := &setup{reg: ingest.NewRegistry(log), inputs: &fakeInputs{inputs: map[string]time.Duration{}},
		paths: &fakePaths{paths: map[string]bool{}}, gens: map[string]*fakeGen{}}
	s.rec = &fakeRecorder{reg: s.reg, recorded: map[string]bool{}, removedWhile: map[string]bool{}}
	s.ss = NewSources(s.reg, s.inputs, s.paths, s.rec, Generators{
		Check: func(url string) error {
			if strings.Contains(url, "nosuch") {
				return errors.New("no such generator")
			}
			return nil
		},
		New: func(source, url string) (Generator, error) {
			g := &fakeGen{}
			if strings.Contains(url, "fails") {
				g.startErr = errors.New("cannot start")
			}
			s.gens[source] = g
			return g, nil
		}}, log)
	return s
}

// TestSourceLifecycle: a source is added to the registry, the mixer's
// inputs and the served paths together, with its generator started; a
// change of URL restarts what feeds it; removal takes it from all of them.
func TestSourceLifecycle(t *testing.T) {
	s := newSetup()
	st, err := s.ss.Add(ingest.SourceConfig{Name: "bars", URL: "gen://bars", JitterBufferMS: 100})
	require.NoError(t, err)
	require.Equal(t, "bars", st.Name)
	require.Equal(t, 100*time.Millisecond, s.inputs.inputs["bars"])
	require.True(t, s.paths.paths["live/bars"])
	require.True(t, s.gens["bars"].started)
	require.True(t, s.rec.recorded["bars"], "the recorder is told")
	require.True(t, s.inputs.held["bars"], "a generator's pictures are made here: on air its buffer holds")
	_, err = s.ss.Add(ingest.SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	require.False(t, s.inputs.held["cam1"], "a camera's buffer comes down on air")
	require.Equal(t, []string{"bars", "cam1"}, names(s.ss.Configs()))

	first := s.gens["bars"]
	_, err = s.ss.Update(ingest.SourceConfig{Name: "bars", URL: "gen://color?c=red", JitterBufferMS: 200})
	require.NoError(t, err)
	require.True(t, first.closed, "the old generator stopped")
	require.True(t, s.gens["bars"].started, "the new one started")
	require.Equal(t, 200*time.Millisecond, s.inputs.inputs["bars"])
	_, err = s.ss.Update(ingest.SourceConfig{Name: "bars", URL: "rtmp://camera.example/live/x"})
	require.NoError(t, err)
	require.False(t, s.inputs.held["bars"], "pulled from a camera now: on air its buffer comes down")
	_, err = s.ss.Update(ingest.SourceConfig{Name: "bars", URL: "gen://bars"})
	require.NoError(t, err)
	require.True(t, s.inputs.held["bars"])

	// a clip's pictures are made here too (its player sets their times)
	s.ss.SetClips(Clips{New: func(ingest.SourceConfig, func()) (ClipPlayer, error) { return &fakeClip{}, nil }})
	_, err = s.ss.Add(ingest.SourceConfig{Name: "spot", URL: "file:spot.mp4"})
	require.NoError(t, err)
	require.True(t, s.inputs.held["spot"], "a clip's pictures are made here: on air its buffer holds")
	_, err = s.ss.Update(ingest.SourceConfig{Name: "spot", URL: "rtsp://camera.example/stream"})
	require.NoError(t, err)
	require.False(t, s.inputs.held["spot"], "pulled from a camera now: on air its buffer comes down")
	require.NoError(t, s.ss.Remove("spot"))

	require.NoError(t, s.ss.Remove("bars"))
	require.True(t, s.gens["bars"].closed)
	require.NotContains(t, s.inputs.inputs, "bars")
	require.NotContains(t, s.paths.paths, "live/bars")
	require.NotContains(t, s.rec.recorded, "bars")
	require.True(t, s.rec.removedWhile["bars"], "its file ends before the source is gone")
	_, ok := s.reg.Get("bars")
	require.False(t, ok)
	require.Equal(t, []string{"cam1"}, names(s.ss.Configs()))
	require.ErrorIs(t, s.ss.Remove("bars"), ingest.ErrUnknownSource)
	_, err = s.ss.Update(ingest.SourceConfig{Name: "bars"})
	require.ErrorIs(t, err, fault.NotFound)
	s.ss.Close()
}

// TestSourceAddUndone: when a part refuses a new source, what was done is
// undone: no registry entry, no input, no path, no camera file is left
// behind, and nothing feeds it.
func TestSourceAddUndone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     ingest.SourceConfig
		breakIt func(*setup)
	}{
		{"mixer refuses", ingest.SourceConfig{Name: "cam1"}, func(s *setup) { s.inputs.refuse = errors.New("mixer full") }},
		{"path refuses", ingest.SourceConfig{Name: "cam1"}, func(s *setup) { s.paths.refuse = errors.New("path taken") }},
		{"recorder refuses", ingest.SourceConfig{Name: "cam1", URL: "gen://bars"}, func(s *setup) { s.rec.refuse = errors.New("recorder closed") }},
		{"generator fails", ingest.SourceConfig{Name: "cam1", URL: "gen://fails"}, func(*setup) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup()
			tc.breakIt(s)
			_, err := s.ss.Add(tc.cfg)
			require.Error(t, err)
			_, ok := s.reg.Get("cam1")
			require.False(t, ok, "the registry entry is undone")
			require.Empty(t, s.inputs.inputs)
			require.Empty(t, s.paths.paths)
			require.Empty(t, s.rec.recorded)
			require.Empty(t, s.ss.Configs())
			if g := s.gens["cam1"]; g != nil && !strings.Contains(tc.cfg.URL, "fails") {
				t.Errorf("the generator was made (started %v) though an earlier part refused", g.started)
			}
		})
	}
}

// TestSourceRefusals: reserved names, a bad URL and the generators' cap are
// refused naming the field (or the cap), with nothing added.
func TestSourceRefusals(t *testing.T) {
	s := newSetup()
	for _, tc := range []struct {
		cfg   ingest.SourceConfig
		field string
		msg   string
	}{
		{ingest.SourceConfig{Name: "black"}, "name", `"black" is the mixer's black bus; choose another name`},
		{ingest.SourceConfig{Name: "master"}, "name", `"master" is reserved (the audio master, the program and preview outputs); choose another name`},
		{ingest.SourceConfig{Name: "program"}, "name", `"program" is reserved`},
		{ingest.SourceConfig{Name: "cam1", URL: "gen://nosuch"}, "url", "source cam1: no such generator"},
		{ingest.SourceConfig{Name: "cam1", URL: "ftp://x"}, "url", `url scheme "ftp" is not supported`},
	} {
		_, err := s.ss.Add(tc.cfg)
		var inv *fault.Invalid
		require.ErrorAs(t, err, &inv, "%+v", tc.cfg)
		require.Equal(t, tc.field, inv.Field)
		require.Contains(t, inv.Msg, tc.msg)
		require.Equal(t, err, CheckSource(tc.cfg, s.ss.gens.Check), "the show file's check is the API's")
	}
	for i := range ingest.MaxGenerators {
		_, err := s.ss.Add(ingest.SourceConfig{Name: "gen" + string(rune('a'+i)), URL: "gen://bars"})
		require.NoError(t, err)
	}
	_, err := s.ss.Add(ingest.SourceConfig{Name: "one-more", URL: "gen://bars"})
	var many *fault.TooMany
	require.ErrorAs(t, err, &many)
	require.Equal(t, "generators", many.Limit)
	_, ok := s.reg.Get("one-more")
	require.False(t, ok)
}

func names(cfgs []ingest.SourceConfig) []string {
	out := []string{}
	for _, c := range cfgs {
		out = append(out, c.Name)
	}
	return out
}

// TestResolve: per name, the later edit wins between the show file and the
// API's changes kept in show.json.
func TestResolve(t *testing.T) {
	src := func(name, url string) ingest.SourceConfig { return ingest.SourceConfig{Name: name, URL: url} }
	out := func(name, url string) push.Config { return push.Config{Name: name, URL: url, Enabled: true} }
	file := []ingest.SourceConfig{src("cam1", ""), src("cam2", "")}
	sh := Show{Sources: StoredSources([]ingest.SourceConfig{src("cam1", ""), src("cam2", ""), src("api", "gen://bars")}),
		Outputs: []push.Config{out("yt", "rtmp://a/live/k")},
		File:    &FileParts{Sources: StoredSources(file), Outputs: []push.Config{out("yt", "rtmp://a/live/k")}}}
	// since: cam1 removed from the file, cam2 changed, cam3 added; yt changed, fb added
	newFile := []ingest.SourceConfig{src("cam2", "gen://bars"), src("cam3", "")}
	sources, outputs, changes := sh.Resolve(newFile, []push.Config{out("yt", "rtmp://b/live/k"), out("fb", "rtmp://c/live/k")})
	require.Equal(t, []string{"cam2", "api", "cam3"}, names(sources))
	require.Equal(t, "gen://bars", sources[0].URL)
	require.Len(t, outputs, 2)
	require.Equal(t, "rtmp://b/live/k", outputs[0].URL)
	require.ElementsMatch(t, []string{"source cam1 removed from the show file", "source cam2 changed in the show file",
		"source cam3 added in the show file", "output yt changed in the show file", "output fb added in the show file"}, changes)

	// a show.json the API never changed: the file stands
	sources, outputs, changes = Show{}.Resolve(newFile, nil)
	require.Equal(t, newFile, sources)
	require.Nil(t, outputs)
	require.Empty(t, changes)
}

// TestStore: show.json keeps the keys, round trips, is private, and a
// corrupt one is moved aside (the show starts from the config).
func TestStore(t *testing.T) {
	dir := t.TempDir()
	st := NewStore(dir, slog.New(slog.DiscardHandler))
	sh, err := st.Load()
	require.NoError(t, err)
	require.Nil(t, sh.Sources, "no show.json: an empty show")
	st.SetFile([]ingest.SourceConfig{{Name: "cam1"}}, nil)
	require.NoError(t, st.Save(Show{Sources: StoredSources([]ingest.SourceConfig{{Name: "cam1", PublishKey: "sekrit", ReadKey: "rk"}})}))
	fi, err := os.Stat(st.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	sh, err = st.Load()
	require.NoError(t, err)
	require.Equal(t, "sekrit", sh.SourceConfigs()[0].PublishKey)
	require.Equal(t, "rk", sh.SourceConfigs()[0].ReadKey)
	require.NotNil(t, sh.File)
	require.Equal(t, []push.Config{}, sh.File.Outputs)

	require.NoError(t, os.WriteFile(st.Path(), []byte("{not json"), 0o640))
	sh, err = st.Load()
	require.NoError(t, err)
	require.Nil(t, sh.Sources)
	aside, _ := filepath.Glob(st.Path() + ".corrupt-*")
	require.Len(t, aside, 1)
}

// TestResolveMacros: the show file's macros, with the API's changes on top,
// per name; an edit of the show file since wins.
func TestResolveMacros(t *testing.T) {
	step := func(p string) []macro.Step { return []macro.Step{{Method: "POST", Path: p}} }
	file := []macro.Macro{{Name: "a", Steps: step("/api/v1/cut")}, {Name: "b", Steps: step("/api/v1/cut")}}
	// show.json from before macros: the file's
	got, _ := Show{}.ResolveMacros(file)
	require.Equal(t, file, got)
	// the API removed b and added c; the file changed a since
	saved := Show{Macros: []macro.Macro{{Name: "a", Steps: step("/api/v1/cut")}, {Name: "c", Steps: step("/api/v1/ftb")}},
		File: &FileParts{Macros: file}}
	edited := []macro.Macro{{Name: "a", Steps: step("/api/v1/ftb")}, {Name: "b", Steps: step("/api/v1/cut")}}
	got, changes := saved.ResolveMacros(edited)
	require.Equal(t, []macro.Macro{{Name: "a", Steps: step("/api/v1/ftb")}, {Name: "c", Steps: step("/api/v1/ftb")}}, got)
	require.Equal(t, []string{"macro a changed in the show file"}, changes)
}

// TestResolveTally: the show file's tally destinations, with the API's
// changes on top, per name, through show.json written and read again; a
// destination removed through the API stays removed while the file does
// not change it, and an edit of the file since wins.
func TestResolveTally(t *testing.T) {
	d := func(name, addr string) tally.Config {
		return tally.Config{Name: name, Protocol: tally.TSL5, Address: addr}.WithDefaults()
	}
	file := []tally.Config{d("tally1", "10.0.0.1:8900"), d("tally2", "10.0.0.2:8900")}
	got, _ := Show{}.ResolveTally(file)
	require.Equal(t, file, got, "show.json from before: the file's")

	st := NewStore(t.TempDir(), slog.New(slog.DiscardHandler))
	st.SetFile(nil, nil)
	st.SetFileTally(file)
	// through the API: tally1 moved, tally2 removed, desk added
	require.NoError(t, st.Save(Show{Tally: []tally.Config{d("tally1", "10.0.0.9:8900"), d("desk", "10.0.0.3:9000")}}))
	saved, err := st.Load()
	require.NoError(t, err)
	got, changes := saved.ResolveTally(file)
	require.Equal(t, []tally.Config{d("tally1", "10.0.0.9:8900"), d("desk", "10.0.0.3:9000")}, got)
	require.Empty(t, changes)
	// the file changes tally2 and adds tally3: the file's edits apply
	edited := []tally.Config{file[0], d("tally2", "10.0.0.22:8900"), d("tally3", "10.0.0.4:8900")}
	got, changes = saved.ResolveTally(edited)
	require.Equal(t, []tally.Config{d("tally1", "10.0.0.9:8900"), d("desk", "10.0.0.3:9000"), d("tally2", "10.0.0.22:8900"),
		d("tally3", "10.0.0.4:8900")}, got)
	require.Equal(t, []string{"tally destination tally2 removed through the API, then changed in the show file: the show file's edit brings it back",
		"tally destination tally3 added in the show file"}, changes)
}

// TestSourceFollowsAndAutoBuffer: jitter_buffer_ms auto reaches the mixer
// as its adaptive setting; a microphone follows its camera's buffer when
// the camera is in the show and follows none; a followed source cannot
// follow, nor be removed while followed.
func TestSourceFollowsAndAutoBuffer(t *testing.T) {
	s := newSetup()
	_, err := s.ss.Add(ingest.SourceConfig{Name: "cam1", JitterBufferMS: ingest.JitterAuto})
	require.NoError(t, err)
	require.Equal(t, time.Duration(-1), s.inputs.inputs["cam1"], "auto: the mixer's AutoJitter")

	_, err = s.ss.Add(ingest.SourceConfig{Name: "mic0", Follows: "cam9"})
	var inv *fault.Invalid
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "follows", inv.Field)
	require.NotContains(t, s.inputs.inputs, "mic0", "refused: nothing added")

	_, err = s.ss.Add(ingest.SourceConfig{Name: "mic1", Follows: "cam1"})
	require.NoError(t, err)
	require.Equal(t, "cam1", s.inputs.follows["mic1"])

	_, err = s.ss.Add(ingest.SourceConfig{Name: "mic2", Follows: "mic1"})
	require.ErrorAs(t, err, &inv)
	require.Contains(t, inv.Msg, "follows cam1 itself")
	_, err = s.ss.Update(ingest.SourceConfig{Name: "cam1", Follows: "mic1"})
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "follows", inv.Field)

	err = s.ss.Remove("cam1")
	require.ErrorIs(t, err, fault.Conflict)
	require.Contains(t, s.inputs.inputs, "cam1", "a followed source stays")

	_, err = s.ss.Update(ingest.SourceConfig{Name: "mic1"})
	require.NoError(t, err)
	require.Equal(t, "", s.inputs.follows["mic1"], "its own buffer again")
	require.NoError(t, s.ss.Remove("cam1"))
}
