// Package serve re-serves streams to local players: the program and every
// source over RTSP (rtsp://HOST:8554/program, rtsp://HOST:8554/live/NAME),
// each with the codecs it came in (H.264 or H.265; AAC, Opus or G.711).
package serve

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"switchyard/media"
)

// ErrNoStream is returned for a path that is not served or not live yet.
var ErrNoStream = errors.New("nothing is being served at this path")

// RTSP serves media.Streams as RTSP paths through a gortsplib server that
// someone else owns (ingest/rtsp, which also takes publishers on the same port).
type RTSP struct {
	Log *slog.Logger

	srv    *gortsplib.Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	paths map[string]*path
}

// NewRTSP returns a re-server bound to a started gortsplib server.
func NewRTSP(srv *gortsplib.Server, log *slog.Logger) *RTSP {
	ctx, cancel := context.WithCancel(context.Background())
	return &RTSP{Log: log.With("component", "output.serve"), srv: srv, ctx: ctx, cancel: cancel, paths: map[string]*path{}}
}

// path is one served stream and the goroutine that feeds it.
type path struct {
	name   string
	stream *media.Stream
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	ss *gortsplib.ServerStream

	// watchers counts the RTSP readers playing the path: with none, its
	// units are not packetized into RTP at all (a show re-serves every
	// source and the program, mostly to nobody).
	watchers atomic.Int32
	served   atomic.Uint64 // units packetized for readers
}

// Add serves st at name (e.g. "program", "live/cam1"). The RTSP session is
// described from the tracks the stream carries; it is rebuilt at a key unit
// when they change (a new camera resolution), which makes players reconnect.
func (r *RTSP) Add(name string, st *media.Stream) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.paths[name]; ok {
		return fmt.Errorf("path %s is already served", name)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	p := &path{name: name, stream: st, cancel: cancel, done: make(chan struct{})}
	r.paths[name] = p
	reader := st.NewReader(512)
	go func() {
		defer close(p.done)
		defer reader.Close()
		p.run(ctx, r, reader)
	}()
	return nil
}

// Remove stops serving name and disconnects its readers.
func (r *RTSP) Remove(name string) {
	r.mu.Lock()
	p := r.paths[name]
	delete(r.paths, name)
	r.mu.Unlock()
	if p != nil {
		p.cancel()
		<-p.done
	}
}

// ServerStream implements ingest/rtsp.Player.
func (r *RTSP) ServerStream(name string) (*gortsplib.ServerStream, error) {
	r.mu.Lock()
	p := r.paths[name]
	r.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoStream)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ss == nil {
		return nil, fmt.Errorf("%s: %w (no video yet)", name, ErrNoStream)
	}
	return p.ss, nil
}

// Watch implements ingest/rtsp.Player: a reader plays name until stop. A
// path not served has nothing to packetize, and stop is then a no-op.
func (r *RTSP) Watch(name string) (stop func()) {
	r.mu.Lock()
	p := r.paths[name]
	r.mu.Unlock()
	if p == nil {
		return func() {}
	}
	p.watchers.Add(1)
	var once sync.Once
	return func() { once.Do(func() { p.watchers.Add(-1) }) }
}

// Readers returns how many RTSP readers play name now, and how many of its
// units were packetized for readers so far.
func (r *RTSP) Readers(name string) (readers int, unitsServed uint64) {
	r.mu.Lock()
	p := r.paths[name]
	r.mu.Unlock()
	if p == nil {
		return 0, 0
	}
	return int(p.watchers.Load()), p.served.Load()
}

// PlayStream implements ingest/rtmp.Player: "program" is the program, any
// other name a source ("cam1" → live/cam1).
func (r *RTSP) PlayStream(name string) (*media.Stream, error) {
	path := name
	if name != "program" {
		path = "live/" + name
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.paths[path]
	if p == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoStream)
	}
	return p.stream, nil
}

// Close stops every path.
func (r *RTSP) Close() {
	r.cancel()
	r.mu.Lock()
	ps := r.paths
	r.paths = map[string]*path{}
	r.mu.Unlock()
	for _, p := range ps {
		<-p.done
	}
}

// session is the RTSP description built for one set of tracks.
type session struct {
	ss      *gortsplib.ServerStream
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

func (p *path) run(ctx context.Context, r *RTSP, reader *media.Reader) {
	var cur *session
	defer func() {
		p.setSession(nil)
		if cur != nil {
			cur.ss.Close()
		}
	}()
	for {
		u, err := reader.Next(ctx)
		if err != nil {
			return
		}
		// (Re)describe at a key unit when the announced tracks changed.
		if u.Track.Kind == media.KindVideo && u.Key && (u.Track.Codec == media.CodecH264 || u.Track.Codec == media.CodecH265) {
			video, audio := u.Track, announcedAudio(p.stream)
			if cur == nil || cur.video != video || cur.audioIn != audio {
				next, err := newSession(r.srv, video, audio)
				if err != nil {
					r.Log.Warn("cannot describe stream", "path", p.name, "err", err)
					continue
				}
				old := cur
				cur = next
				p.setSession(cur.ss)
				if old != nil {
					old.ss.Close()
				}
			}
		}
		if cur != nil && p.watchers.Load() > 0 {
			cur.write(u)
			p.served.Add(1)
		}
	}
}

// announcedAudio returns the audio track the stream's publisher announced.
func announcedAudio(st *media.Stream) *media.Track {
	for _, t := range st.Tracks() {
		if t.Kind == media.KindAudio {
			return t
		}
	}
	return nil
}

func (p *path) setSession(ss *gortsplib.ServerStream) {
	p.mu.Lock()
	p.ss = ss
	p.mu.Unlock()
}

func randU32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func newSession(srv *gortsplib.Server, video, audio *media.Track) (*session, error) {
	s := &session{video: video, audio: audio, audioIn: audio, vbase: randU32(), abase: randU32()}
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
	desc := &description.Session{Medias: []*description.Media{s.vmedia}}
	af, aenc, err := audioFormat(audio)
	if err != nil {
		return nil, err
	}
	if af == nil {
		s.audio = nil
	} else {
		s.aenc = aenc
		s.amedia = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{af}}
		desc.Medias = append(desc.Medias, s.amedia)
	}
	s.ss = &gortsplib.ServerStream{Server: srv, Desc: desc}
	if err := s.ss.Initialize(); err != nil {
		return nil, err
	}
	return s, nil
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

func (s *session) write(u *media.Unit) {
	// RTP timestamps start near zero at the session's first unit.
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
			_ = s.ss.WritePacketRTPWithNTP(s.vmedia, pkt, ntp)
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
			_ = s.ss.WritePacketRTPWithNTP(s.amedia, pkt, ntp)
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
