package clip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/media/av"
)

// Player states, as the source's status shows them.
const (
	StateCued    = "cued"    // at the top (or where it was stopped), its first picture held
	StatePlaying = "playing" // publishing the file in real time
	StatePaused  = "paused"  // the picture where it paused held
	StateEnded   = "ended"   // past the end: the last picture (hold) or black held
)

// End actions (on_end).
const (
	EndHold  = "hold"
	EndBlack = "black"
	EndNext  = "next"
)

// Config configures one clip player.
type Config struct {
	// Source is the registry name the player publishes to.
	Source string
	// Files are the playlist's real paths (Dirs.Resolve), Names the names as
	// configured (for the status).
	Files, Names []string
	// Loop starts the playlist over at its end.
	Loop bool
	// OnEnd is hold (the default), black or next.
	OnEnd string
	// Ended, when set, is called (from the player's goroutine, without its
	// lock) when the playlist ends without looping: on_end next takes the
	// program back to the previous source there.
	Ended func()
	// EndDelay, when set, is how long after its time on the timeline a
	// picture reaches the program (the mixer's jitter buffer for the
	// source): Ended waits for it, so the last picture is seen.
	EndDelay func() time.Duration
	// Changed, when set, is called after every state change (for events).
	Changed func(Status)
}

// Status is the player's state in the source's status.
type Status struct {
	State      string  `json:"state"`
	File       string  `json:"file"`
	PositionS  float64 `json:"position_s"`
	DurationS  float64 `json:"duration_s"`
	RemainingS float64 `json:"remaining_s"`
	Loop       bool    `json:"loop"`
	OnEnd      string  `json:"on_end"`
	// Error is the last problem (a file that vanished or stopped decoding).
	Error string `json:"error,omitempty"`
}

// Actions of the transport.
const (
	ActionPlay  = "play"
	ActionPause = "pause"
	ActionStop  = "stop"
	ActionSeek  = "seek"
)

type command struct {
	action string
	pos    time.Duration
	reply  chan error
}

// Player plays a playlist of media files into a source.
type Player struct {
	cfg Config
	reg *ingest.Registry
	log *slog.Logger

	cmds   chan command
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	status Status
	pub    *ingest.Publisher // while started
}

// Probe opens a file and checks that its streams are ones the show plays:
// video of any codec the FFmpeg build decodes (H.264 and H.265 go to the
// mixer as NAL units, the rest as the container's packets with the codec's
// FFmpeg name), and its sound when the build decodes it (else the picture
// plays without it). The first picture is decoded: a file FFmpeg opens but
// cannot decode is refused here, with the command that converts it.
func Probe(path string) (*av.Demuxer, error) {
	return probe(path, true)
}

// probe is Probe; decode false leaves out the decoding of the first
// picture (a file New or an upload checked already, opened again to play:
// a loop must not wait for it).
func probe(path string, decode bool) (*av.Demuxer, error) {
	m, err := av.OpenDemuxer(path)
	if err != nil {
		return nil, &fault.Invalid{Field: "file", Msg: fmt.Sprintf("FFmpeg cannot read %s as media: %v", baseName(path), err)}
	}
	if m.Video == nil {
		m.Close()
		return nil, &fault.Invalid{Field: "file", Msg: fmt.Sprintf("%s holds no video", baseName(path))}
	}
	if !decode {
		// checked when it was added; played as it is
	} else if err := firstPicture(path); err != nil {
		c := m.Video.Codec
		m.Close()
		return nil, &fault.Invalid{Field: "file", Msg: fmt.Sprintf("%s: its %s video cannot be decoded by this FFmpeg build (%v); convert it with ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4", baseName(path), c, err)}
	}
	if a := m.Audio; a != nil {
		if dec, err := av.NewAudioDecoder(a.Codec, a.Extradata, a.SampleRate, a.Channels, 48000); err != nil {
			m.Audio = nil // sound the mixer cannot decode is left out; the picture plays
		} else {
			dec.Close()
		}
	}
	return m, nil
}

// firstPicture decodes path's video up to its first picture, on a demuxer
// of its own.
func firstPicture(path string) error {
	m, err := av.OpenDemuxer(path)
	if err != nil {
		return err
	}
	defer m.Close()
	dec, err := av.NewVideoDecoderConfig(m.Video.Codec, videoConfig(m.Video), 1)
	if err != nil {
		return err
	}
	defer dec.Close()
	got := false
	fn := func(av.Picture, int64) { got = true }
	var lastErr error
	for i := 0; i < 600 && !got; i++ {
		pkt, err := m.Read()
		if err != nil {
			break
		}
		if !pkt.Video {
			continue
		}
		data := unitData(m.Video.Codec, pkt.Data)
		if data == nil {
			continue
		}
		if err := dec.Decode(data, int64(pkt.PTS), fn); err != nil {
			lastErr = err
		}
	}
	if !got {
		_ = dec.Decode(nil, 0, fn) // flush: the pictures held for reordering
	}
	if got {
		return nil
	}
	if lastErr != nil {
		return lastErr
	}
	return errors.New("no picture came out")
}

// videoConfig is the out-of-band configuration a decoder of v needs: none
// for H.264/H.265, whose parameter sets travel in the units.
func videoConfig(v *av.StreamInfo) []byte {
	if av.NALCodec(v.Codec) {
		return nil
	}
	return v.Extradata
}

// unitData is a packet as the decoder takes it: H.264/H.265 split into NAL
// units, any other codec's packet whole.
func unitData(codec string, data []byte) [][]byte {
	if !av.NALCodec(codec) {
		return [][]byte{data}
	}
	var au h264.AnnexB // H.265 Annex-B has the same framing
	if au.Unmarshal(data) != nil {
		return nil
	}
	return au
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// New checks every file of the playlist (opens and probes it); Start begins.
func New(cfg Config, reg *ingest.Registry, log *slog.Logger) (*Player, error) {
	if len(cfg.Files) == 0 {
		return nil, &fault.Invalid{Field: "url", Msg: fmt.Sprintf("source %s: the clip playlist is empty", cfg.Source)}
	}
	if cfg.OnEnd == "" {
		cfg.OnEnd = EndHold
	}
	var dur time.Duration
	for i, f := range cfg.Files {
		m, err := Probe(f)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", cfg.Source, err)
		}
		if i == 0 {
			dur = m.Duration
		}
		m.Close()
	}
	p := &Player{cfg: cfg, reg: reg, log: log.With("component", "ingest.clip", "source", cfg.Source), cmds: make(chan command)}
	p.status = Status{State: StateCued, File: cfg.Names[0], DurationS: dur.Seconds(), RemainingS: dur.Seconds(), Loop: cfg.Loop, OnEnd: cfg.OnEnd}
	return p, nil
}

// Start claims the source and cues the first file.
func (p *Player) Start() error {
	pub, err := p.reg.Publish(p.cfg.Source, "", "file")
	if err != nil {
		return err
	}
	pub.SetPlayer(p.PlayerStatus)
	p.mu.Lock()
	p.pub = pub
	p.mu.Unlock()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer pub.Close()
		r := &run{p: p, pub: pub}
		defer r.close()
		r.loop()
	}()
	return nil
}

// Close stops the player and waits for it. Safe twice.
func (p *Player) Close() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

// Status returns the player's state.
func (p *Player) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// ErrSeek refuses a seek outside the file.
var ErrSeek = errors.New("seek position outside the clip")

// Command runs a transport action: play, pause, stop (back to the top,
// cued) or seek (to pos, the key frame at or before it).
func (p *Player) Command(action string, pos time.Duration) error {
	switch action {
	case ActionPlay, ActionPause, ActionStop:
	case ActionSeek:
		if d := time.Duration(p.Status().DurationS * float64(time.Second)); pos < 0 || pos > d {
			return &fault.Invalid{Field: "position_s", Msg: fmt.Sprintf("position_s %.3f is outside the clip (0 to %.3f s)", pos.Seconds(), d.Seconds())}
		}
	default:
		return &fault.Invalid{Field: "action", Msg: fmt.Sprintf("action %q must be play, pause, stop or seek", action)}
	}
	if p.ctx == nil {
		return errors.New("the clip player is not started")
	}
	c := command{action: action, pos: pos, reply: make(chan error, 1)}
	select {
	case p.cmds <- c:
	case <-p.ctx.Done():
		return errors.New("the clip player is closed")
	}
	select {
	case err := <-c.reply:
		return err
	case <-p.ctx.Done():
		return errors.New("the clip player is closed")
	}
}

func (p *Player) set(f func(*Status)) {
	p.mu.Lock()
	f(&p.status)
	st, pub := p.status, p.pub
	p.mu.Unlock()
	if pub != nil {
		pub.PlayerChanged()
	}
	if p.cfg.Changed != nil {
		p.cfg.Changed(st)
	}
}

// PlayerStatus is Status for the source's status (ingest.Status.Player).
func (p *Player) PlayerStatus() any { return p.Status() }
