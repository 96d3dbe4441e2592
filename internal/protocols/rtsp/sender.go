package rtsp

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"switchyard/media"
)

// PacketWriter takes a Sender's packets (a gortsplib.ServerStream).
type PacketWriter interface {
	WritePacketRTPWithNTP(medi *description.Media, pkt *rtp.Packet, ntp time.Time) error
}

// Sender packetizes the units of one video track (H.264 or H.265) and its
// stream's audio track into RTP, as its Desc describes them.
type Sender struct {
	// Desc describes the tracks served.
	Desc *description.Session

	video   *media.Track
	audio   *media.Track // nil when audioIn cannot be served
	audioIn *media.Track
	vmedia  *description.Media
	amedia  *description.Media
	venc    interface {
		Encode([][]byte) ([]*rtp.Packet, error)
	}
	aenc       audioEncoder
	vbase      uint32
	abase      uint32
	sentVideo  bool
	firstPTS   time.Duration
	haveOrigin bool
	// ntpOrigin is the wall-clock time of the session's first unit: every
	// packet's NTP time is ntpOrigin + its PTS offset, so the RTCP sender
	// reports map RTP time to NTP time the same way for video and audio
	// (players sync the tracks with them, and ffmpeg re-times a stream
	// by them as soon as the first report arrives).
	ntpOrigin time.Time
}

func randU32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// NewSender describes video (H.264 or H.265) and audio (nil: none); an
// audio track RTP cannot describe is left out and its units skipped.
func NewSender(video, audio *media.Track) (*Sender, error) {
	s := &Sender{video: video, audio: audio, audioIn: audio, vbase: randU32(), abase: randU32()}
	var vf format.Format
	var err error
	if video.Codec == media.CodecH265 {
		f := &format.H265{PayloadTyp: 96, VPS: video.VPS, SPS: video.SPS, PPS: video.PPS}
		s.venc, err = f.CreateEncoder()
		vf = f
	} else {
		f := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: video.SPS, PPS: video.PPS}
		s.venc, err = f.CreateEncoder()
		vf = f
	}
	if err != nil {
		return nil, err
	}
	s.vmedia = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{vf}}
	s.Desc = &description.Session{Medias: []*description.Media{s.vmedia}}
	af, aenc, err := audioFormat(audio)
	if err != nil {
		return nil, err
	}
	if af == nil {
		s.audio = nil
	} else {
		s.aenc = aenc
		s.amedia = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{af}}
		s.Desc.Medias = append(s.Desc.Medias, s.amedia)
	}
	return s, nil
}

// Serves tells whether the sender was made for these tracks (a stream
// whose tracks changed needs a new one).
func (s *Sender) Serves(video, audio *media.Track) bool {
	return s.video == video && s.audioIn == audio
}

// audioEncoder packetizes one audio unit.
type audioEncoder func(u *media.Unit) ([]*rtp.Packet, error)

// audioFormat describes an audio track as it came in, for every codec
// Switchyard ingests: AAC (as MPEG4-GENERIC, RFC 3640, whether it came so or
// as MP4A-LATM: a unit holds a raw access unit, and every player that takes
// LATM takes MPEG4-GENERIC), Opus (RFC 7587) and G.711 (RFC 3551, the
// static payload types at 8 kHz mono). A nil format: nothing to serve.
func audioFormat(t *media.Track) (format.Format, audioEncoder, error) {
	if t == nil {
		return nil, nil, nil
	}
	switch t.Codec {
	case media.CodecAAC:
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(t.Config); err != nil {
			return nil, nil, nil // not describable: served without sound
		}
		f := &format.MPEG4Audio{PayloadTyp: 97, Config: &asc, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, nil, err
		}
		return f, func(u *media.Unit) ([]*rtp.Packet, error) { return enc.Encode(u.Data) }, nil
	case media.CodecOpus:
		f := &format.Opus{PayloadTyp: 97, ChannelCount: max(t.Channels, 1)}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, nil, err
		}
		return f, func(u *media.Unit) ([]*rtp.Packet, error) {
			pkt, err := enc.Encode(u.Data[0])
			return []*rtp.Packet{pkt}, err
		}, nil
	case media.CodecPCMA, media.CodecPCMU:
		f := &format.G711{PayloadTyp: 97, MULaw: t.Codec == media.CodecPCMU, SampleRate: t.SampleRate, ChannelCount: max(t.Channels, 1)}
		if f.SampleRate == 8000 && f.ChannelCount == 1 {
			f.PayloadTyp = 8 // PCMA
			if f.MULaw {
				f.PayloadTyp = 0 // PCMU
			}
		}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, nil, err
		}
		return f, func(u *media.Unit) ([]*rtp.Packet, error) { return enc.Encode(u.Data[0]) }, nil
	}
	return nil, nil, nil
}

// Write packetizes u (a unit of the video track or of the audio track the
// sender was made for; others are skipped) and hands the packets to w. RTP
// timestamps start near zero at the first unit; audio waits for the first
// video unit.
func (s *Sender) Write(w PacketWriter, u *media.Unit) {
	if !s.haveOrigin {
		s.haveOrigin = true
		s.firstPTS = u.PTS
		s.ntpOrigin = time.Now()
	}
	t := u.PTS - s.firstPTS
	ntp := s.ntpOrigin.Add(t)
	switch {
	case u.Track == s.video:
		s.sentVideo = true
		pkts, err := s.venc.Encode(u.Data)
		if err != nil {
			return
		}
		ts := s.vbase + uint32(rtpTime(t, 90000))
		for _, pkt := range pkts {
			pkt.Timestamp = ts
			_ = w.WritePacketRTPWithNTP(s.vmedia, pkt, ntp)
		}
	case u.Track == s.audio && s.sentVideo:
		if len(u.Data) == 0 {
			return
		}
		pkts, err := s.aenc(u)
		if err != nil {
			return
		}
		ts := s.abase + uint32(rtpTime(t, int64(s.audio.SampleRate)))
		g711 := s.audio.Codec == media.CodecPCMA || s.audio.Codec == media.CodecPCMU
		for _, pkt := range pkts {
			pkt.Timestamp = ts
			_ = w.WritePacketRTPWithNTP(s.amedia, pkt, ntp)
			if g711 { // a long unit in several packets: each starts at its first sample
				ts += uint32(len(pkt.Payload) / max(s.audio.Channels, 1))
			}
		}
	}
}

// rtpTime converts d to a clock of rate Hz, rounding to the nearest tick,
// without overflowing for events that run for days.
func rtpTime(d time.Duration, rate int64) int64 {
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return sec*rate + (rem*rate+int64(time.Second)/2)/int64(time.Second)
}
