package rtsp

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"switchyard/media"
)

// Receiver turns the RTP packets of one RECORD session (or of a pulled
// camera) into units: it takes one video and one audio track of the
// session description and names the others.
type Receiver struct {
	sink    media.Publisher // set by Claim
	log     *slog.Logger
	video   *videoIn
	audio   *audioIn
	ignored []string // the tracks not taken, and why
}

// Taken is what a publisher may send: one video and one audio track.
const Taken = "Switchyard takes one H.264 or H.265 video track and one AAC (MPEG4-GENERIC or MP4A-LATM), Opus or G.711 audio track"

// NewReceiver picks the first video and the first audio track Switchyard
// can take from a session description; every other track is named in
// ignored (the source shows it as a warning), never dropped silently.
// A session without video is refused, with every track named.
func NewReceiver(desc *description.Session, log *slog.Logger) (*Receiver, error) {
	in := &Receiver{log: log}
	for i, m := range desc.Medias {
		why := ""
		switch {
		case m.Type == description.MediaTypeVideo && in.video == nil:
			for _, f := range m.Formats {
				v, err := newVideoIn(m, f)
				if err == nil {
					in.video = v
					break
				}
				why = err.Error()
			}
			if in.video != nil {
				continue
			}
		case m.Type == description.MediaTypeAudio && in.audio == nil:
			for _, f := range m.Formats {
				a, err := newAudioIn(m, f)
				if err == nil {
					in.audio = a
					break
				}
				why = err.Error()
			}
			if in.audio != nil {
				continue
			}
		case m.Type == description.MediaTypeVideo || m.Type == description.MediaTypeAudio:
			why = "only the first " + string(m.Type) + " track is taken"
		default:
			why = "not audio or video"
		}
		in.ignored = append(in.ignored, fmt.Sprintf("track %d (%s %s) not taken: %s", i+1, m.Type, formatNames(m.Formats), why))
	}
	if in.video == nil {
		msg := "no H.264 or H.265 video in the session"
		if len(in.ignored) > 0 {
			msg += " (" + strings.Join(in.ignored, "; ") + ")"
		}
		return nil, errors.New(msg)
	}
	return in, nil
}

// Medias returns the medias to set up: the video's, and the audio's (nil
// when there is no audio track to take).
func (p *Receiver) Medias() (video, audio *description.Media) {
	if p.audio != nil {
		audio = p.audio.media
	}
	return p.video.media, audio
}

// DropAudio leaves the audio track out (it could not be set up), saying why.
func (p *Receiver) DropAudio(why string) {
	if p.audio == nil {
		return
	}
	p.ignored = append(p.ignored, why)
	p.audio = nil
}

// Claim makes sink the taker of the session's units: it announces the
// tracks and names the ones not taken, on the sink and in one log line.
func (p *Receiver) Claim(sink media.Publisher) {
	p.sink = sink
	if w := p.warning(); w != "" {
		sink.SetWarning(w)
		p.log.Warn("tracks not taken", "tracks", w)
	}
	p.announce()
}

// warning is what the source shows about the tracks it did not take.
func (p *Receiver) warning() string {
	if len(p.ignored) == 0 {
		return ""
	}
	return strings.Join(p.ignored, "; ") + " (" + Taken + ")"
}

// formatNames names a track's formats for people: "MPEG-1 Audio",
// "L16/48000/2".
func formatNames(fs []format.Format) string {
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		name := f.RTPMap()
		if name == "" {
			name = strings.TrimPrefix(fmt.Sprintf("%T", f), "*format.")
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return "without a format"
	}
	return strings.Join(names, ", ")
}

// RTPSource is where RTP packets come from: a publisher's server session or
// the client pulling a camera.
type RTPSource interface {
	OnPacketRTP(medi *description.Media, forma format.Format, cb gortsplib.OnPacketRTPFunc)
	PacketPTS(medi *description.Media, pkt *rtp.Packet) (int64, bool)
}

// Attach turns the session's RTP packets into units on the sink (Claim
// first).
func (p *Receiver) Attach(sess RTPSource) {
	if v := p.video; v != nil {
		sess.OnPacketRTP(v.media, v.format, func(pkt *rtp.Packet) {
			pts, ok := sess.PacketPTS(v.media, pkt)
			if !ok {
				return
			}
			before := v.track
			if u := v.decode(pkt, pts); u != nil {
				if u.Track != before {
					p.announce()
				}
				p.sink.WriteUnit(u)
			}
		})
	}
	if a := p.audio; a != nil {
		sess.OnPacketRTP(a.media, a.format, func(pkt *rtp.Packet) {
			pts, ok := sess.PacketPTS(a.media, pkt)
			if !ok {
				return
			}
			before := a.track
			units := a.decode(pkt, pts)
			if a.track != before {
				p.announce() // an in-band LATM configuration, first or changed
			}
			for _, u := range units {
				p.sink.WriteUnit(u)
			}
		})
	}
}

// VideoLost tells the receiver that video packets were lost for good (a
// jitter buffer gave up on them): its units are dropped until the next
// key frame, since a picture missing slices, and every picture predicted
// from it, would decode broken. Call it from the goroutine that feeds the
// video's packets.
func (p *Receiver) VideoLost() {
	if p.video != nil {
		p.video.dts = nil // decode waits for a key frame again
	}
}

// announce publishes the current tracks on the sink.
func (p *Receiver) announce() {
	var v, a *media.Track
	if p.video != nil {
		v = p.video.track
	}
	if p.audio != nil {
		a = p.audio.track
	}
	p.sink.SetTracks(v, a)
}

// videoIn turns RTP packets of one H.264 or H.265 media into units,
// following parameter sets sent in band (a camera that changes resolution).
type videoIn struct {
	media  *description.Media
	format format.Format
	codec  string
	depkt  func(*rtp.Packet) ([][]byte, error)
	dts    dtsExtractor
	track  *media.Track
	rate   int64
}

type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

func newVideoIn(m *description.Media, f format.Format) (*videoIn, error) {
	v := &videoIn{media: m, format: f, rate: int64(f.ClockRate())}
	switch f := f.(type) {
	case *format.H264:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		v.codec, v.depkt = media.CodecH264, dec.Decode
		if sps, pps := f.SafeParams(); sps != nil && pps != nil {
			v.track, _ = media.NewH264Track(sps, pps, 0)
		}
	case *format.H265:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		v.codec, v.depkt = media.CodecH265, dec.Decode
		if vps, sps, pps := f.SafeParams(); vps != nil && sps != nil && pps != nil {
			v.track, _ = media.NewH265Track(vps, sps, pps)
		}
	default:
		return nil, errors.New("its codec is not one Switchyard takes")
	}
	return v, nil
}

func (v *videoIn) decode(pkt *rtp.Packet, pts int64) *media.Unit {
	au, err := v.depkt(pkt)
	if err != nil {
		return nil // more packets needed, or a loss: the decoder resyncs itself
	}
	if t := media.TrackFromParams(v.codec, v.track, au); t != nil {
		v.track, v.dts = t, nil
	}
	if v.track == nil {
		return nil
	}
	var nalus [][]byte
	var key bool
	if v.codec == media.CodecH264 {
		nalus, key = media.H264KeyWithParams(au, v.track.SPS, v.track.PPS)
	} else {
		nalus, key = media.H265KeyWithParams(au, v.track.VPS, v.track.SPS, v.track.PPS)
	}
	if v.dts == nil {
		if !key {
			return nil
		}
		if v.codec == media.CodecH264 {
			v.dts = h264.NewDTSExtractor()
		} else {
			v.dts = h265.NewDTSExtractor()
		}
	}
	dts, err := v.dts.Extract(nalus, pts)
	if err != nil {
		v.dts = nil
		return nil
	}
	return &media.Unit{Track: v.track, PTS: toDuration(pts, v.rate), DTS: toDuration(dts, v.rate), Key: key, Data: nalus}
}

// audioIn turns RTP packets of one AAC (RFC 3640 or RFC 6416 LATM), Opus or
// G.711 media into units.
type audioIn struct {
	media  *description.Media
	format format.Format
	depkt  func(*rtp.Packet) ([][]byte, error)
	step   int64 // RTP ticks between the access units of one packet (AAC)
	track  *media.Track
	rate   int64
}

func newAudioIn(m *description.Media, f format.Format) (*audioIn, error) {
	a := &audioIn{media: m, format: f, rate: int64(f.ClockRate())}
	one := func(dec func(*rtp.Packet) ([]byte, error)) func(*rtp.Packet) ([][]byte, error) {
		return func(pkt *rtp.Packet) ([][]byte, error) {
			b, err := dec(pkt)
			if err != nil {
				return nil, err
			}
			return [][]byte{b}, nil
		}
	}
	switch f := f.(type) {
	case *format.MPEG4Audio:
		if f.Config == nil {
			return nil, errors.New("AAC without config")
		}
		asc, err := f.Config.Marshal()
		if err != nil {
			return nil, err
		}
		if a.track, err = media.NewAACTrack(asc); err != nil {
			return nil, err
		}
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		a.depkt, a.step = dec.Decode, 1024 // samples per AAC-LC frame
	case *format.MPEG4AudioLATM:
		if err := a.latm(f); err != nil {
			return nil, err
		}
	case *format.Opus:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		a.track = &media.Track{Kind: media.KindAudio, Codec: media.CodecOpus, SampleRate: 48000, Channels: max(f.ChannelCount, 1)}
		a.depkt = one(dec.Decode)
	case *format.G711:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		codec := media.CodecPCMA
		if f.MULaw {
			codec = media.CodecPCMU
		}
		a.track = &media.Track{Kind: media.KindAudio, Codec: codec, SampleRate: f.SampleRate, Channels: max(f.ChannelCount, 1)}
		a.depkt = one(dec.Decode)
	default:
		return nil, errors.New("its codec is not one Switchyard takes")
	}
	return a, nil
}

func (a *audioIn) decode(pkt *rtp.Packet, pts int64) []*media.Unit {
	aus, err := a.depkt(pkt)
	if err != nil {
		return nil
	}
	out := make([]*media.Unit, 0, len(aus))
	for i, au := range aus {
		if len(au) == 0 {
			continue
		}
		t := toDuration(pts+int64(i)*a.step, a.rate)
		out = append(out, &media.Unit{Track: a.track, PTS: t, DTS: t, Key: true, Data: [][]byte{au}})
	}
	return out
}

func toDuration(v, rate int64) time.Duration {
	return time.Duration(v) * time.Second / time.Duration(rate)
}

// latm sets a up for MP4A-LATM (RFC 6416), as GStreamer's rtpmp4apay and
// many cameras send AAC: each RTP payload (reassembled when fragmented) is
// an AudioMuxElement (ISO 14496-3 1.7.3) whose subframes are raw AAC
// access units, taken as the AAC units the mixer decodes. The
// StreamMuxConfig comes out of band (cpresent=0, the SDP's config) or in
// band (cpresent=1, in the elements, at a 90 kHz clock); the track follows
// it.
func (a *audioIn) latm(f *format.MPEG4AudioLATM) error {
	dec, err := f.CreateDecoder()
	if err != nil {
		return err
	}
	smc := f.StreamMuxConfig
	setConfig := func(c *mpeg4audio.StreamMuxConfig) error {
		if len(c.Programs) != 1 || len(c.Programs[0].Layers) != 1 {
			return fmt.Errorf("LATM with %d programs: only one program of one layer is taken", len(c.Programs))
		}
		asc := c.Programs[0].Layers[0].AudioSpecificConfig
		if asc == nil {
			return errors.New("LATM without an AudioSpecificConfig")
		}
		b, err := asc.Marshal()
		if err != nil {
			return err
		}
		if a.track != nil && bytes.Equal(a.track.Config, b) {
			smc = c // the same configuration, repeated in band
			return nil
		}
		t, err := media.NewAACTrack(b)
		if err != nil {
			return err
		}
		// samples per access unit in RTP ticks: 1024 at the sample rate, or
		// at 90 kHz when the configuration is in band
		a.step = int64(1024) * a.rate / int64(asc.SampleRate)
		smc, a.track = c, t
		return nil
	}
	if !f.CPresent {
		if err := setConfig(smc); err != nil {
			return err
		}
	}
	a.depkt = func(pkt *rtp.Packet) ([][]byte, error) {
		b, err := dec.Decode(pkt)
		if err != nil {
			return nil, err
		}
		if !f.CPresent {
			return latmPayloads(b, int(smc.NumSubFrames)+1)
		}
		el := mpeg4audio.AudioMuxElement{MuxConfigPresent: f.CPresent, StreamMuxConfig: smc}
		if err := el.Unmarshal(b); err != nil {
			return nil, err
		}
		if el.StreamMuxConfig != smc && el.StreamMuxConfig != nil {
			if err := setConfig(el.StreamMuxConfig); err != nil {
				return nil, err
			}
		}
		aus := make([][]byte, 0, len(el.Payloads))
		for _, sub := range el.Payloads {
			if len(sub) > 0 && len(sub[0]) > 0 {
				aus = append(aus, sub[0][0])
			}
		}
		return aus, nil
	}
	return nil
}

// latmPayloads splits an AudioMuxElement whose StreamMuxConfig came out of
// band into its access units: for each of the subframes, a
// PayloadLengthInfo (bytes summed up to the first below 255) and that many
// bytes of PayloadMux (ISO 14496-3 Tables 1.41, 1.44, 1.45, for one
// program of one layer with frameLengthType 0, the only framing AAC
// senders use). Whatever follows (otherData) is left. The configuration's
// trailing fields are not trusted: GStreamer's rtpmp4apay writes the
// AudioSpecificConfig with its padding where frameLengthType and the rest
// belong, which a strict reading takes for frameLengthType 2.
func latmPayloads(b []byte, subframes int) ([][]byte, error) {
	aus := make([][]byte, 0, subframes)
	for range subframes {
		n := 0
		for {
			if len(b) == 0 {
				return nil, errors.New("LATM: payload length cut short")
			}
			v := b[0]
			b = b[1:]
			n += int(v)
			if v != 255 {
				break
			}
		}
		if n > len(b) {
			return nil, fmt.Errorf("LATM: payload of %d bytes in %d", n, len(b))
		}
		aus = append(aus, b[:n:n])
		b = b[n:]
	}
	return aus, nil
}
