package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/media"
)

// Source is the reserved name of the source replays play on.
const Source = "replay"

// Speeds are the speeds a replay plays at.
var Speeds = []float64{0.25, 0.5, 0.75, 1}

// Slowmo makes the pictures of a blended slow replay from a range's units
// (decoded, the in-between ones mixed, encoded as H.264): picture j = 1,
// 2, … is the camera at j×speed frames past the mark; emit is called with
// each in turn until the range ends or it returns false.
type Slowmo interface {
	Pictures(units []*media.Unit, mark int, speed, fps float64, emit func(track *media.Track, nalus [][]byte, key bool) bool) error
}

// Stiller makes a replay's held picture: the range's last picture (the
// last in display order of its last GOP), decoded and encoded again as
// one H.264 key unit of a track of its own at fps.
type Stiller interface {
	Still(units []*media.Unit, fps float64) (*media.Track, [][]byte, error)
}

// Values of Config.Slow and Config.OnEnd.
const (
	SlowRepeat = "repeat"
	SlowBlend  = "blend"
	EndHold    = "hold"
	EndNext    = "next"
)

// Defaults of Config.
const (
	DefaultBuffer   = 60 * time.Second
	DefaultMaxBytes = 256 << 20
	// DefaultDiskMaxBytes bounds a source's spilled part (replay.disk_max_bytes).
	DefaultDiskMaxBytes = 1 << 30
	DefaultLead         = 250 * time.Millisecond
	DefaultHold         = 400 * time.Millisecond
)

// Config of the replay machine.
type Config struct {
	// Buffer is how much of each source's past is kept (replay.buffer);
	// defaults to 60s.
	Buffer time.Duration
	// MaxBytes bounds each source's buffer in payload bytes
	// (replay.max_bytes); defaults to 256 MiB. A source whose Buffer
	// would take more keeps less time.
	MaxBytes int64
	// SpillDir is where buffers over MaxBytes keep their oldest GOPs
	// (data_dir/replay; made 0750, emptied at New and Close); empty:
	// memory only.
	SpillDir string
	// DiskMaxBytes bounds each source's part on disk
	// (replay.disk_max_bytes); 0: DefaultDiskMaxBytes, <0: no spill.
	DiskMaxBytes int64
	// ClipDir is where replays are saved (data_dir/clips); empty: not saved.
	ClipDir string
	// Lead is when, after a replay starts, its marked frame is surely on
	// the replay source (its GOP decoded, past the mixer's jitter buffer):
	// the time a take (Request.Take) cuts to it. Defaults to 250ms (at most
	// two thirds of Hold).
	Lead time.Duration
	// Hold is how long the marked frame stands before the replay rolls:
	// a cut to the replay in that time shows it from the marked frame.
	// Defaults to 400ms; it must stay under the mixer's stale_after
	// (500ms), past which a source with no new picture shows the slate.
	Hold time.Duration
	// Save writes units (from a key unit, camera timestamps) to a file
	// at path without re-encoding; nil: replays are not saved.
	Save func(path string, units []*media.Unit) error
	// Slow is how a replay below 100 % fills the program frames between
	// two of the camera's (replay.slow): SlowRepeat (the default) shows
	// each picture longer; SlowBlend mixes the two around (decoded and
	// encoded again while the replay plays).
	Slow string
	// Slowmo makes a blended slow replay's pictures (Slow blend): main
	// gives slowmo.Blender (the replay's one use of FFmpeg, kept out of
	// this package so that its types link no cgo).
	Slowmo Slowmo
	// OnEnd is what follows the replay's last frame (replay.on_end):
	// EndHold (the default): the replay source holds that picture (Still,
	// sent a frame apart) until the next replay; EndNext holds it too and
	// calls Ended once it has had its time on program (EndDelay after its
	// timestamp), to take the program back.
	OnEnd string
	// Still makes the held picture (main gives slowmo.Blender, FFmpeg kept
	// out of this package); nil, or should it fail: the replay source
	// shows its slate once the last picture is older than the mixer's
	// stale_after.
	Still Stiller
	// Ended takes the program back to the source before the replay
	// (OnEnd next); EndDelay is how long the mixer takes to show the
	// replay source's pictures (its jitter buffer). Both may be nil.
	Ended    func()
	EndDelay func() time.Duration
	// Key is the publish key of the replay source (a random one set by
	// whoever creates the source, so no camera can push to it).
	Key string
	// ProgramSource returns the source on program now (for a mark with no
	// source); nil: a source must be named.
	ProgramSource func() string
}

// Request asks for a replay. From and To are seconds relative to the
// source's newest unit (negative: in the past); nil takes the marks.
type Request struct {
	Source string   `json:"source,omitempty"`
	FromS  *float64 `json:"from_s,omitempty"`
	ToS    *float64 `json:"to_s,omitempty"`
	Speed  float64  `json:"speed,omitempty"` // 0.25, 0.5, 0.75 or 1; 0 is 1
	// Slow is repeat or blend (below 100 %); empty: replay.slow.
	Slow string `json:"slow,omitempty"`
	// Take cuts the program to the replay source once the marked frame
	// is on it (OnAirAt); done by the API, not by the Replayer.
	Take bool `json:"take,omitempty"`
}

// Info describes a replay, playing or saved.
type Info struct {
	ID     string  `json:"id"`
	Source string  `json:"source"`
	Speed  float64 `json:"speed"`
	// Slow is how the frames between the camera's are filled below 100 %:
	// repeat or blend.
	Slow string `json:"slow,omitempty"`
	// KeyPTSS is the camera timestamp (s) of the key frame decoding starts
	// from; MarkPTSS of the first frame shown (the marked frame); EndPTSS
	// of the last.
	KeyPTSS  float64 `json:"key_pts_s"`
	MarkPTSS float64 `json:"mark_pts_s"`
	EndPTSS  float64 `json:"end_pts_s"`
	// DurationS is how long the replay plays (at its speed, without the hold).
	DurationS float64   `json:"duration_s"`
	StartedAt time.Time `json:"started_at"`
	// OnAirAt: the marked frame is on the replay source from then, held
	// until RollsAt, when it plays on.
	OnAirAt time.Time `json:"on_air_at"`
	RollsAt time.Time `json:"rolls_at"`
	Frames  int       `json:"frames"`
	Playing bool      `json:"playing"`
	// File is the saved clip's name in data_dir/clips (empty: not saved,
	// SaveError says why); while Saving, it is being written.
	File      string `json:"file,omitempty"`
	Saving    bool   `json:"saving,omitempty"`
	SaveError string `json:"save_error,omitempty"`
}

// Mark is a mark-in or mark-out: a source and its camera time.
type Mark struct {
	Source string    `json:"source"`
	PTSS   float64   `json:"pts_s"`
	At     time.Time `json:"at"`
}

// Errors of the replay machine.
var (
	ErrDisabled = fault.New(fault.Unavailable, "instant replay is not enabled (replay.buffer is 0)")
	ErrOffline  = fault.New(fault.Conflict, "the source has nothing in its replay buffer (offline, or just started): replay a live source")
)

// Replayer keeps a Buffer for every source of the registry and plays
// replays on the source named Source.
type Replayer struct {
	cfg Config
	reg *ingest.Registry
	log *slog.Logger

	mu      sync.Mutex
	bufs    map[string]*feed
	playing *play
	marks   [2]*Mark // in, out
	saved   []Info
	epoch   time.Time
	seq     int
	nbuf    int // buffers made: their spill files' names

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type feed struct {
	buf    *Buffer
	stream *media.Stream
	cancel context.CancelFunc
}

type play struct {
	info   Info
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Replayer; Start begins it.
func New(cfg Config, reg *ingest.Registry, log *slog.Logger) *Replayer {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Lead <= 0 {
		cfg.Lead = DefaultLead
	}
	if cfg.Hold <= 0 {
		cfg.Hold = DefaultHold
	}
	if cfg.Slow == "" {
		cfg.Slow = SlowRepeat
	}
	if cfg.OnEnd == "" {
		cfg.OnEnd = EndHold
	}
	if cfg.DiskMaxBytes == 0 {
		cfg.DiskMaxBytes = DefaultDiskMaxBytes
	}
	cfg.Lead = min(cfg.Lead, cfg.Hold*2/3)
	log = log.With("component", "replay")
	if cfg.SpillDir != "" && cfg.DiskMaxBytes > 0 {
		if err := PrepareSpillDir(cfg.SpillDir); err != nil {
			log.Warn("replay: the buffers stay in memory (replay.max_bytes): the spill folder cannot be made; check data_dir", "dir", cfg.SpillDir, "err", err)
			cfg.SpillDir = ""
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Replayer{cfg: cfg, reg: reg, log: log, bufs: map[string]*feed{},
		epoch: time.Now(), ctx: ctx, cancel: cancel}
}

// Start follows the registry: every source but Source gets a buffer,
// now and when added (a poll once a second, and Sync).
func (r *Replayer) Start() {
	r.Sync()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-r.ctx.Done():
				return
			case <-t.C:
				r.Sync()
			}
		}
	}()
}

// Sync attaches a buffer to each source of the registry that has none
// and lets go of those of removed sources.
func (r *Replayer) Sync() {
	srcs := r.reg.List()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	seen := map[string]bool{}
	for _, s := range srcs {
		if s.Name() == Source {
			continue
		}
		seen[s.Name()] = true
		if f, ok := r.bufs[s.Name()]; ok && f.stream == s.Stream() {
			continue
		} else if ok {
			f.cancel()
		}
		ctx, cancel := context.WithCancel(r.ctx)
		f := &feed{buf: NewBuffer(r.cfg.Buffer, r.cfg.MaxBytes), stream: s.Stream(), cancel: cancel}
		if r.cfg.SpillDir != "" && r.cfg.DiskMaxBytes > 0 {
			r.nbuf++
			f.buf.SpillTo(r.cfg.SpillDir, fmt.Sprintf("%s-%d", s.Name(), r.nbuf), r.cfg.DiskMaxBytes, r.log.With("source", s.Name()).Warn)
		}
		r.bufs[s.Name()] = f
		rd, _ := s.Stream().NewReaderFromPreroll(1024)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer f.buf.Close()
			defer rd.Close()
			for {
				u, err := rd.Next(ctx)
				if err != nil {
					return
				}
				f.buf.Add(u, time.Now())
			}
		}()
	}
	for name, f := range r.bufs {
		if !seen[name] {
			f.cancel()
			delete(r.bufs, name)
		}
	}
}

// Close stops the replay playing and every buffer, and waits for them.
func (r *Replayer) Close() {
	r.mu.Lock()
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
}

// Buffer returns a source's buffer (nil when it has none).
func (r *Replayer) Buffer(source string) *Buffer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.bufs[source]; ok {
		return f.buf
	}
	return nil
}

func (r *Replayer) resolve(field, source string) (string, *Buffer, error) {
	if source == "" && r.cfg.ProgramSource != nil {
		source = r.cfg.ProgramSource()
		if source == "" || source == "black" || source == Source {
			return "", nil, fault.Invalidf(field, "%s: the program shows no camera (%q): name a source", field, source)
		}
	}
	if source == "" {
		return "", nil, fault.Invalidf(field, "%s: name the source to replay", field)
	}
	if source == Source {
		return "", nil, fault.Invalidf(field, "%s: the replay source cannot be replayed; name a camera", field)
	}
	b := r.Buffer(source)
	if b == nil {
		if _, ok := r.reg.Get(source); !ok {
			return "", nil, fmt.Errorf("replay of %q: %w", source, ingest.ErrUnknownSource)
		}
		r.Sync()
		if b = r.Buffer(source); b == nil {
			return "", nil, fmt.Errorf("replay of %q: %w", source, ErrOffline)
		}
	}
	return source, b, nil
}

// SetMark sets the mark-in (out false) or mark-out of source (empty: the
// program's source now) at its newest unit.
func (r *Replayer) SetMark(source string, out bool) (Mark, error) {
	name, b, err := r.resolve("source", source)
	if err != nil {
		return Mark{}, err
	}
	units, last := b.Snapshot()
	if len(units) == 0 || time.Since(last) > ingest.StaleAfter {
		return Mark{}, fmt.Errorf("mark on %q: %w", name, ErrOffline)
	}
	m := Mark{Source: name, PTSS: newestPTS(units).Seconds(), At: time.Now()}
	r.mu.Lock()
	i := 0
	if out {
		i = 1
		if in := r.marks[0]; in != nil && in.Source != name {
			r.mu.Unlock()
			return Mark{}, fault.Invalidf("source", "mark-out on %s but mark-in is on %s: mark in on %s first", name, in.Source, name)
		}
	} else {
		r.marks[1] = nil
	}
	r.marks[i] = &m
	r.mu.Unlock()
	return m, nil
}

// Marks returns the mark-in and mark-out (nil when unset).
func (r *Replayer) Marks() (in, out *Mark) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.marks[0], r.marks[1]
}

func newestPTS(units []*media.Unit) time.Duration {
	var p time.Duration = math.MinInt64
	for _, u := range units {
		if u.Track.Kind == media.KindVideo || p == math.MinInt64 {
			p = max(p, u.PTS)
		}
	}
	return p
}

func secs(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// Play starts a replay; one already playing is replaced. The program is
// not touched: cut to the source named Source to show it.
func (r *Replayer) Play(req Request) (Info, error) {
	speed := req.Speed
	if speed == 0 {
		speed = 1
	}
	if !slices.Contains(Speeds, speed) {
		return Info{}, fault.Invalidf("speed", "speed %g is not one of 0.25, 0.5, 0.75, 1", req.Speed)
	}
	slow := req.Slow
	if slow == "" {
		slow = r.cfg.Slow
	}
	if slow != SlowRepeat && slow != SlowBlend {
		return Info{}, fault.Invalidf("slow", "slow %q must be repeat or blend", req.Slow)
	}
	in, out := r.Marks()
	if req.FromS == nil && in == nil {
		return Info{}, fault.Invalidf("from_s", "from_s: give a range (from_s, to_s in seconds before now) or set a mark-in first")
	}
	source := req.Source
	if req.FromS == nil && source == "" {
		source = in.Source
	}
	name, b, err := r.resolve("source", source)
	if err != nil {
		return Info{}, err
	}
	units, last := b.Snapshot()
	if len(units) == 0 || time.Since(last) > ingest.StaleAfter && req.FromS != nil {
		return Info{}, fmt.Errorf("replay of %q: %w", name, ErrOffline)
	}
	newest := newestPTS(units)
	var from, to time.Duration
	if req.FromS != nil {
		if math.IsNaN(*req.FromS) || *req.FromS > 0 {
			return Info{}, fault.Invalidf("from_s", "from_s %g: give seconds before now (a negative number, e.g. -8)", *req.FromS)
		}
		// before the buffer's length is before anything kept; refused here,
		// before the seconds become a Duration (which -1e308 would overflow)
		if *req.FromS < -r.cfg.Buffer.Seconds()-1 {
			return Info{}, fault.Invalidf("from_s", "from_s %g: older than the buffer, which holds the last %s (replay.buffer); replay something more recent",
				*req.FromS, r.cfg.Buffer)
		}
		from, to = newest+secs(*req.FromS), newest
		if req.ToS != nil {
			if math.IsNaN(*req.ToS) || *req.ToS > 0 || *req.ToS <= *req.FromS {
				return Info{}, fault.Invalidf("to_s", "to_s %g: give seconds before now, after from_s (%g), e.g. -2", *req.ToS, *req.FromS)
			}
			to = newest + secs(*req.ToS)
		}
	} else {
		if in.Source != name {
			return Info{}, fault.Invalidf("source", "the mark-in is on %s, not %s", in.Source, name)
		}
		from, to = secs(in.PTSS), newest
		if out != nil {
			to = secs(out.PTSS)
		}
	}
	sel, mark, err := pick(units, from, to)
	switch {
	case errors.Is(err, errNoVideo):
		return Info{}, fault.Invalidf("source", "%s has no pictures to replay (sound only)", name)
	case errors.Is(err, errBeforeBuffer):
		kept := newest - units[0].PTS
		return Info{}, fault.Invalidf("from_s", "range older than the buffer: the buffer of %s holds the last %.1f s (replay.buffer %s) from its oldest key frame; replay something more recent",
			name, kept.Seconds(), r.cfg.Buffer)
	case err != nil:
		return Info{}, fault.Invalidf("to_s", "the range holds no frame of %s: widen it", name)
	}
	if sel, err = b.Load(sel); err != nil {
		return Info{}, fault.Invalidf("from_s", "replay of %s: %v", name, err)
	}
	return r.start(name, sel, mark, speed, slow)
}

// Why pick found no range.
var (
	errNoVideo      = errors.New("no video")
	errBeforeBuffer = errors.New("before the oldest key frame kept")
	errEmptyRange   = errors.New("no frame in the range")
)

// pick returns the units from the key unit at or before from to to — no
// video unit after to: the range ends on the marked-out frame — and the
// index (into them) of the first video unit shown at or after from.
func pick(units []*media.Unit, from, to time.Duration) (sel []*media.Unit, mark int, err error) {
	from, to = from-time.Millisecond, to+time.Millisecond // timestamps in whole ms (RTMP) round
	key, video := -1, false
	for i, u := range units {
		video = video || u.Track.Kind == media.KindVideo
		if u.Track.Kind != media.KindVideo {
			continue
		}
		if u.Key && u.PTS <= from {
			key = i
		}
	}
	if !video {
		return nil, 0, errNoVideo
	}
	if key < 0 {
		return nil, 0, errBeforeBuffer
	}
	mark = -1
	for _, u := range units[key:] {
		video := u.Track.Kind == media.KindVideo
		if video && u.DTS > to {
			break
		}
		if !video && (u.PTS < from || u.PTS > to) {
			continue
		}
		if video && mark < 0 && u.PTS >= from {
			mark = len(sel)
		}
		sel = append(sel, u)
	}
	if mark < 0 {
		return nil, 0, errEmptyRange
	}
	return sel, mark, nil
}
