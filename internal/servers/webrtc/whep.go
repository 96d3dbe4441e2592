package webrtc

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"switchyard/internal/fault"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/output/serve"
)

// ErrBadReadKey refuses a WHEP viewer whose bearer is not the read key.
var ErrBadReadKey = fault.New(fault.Forbidden, "wrong or missing read key: give it as Authorization: Bearer READ_KEY")

// OpusBitrate is the bitrate of the Opus the program's (or a source's)
// AAC is transcoded to for WHEP viewers.
const OpusBitrate = 128_000

// feed is one stream as WHEP viewers get it: H.264 or H.265 passed
// through as it was encoded, and the sound as Opus (AAC decoded and
// encoded once, for every viewer; Opus passed through). Its tracks are
// bound to every viewer's peer connection; it runs while it has viewers.
type feed struct {
	name    string
	key     string // in Server.feeds: name, and the codec when not H.264
	codec   string // of the video: media.CodecH264 or CodecH265
	video   *webrtc.TrackLocalStaticSample
	audio   *webrtc.TrackLocalStaticSample
	viewers int
	cancel  context.CancelFunc
	done    chan struct{}
}

// viewer is one WHEP session.
type viewer struct {
	srv  *Server
	id   string
	name string
	feed *feed
	pc   *webrtc.PeerConnection
	log  *slog.Logger
	link link
	once sync.Once
	wg   sync.WaitGroup
}

// videoCodec is the codec a stream's video is sent to WHEP viewers in: its
// own when H.265, else H.264 (what it is, or will be once it has video).
func videoCodec(st *media.Stream) string {
	for _, t := range st.Tracks() {
		if t != nil && t.Kind == media.KindVideo && t.Codec == media.CodecH265 {
			return media.CodecH265
		}
	}
	return media.CodecH264
}

// offers reports whether an SDP offer has a codec (an rtpmap of that
// encoding name, e.g. "H265").
func offers(offer []byte, codec string) bool {
	for _, l := range strings.Split(string(offer), "\n") {
		if f := strings.Fields(strings.TrimSpace(l)); len(f) == 2 && strings.HasPrefix(f[0], "a=rtpmap:") &&
			strings.EqualFold(strings.SplitN(f[1], "/", 2)[0], codec) {
			return true
		}
	}
	return false
}

// readPath is the serve table's path of a WHEP name: program, preview, or
// a source (live/NAME).
func readPath(name string) string {
	if name == "program" || name == "preview" {
		return name
	}
	return "live/" + name
}

// Play answers a WHEP offer for name (program, preview or a source); key
// is the bearer (the read key, where one is set).
func (s *Server) Play(name, key string, offer []byte) (*Answer, error) {
	return s.counted(s.play(name, key, offer))
}

func (s *Server) play(name, key string, offer []byte) (*Answer, error) {
	if s.Paths == nil {
		return nil, fmt.Errorf("%s: %w", name, serve.ErrNoStream)
	}
	if want := s.Registry.ReadKey(name, s.ReadKey); want != "" && subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
		return nil, ErrBadReadKey
	}
	if len(offer) == 0 {
		return nil, fault.Invalidf("sdp", "empty offer: POST an SDP offer (Content-Type: application/sdp)")
	}
	p, err := s.Paths.Get(readPath(name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (watch program, preview or a source)", name, err)
	}
	for _, t := range p.Stream().Tracks() {
		if t != nil && t.Kind == media.KindVideo && !t.Carried() {
			return nil, fault.Invalidf("sdp", "%s's video is %s (a clip) and WebRTC here carries H.264 and H.265: watch program or preview, "+
				"or convert the clip with ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4", name, t.Codec)
		}
	}
	codec := videoCodec(p.Stream())
	if codec == media.CodecH265 && !offers(offer, "H265") {
		return nil, fault.Invalidf("sdp", "%s's video is H.265 and the offer has no H.265: watch it from a viewer that receives H.265 over WebRTC "+
			"(Safari 18, Chrome or Edge 136+ with a hardware decoder), or watch program or preview (H.264)", name)
	}
	v := &viewer{srv: s, id: newID(), name: name}
	v.log = s.Log.With("whep", name, "session", v.id[:8])
	v.link = newLink(s, "whep viewer", "the viewer", v.log, v.close)
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case len(s.sessions)+len(s.viewers) >= s.MaxSessions:
		s.mu.Unlock()
		return nil, ErrFull
	}
	f, err := s.feedLocked(name, codec, p)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	f.viewers++
	v.feed = f
	s.viewers[v.id] = v
	s.mu.Unlock()
	a, err := v.answer(offer)
	if err != nil {
		v.close("")
		return nil, err
	}
	return a, nil
}

// feedLocked returns the feed of name whose video is codec, started for
// its first viewer.
func (s *Server) feedLocked(name, codec string, p *serve.Path) (*feed, error) {
	key := name
	if codec != media.CodecH264 {
		key += " " + codec
	}
	if f := s.feeds[key]; f != nil {
		select {
		case <-f.done: // its stream ended (the source was removed): a new feed
		default:
			return f, nil
		}
	}
	vc := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	if codec == media.CodecH265 {
		vc = h265Codec.RTPCodecCapability
	}
	video, err := webrtc.NewTrackLocalStaticSample(vc, "video", "switchyard-"+name)
	if err != nil {
		return nil, err
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"audio", "switchyard-"+name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	f := &feed{name: name, key: key, codec: codec, video: video, audio: audio, cancel: cancel, done: make(chan struct{})}
	s.feeds[key] = f
	stop := p.Watch()
	go func() {
		defer close(f.done)
		defer stop()
		f.run(ctx, p.Stream(), s.Log.With("whep", name))
	}()
	return f, nil
}

// leave drops a viewer from its feed; the last one stops it.
func (s *Server) leave(v *viewer) {
	s.mu.Lock()
	delete(s.viewers, v.id)
	f := v.feed
	f.viewers--
	last := f.viewers == 0 && s.feeds[f.key] == f
	if last {
		delete(s.feeds, f.key)
	}
	s.mu.Unlock()
	if last {
		f.cancel()
		<-f.done
	}
}

// StopPlay ends the WHEP session id of name (WHEP's DELETE).
func (s *Server) StopPlay(name, id string) error {
	s.mu.Lock()
	v, ok := s.viewers[id]
	s.mu.Unlock()
	if !ok || v.name != name {
		return ErrNoSession
	}
	v.close("ended by the viewer")
	return nil
}

// answer sets the viewer's peer connection up and answers its offer.
func (v *viewer) answer(offer []byte) (*Answer, error) {
	s := v.srv
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{ICEServers: s.pionICEServers()})
	if err != nil {
		return nil, fmt.Errorf("webrtc peer connection: %w", err)
	}
	v.pc = pc
	s.fb.take(pc.ID()) // a viewer's feedback is not counted (yet): forget it
	for _, tr := range []*webrtc.TrackLocalStaticSample{v.feed.video, v.feed.audio} {
		sender, err := pc.AddTrack(tr)
		if err != nil {
			return nil, err
		}
		v.wg.Add(1)
		go func() { // RTCP from the viewer (NACKs, PLIs) through the interceptors
			defer v.wg.Done()
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	if err := s.answer(pc, offer, " (it must take H.264, or H.265 for a source that sends it, and Opus)"); err != nil {
		return nil, err
	}
	v.link.follow(pc)
	return &Answer{ID: v.id, SDP: pc.LocalDescription().SDP, ICEServers: s.ICEServers}, nil
}

// close ends the viewer once; later calls wait for the first.
func (v *viewer) close(why string) {
	v.once.Do(func() {
		v.link.stop()
		if v.pc != nil {
			_ = v.pc.Close()
		}
		v.wg.Wait()
		v.srv.leave(v)
		if why != "" {
			v.log.Info("whep session ended", "why", why)
		}
	})
}

// run reads the stream into the feed's tracks until ctx ends: video
// units as Annex B samples, sound as 20 ms Opus packets.
func (f *feed) run(ctx context.Context, st *media.Stream, log *slog.Logger) {
	rd, _ := st.NewReaderFromPreroll(512)
	defer rd.Close()
	var (
		lastVideo  time.Duration
		haveVideo  bool
		audioTrack *media.Track
		dec        *av.AudioDecoder
		enc        *av.OpusEncoder
		pcm        []float32
		encoded    int64
		errs       int
		annexB     []byte
		otherVideo bool
	)
	defer func() {
		if dec != nil {
			dec.Close()
		}
		if enc != nil {
			enc.Close()
		}
		if errs > 0 {
			log.Warn("whep feed: units not carried", "count", errs)
		}
	}()
	for {
		u, err := rd.Next(ctx)
		if err != nil {
			return
		}
		switch {
		case u.Track.Kind == media.KindVideo && u.Track.Codec == f.codec:
			d := time.Second / 30
			if haveVideo && u.PTS > lastVideo && u.PTS-lastVideo < time.Second {
				d = u.PTS - lastVideo
			}
			lastVideo, haveVideo = u.PTS, true
			annexB = annexB[:0]
			for _, n := range u.Data {
				annexB = append(append(annexB, 0, 0, 0, 1), n...)
			}
			if f.video.WriteSample(pmedia.Sample{Data: annexB, Duration: d}) != nil {
				errs++
			}
		case u.Track.Kind == media.KindVideo:
			if !otherVideo {
				otherVideo = true
				log.Warn("whep feed: the stream's video is no longer the codec its viewers joined with (they must join again)", "codec", u.Track.Codec, "joined_with", f.codec)
			}
		case u.Track.Kind == media.KindAudio && u.Track.Codec == media.CodecOpus:
			if f.audio.WriteSample(pmedia.Sample{Data: u.Data[0], Duration: 20 * time.Millisecond}) != nil {
				errs++
			}
		case u.Track.Kind == media.KindAudio:
			if u.Track != audioTrack {
				if dec != nil {
					dec.Close()
					dec = nil
				}
				audioTrack = u.Track
				if dec, err = av.NewAudioDecoder(u.Track.Codec, u.Track.Config, u.Track.SampleRate, u.Track.Channels, 48000); err != nil {
					log.Warn("whep feed: no sound", "codec", u.Track.Codec, "err", err)
					dec = nil
				}
				if enc == nil && dec != nil {
					if enc, err = av.NewOpusEncoder(OpusBitrate); err != nil {
						log.Warn("whep feed: no opus encoder, no sound", "err", err)
						dec.Close()
						dec, enc = nil, nil
					}
				}
			}
			if dec == nil {
				continue
			}
			if dec.Decode(u.Data[0], func(s []float32) { pcm = append(pcm, s...) }) != nil {
				errs++
				continue
			}
			n := 2 * enc.FrameSize()
			for len(pcm) >= n {
				err := enc.Encode(pcm[:n], encoded, func(p av.Packet) {
					if f.audio.WriteSample(pmedia.Sample{Data: p.Data, Duration: 20 * time.Millisecond}) != nil {
						errs++
					}
				})
				if err != nil {
					errs++
				}
				encoded += int64(enc.FrameSize())
				pcm = append(pcm[:0], pcm[n:]...)
			}
		}
	}
}
