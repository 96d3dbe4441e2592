package mpegts

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	mcts "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"switchyard/media"
)

// Taken is what a publisher may send: one video and one audio track.
const Taken = "Switchyard takes one H.264 or H.265 video track and one AAC or Opus audio track"

// MaxProbe bounds how much of a transport stream NewReceiver reads looking
// for its program map (mediacommon keeps what it read to replay it, up to
// 1 MB): a stream without one within it is refused, not buffered for ever.
// Encoders send the map every 100 ms or so.
const MaxProbe = 512 << 10

// ErrNoProgram refuses a stream whose program map did not come within
// MaxProbe bytes.
var ErrNoProgram = fmt.Errorf("no MPEG-TS program map (PAT/PMT) in the first %d KB: is this MPEG-TS?", MaxProbe>>10)

// Receiver reads one publisher's transport stream into units: the first
// H.264 or H.265 track and the first AAC or Opus track; every other track is
// named (the source shows it as a warning), never dropped silently.
type Receiver struct {
	log     *slog.Logger
	r       *mcts.Reader
	sink    media.Publisher
	video   *videoIn
	audio   *audioIn
	ignored []string
	clock   *mcts.TimeDecoder // one clock for every track: they share the PCR
	// announced is the video track last announced on the sink.
	announced *media.Track

	malformed atomic.Uint64
	lastErr   string
	reported  time.Time
}

// NewReceiver reads r until the stream's program map and picks its tracks;
// r gives whole TS packets per Read (an SRT payload: up to seven). A stream
// without video is refused, naming its tracks.
func NewReceiver(r io.Reader, log *slog.Logger) (*Receiver, error) {
	lim := &probeLimit{r: r, left: MaxProbe}
	rd := &mcts.Reader{R: mcts.NewBufferedReader(lim)}
	if err := rd.Initialize(); err != nil {
		if lim.over {
			return nil, ErrNoProgram
		}
		return nil, fmt.Errorf("mpeg-ts: %w", err)
	}
	lim.left = -1 // found: the rest is read as it comes
	rx := &Receiver{log: log, r: rd, clock: &mcts.TimeDecoder{}}
	for _, t := range rd.Tracks() {
		why := ""
		switch c := t.Codec.(type) {
		case *mcts.CodecH264, *mcts.CodecH265:
			if rx.video == nil {
				rx.takeVideo(t)
				continue
			}
			why = "only the first video track is taken"
		case *mcts.CodecMPEG4Audio:
			if rx.audio == nil {
				if err := rx.takeAAC(t, c); err == nil {
					continue
				} else {
					why = err.Error()
				}
			} else {
				why = "only the first audio track is taken"
			}
		case *mcts.CodecOpus:
			if rx.audio == nil {
				rx.takeOpus(t, c)
				continue
			}
			why = "only the first audio track is taken"
		default:
			why = "its codec is not one Switchyard takes"
		}
		rx.ignored = append(rx.ignored, fmt.Sprintf("track PID %d (%s) not taken: %s", t.PID, codecName(t.Codec), why))
	}
	if rx.video == nil {
		msg := "no H.264 or H.265 video in the stream"
		if len(rx.ignored) > 0 {
			msg += " (" + strings.Join(rx.ignored, "; ") + ")"
		}
		return nil, errors.New(msg)
	}
	rd.OnDecodeError(rx.decodeError)
	return rx, nil
}

// codecName names a transport stream codec for people: "MPEG1Audio", "KLV".
func codecName(c mcts.Codec) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", c), "*codecs.")
}

// probeLimit fails reads once left bytes were read, while left ≥ 0.
type probeLimit struct {
	r    io.Reader
	left int
	over bool
}

func (p *probeLimit) Read(b []byte) (int, error) {
	if p.left < 0 {
		return p.r.Read(b)
	}
	if p.left == 0 {
		p.over = true
		return 0, ErrNoProgram
	}
	n, err := p.r.Read(b)
	p.left -= min(n, p.left)
	return n, err
}

// Codecs names the tracks taken: "h264+aac", "h265".
func (rx *Receiver) Codecs() string {
	s := rx.video.codec
	if rx.audio != nil {
		s += "+" + rx.audio.track.Codec
	}
	return s
}

// Run publishes the stream's units into sink until r fails (the connection
// ends), and returns that error. Malformed packets and access units are
// counted on the sink (Malformed) and logged once a second at most; they
// never end the stream.
func (rx *Receiver) Run(sink media.Publisher) error {
	rx.sink = sink
	if len(rx.ignored) > 0 {
		w := strings.Join(rx.ignored, "; ") + " (" + Taken + ")"
		sink.SetWarning(w)
		rx.log.Warn("tracks not taken", "tracks", w)
	}
	rx.announce()
	for {
		if err := rx.r.Read(); err != nil {
			return err
		}
	}
}

// Malformed returns how many malformed packets or access units were dropped.
func (rx *Receiver) Malformed() uint64 { return rx.malformed.Load() }

// decodeError counts what mediacommon could not read and says so once a
// second at most.
func (rx *Receiver) decodeError(err error) {
	n := rx.malformed.Add(1)
	if rx.sink != nil {
		rx.sink.Malformed()
	}
	if now := time.Now(); now.Sub(rx.reported) >= time.Second {
		rx.reported = now
		rx.log.Warn("malformed MPEG-TS dropped", "err", err, "malformed_total", n)
	}
}

func (rx *Receiver) announce() {
	var v, a *media.Track
	if rx.video != nil {
		v = rx.video.track
	}
	if rx.audio != nil {
		a = rx.audio.track
	}
	rx.announced = v
	if rx.sink != nil {
		rx.sink.SetTracks(v, a)
	}
}

// ts converts a 90 kHz timestamp on the stream's clock (wrapping at 33
// bits) to a duration since the stream's first.
func (rx *Receiver) ts(v int64) time.Duration {
	return time.Duration(rx.clock.Decode(v)) * time.Second / 90000
}

// videoIn follows a video track's parameter sets in band (MPEG-TS carries
// them nowhere else) and makes its units.
type videoIn struct {
	codec string
	track *media.Track
	key   bool // a key unit came since the track was (re)described
}

func (rx *Receiver) takeVideo(t *mcts.Track) {
	v := &videoIn{codec: media.CodecH264}
	rx.video = v
	cb := func(pts, dts int64, au [][]byte) error {
		u := v.unit(rx.ts(pts), rx.ts(dts), au)
		if u == nil {
			return nil
		}
		if u.Track != rx.announced {
			rx.announce()
		}
		rx.sink.WriteUnit(u)
		return nil
	}
	if _, ok := t.Codec.(*mcts.CodecH265); ok {
		v.codec = media.CodecH265
		rx.r.OnDataH265(t, cb)
		return
	}
	rx.r.OnDataH264(t, cb)
}

// unit makes a unit of an access unit: its bytes copied out of the
// demuxer's, parameter sets taken when they change, key units carrying
// them; nothing before the first parameter sets and key unit.
func (v *videoIn) unit(pts, dts time.Duration, au [][]byte) *media.Unit {
	if t := media.TrackFromParams(v.codec, v.track, au); t != nil {
		v.track, v.key = t, false
	}
	if v.track == nil {
		return nil
	}
	var key bool
	if v.codec == media.CodecH264 {
		au, key = media.H264KeyWithParams(au, v.track.SPS, v.track.PPS)
	} else {
		au, key = media.H265KeyWithParams(au, v.track.VPS, v.track.SPS, v.track.PPS)
	}
	if !key && !v.key {
		return nil // nothing can decode it before a key unit
	}
	v.key = true
	return &media.Unit{Track: v.track, PTS: pts, DTS: dts, Key: key, Data: copyNALUs(au)}
}

// copyNALUs copies NAL units into one new buffer.
func copyNALUs(au [][]byte) [][]byte {
	n := 0
	for _, b := range au {
		n += len(b)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(au))
	for i, b := range au {
		buf = append(buf, b...)
		out[i] = buf[len(buf)-len(b) : len(buf) : len(buf)]
	}
	return out
}

// audioIn is the audio track taken.
type audioIn struct {
	track *media.Track
}

func (rx *Receiver) takeAAC(t *mcts.Track, c *mcts.CodecMPEG4Audio) error {
	asc, err := c.Config.Marshal()
	if err != nil {
		return fmt.Errorf("AAC configuration: %w", err)
	}
	tr, err := media.NewAACTrack(asc)
	if err != nil {
		return err
	}
	rx.audio = &audioIn{track: tr}
	rate := int64(c.Config.SampleRate)
	rx.r.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) error {
		base := rx.ts(pts)
		for i, au := range aus {
			if len(au) == 0 {
				continue
			}
			at := base + time.Duration(int64(i)*1024)*time.Second/time.Duration(rate) // 1024 samples per AAC-LC frame
			rx.sink.WriteUnit(&media.Unit{Track: tr, PTS: at, DTS: at, Key: true, Data: [][]byte{append([]byte(nil), au...)}})
		}
		return nil
	})
	return nil
}

func (rx *Receiver) takeOpus(t *mcts.Track, c *mcts.CodecOpus) {
	ch := 2
	if c.Desc != nil {
		switch code := c.Desc.ChannelConfigCode; {
		case code == 0x81:
			ch = max(c.Desc.ExplicitChannelCount, 1)
		case code == 1 || code == 0x82:
			ch = 1
		}
	}
	tr := &media.Track{Kind: media.KindAudio, Codec: media.CodecOpus, SampleRate: 48000, Channels: ch}
	rx.audio = &audioIn{track: tr}
	rx.r.OnDataOpus(t, func(pts int64, packets [][]byte) error {
		at := rx.ts(pts)
		for _, p := range packets {
			if len(p) == 0 {
				continue
			}
			rx.sink.WriteUnit(&media.Unit{Track: tr, PTS: at, DTS: at, Key: true, Data: [][]byte{append([]byte(nil), p...)}})
			at += time.Duration(opus.PacketDuration2(p)) * time.Second / 48000
		}
		return nil
	})
}
