package show

import (
	"errors"
	"fmt"
	"time"

	"switchyard/ingest"
	"switchyard/internal/fault"
)

// ClipPlayer is a clip source's player (ingest/clip.Player).
type ClipPlayer interface {
	Start() error
	Close()
	// Command runs a transport action: play, pause, stop, seek (to pos).
	Command(action string, pos time.Duration) error
	// PlayerStatus is the transport state, for the API.
	PlayerStatus() any
}

// Clips make the players of file: sources. They live in ingest/clip, which
// links the codecs: main hands them in (SetClips).
type Clips struct {
	// New checks a clip source's files (inside the clip folders, decodable)
	// and makes its player; ended is called when the playlist ends with
	// on_end next.
	New func(cfg ingest.SourceConfig, ended func()) (ClipPlayer, error)
	// Back takes the program back to source with the default transition
	// (on_end next).
	Back func(source string) error
}

// SetClips hands in the clip players' maker, before the first source.
func (ss *Sources) SetClips(c Clips) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.clips = c
}

func (ss *Sources) startClip(cfg ingest.SourceConfig) error {
	if ss.clips.New == nil {
		return &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: clip sources are not available in this build", cfg.Name)}
	}
	name := cfg.Name
	p, err := ss.clips.New(cfg, func() { ss.clipEnded(name) })
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("source %s: %w", cfg.Name, err)
	}
	ss.feeders[cfg.Name] = p
	return nil
}

// ErrNotClip refuses a transport command to a source that plays no clip.
var ErrNotClip error = fault.New(fault.Conflict, "the source is not a clip source (url file:NAME)")

// Player returns a clip source's player.
func (ss *Sources) Player(name string) (ClipPlayer, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f, ok := ss.feeders[name]
	if !ok {
		if _, known := ss.registry.Get(name); !known {
			return nil, fmt.Errorf("source %q: %w", name, ingest.ErrUnknownSource)
		}
		return nil, fmt.Errorf("source %s: %w", name, ErrNotClip)
	}
	p, ok := f.(ClipPlayer)
	if !ok {
		return nil, fmt.Errorf("source %s: %w", name, ErrNotClip)
	}
	return p, nil
}

// ProgramChanged is told of every change of the program source (the
// mixer's switch events): a clip with autoplay on-program starts from the
// top, and the source it replaced is remembered for on_end next.
func (ss *Sources) ProgramChanged(from, to string) {
	if from == to {
		return
	}
	// Not under ss.mu: the mixer's goroutine calls this, and ss.mu's
	// holders call the mixer.
	src, ok := ss.registry.Get(to)
	auto := ok && src.Config().Clip() && src.Config().Autoplay == "on-program"
	ss.pmu.Lock()
	ss.program = to
	if ok && from != "" { // clips' and the replay's on_end next
		ss.before[to] = from
	}
	ss.pmu.Unlock()
	if !auto {
		return
	}
	ss.wg.Add(1)
	go func() { // off the mixer's goroutine: the player may be busy for a moment
		defer ss.wg.Done()
		p, err := ss.Player(to)
		if err == nil {
			err = p.Command("stop", 0)
		}
		if err == nil {
			err = p.Command("play", 0)
		}
		if err != nil {
			ss.log.Warn("autoplay: the clip did not start", "source", to, "err", err)
		}
	}()
}

// Ended takes the program back to the source that was on program before
// name (a clip's or the replay's on_end next), with the default
// transition, if name is still on program.
func (ss *Sources) Ended(name string) { ss.clipEnded(name) }

// clipEnded takes the program back to the source before the clip (on_end
// next), if the clip is still on program.
func (ss *Sources) clipEnded(name string) {
	b := ss.clips.Back // set before the first source, never changed: not under ss.mu, which Remove holds while it waits for this player
	ss.pmu.Lock()
	back, onProgram := ss.before[name], ss.program == name
	ss.pmu.Unlock()
	if !onProgram || back == "" || b == nil {
		return
	}
	if err := b(back); err != nil && !errors.Is(err, ingest.ErrUnknownSource) {
		ss.log.Warn("on_end next: the program stays on the clip", "source", name, "back_to", back, "err", err)
	}
}

// PlayerCommand runs a transport action on a clip source's player (the
// API's POST /sources/{name}/player).
func (ss *Sources) PlayerCommand(source, action string, pos time.Duration) error {
	p, err := ss.Player(source)
	if err != nil {
		return err
	}
	return p.Command(action, pos)
}
