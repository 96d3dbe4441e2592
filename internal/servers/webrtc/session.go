package webrtc

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/internal/protocols/rtsp"
	"switchyard/internal/protocols/whip"
)

// MaxOfferBytes bounds an offer.
const MaxOfferBytes = whip.MaxOfferBytes

// session is one WHIP publisher: its peer connection, its claim on the
// source, and the goroutines reading its tracks.
type session struct {
	srv    *Server
	id     string
	source string
	log    *slog.Logger
	pub    *ingest.Publisher
	pc     *webrtc.PeerConnection
	recv   *rtsp.Receiver
	in     *rtpIn
	link   link
	fb     *feedback // the RTCP feedback sent to the publisher

	mu      sync.Mutex
	closing bool
	// tracks is how many tracks the offer sends (video, and audio when
	// offered); started, how many onTrack has seen. See stats.
	tracks, started int
	wg              sync.WaitGroup
	once            sync.Once
	st              statsState
}

// Publish answers a WHIP offer to source; key is the bearer token (the
// source's publish key). The source is claimed by the same rules as every
// other publisher's (ingest.Registry.Publish).
func (s *Server) Publish(source, key string, offer []byte) (*Answer, error) {
	return s.counted(s.publish(source, key, offer))
}

func (s *Server) publish(source, key string, offer []byte) (*Answer, error) {
	hasAudio, err := checkOffer(offer)
	if err != nil {
		return nil, err
	}
	pub, err := s.Registry.Publish(source, key, "webrtc")
	if err != nil {
		return nil, err
	}
	ss := &session{srv: s, id: newID(), source: source, pub: pub, tracks: 1}
	if hasAudio {
		ss.tracks = 2
	}
	ss.log = s.Log.With("source", source, "session", ss.id[:8])
	ss.link = newLink(s, "whip session", "the peer", ss.log, ss.close)
	if err := s.add(ss); err != nil {
		pub.Close()
		return nil, err
	}
	a, err := ss.answer(offer, hasAudio)
	if err != nil {
		ss.close("")
		return nil, err
	}
	return a, nil
}

// answer sets the session up and answers the offer.
func (ss *session) answer(offer []byte, hasAudio bool) (*Answer, error) {
	s := ss.srv
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{ICEServers: s.pionICEServers()})
	if err != nil {
		return nil, fmt.Errorf("webrtc peer connection: %w", err)
	}
	ss.pc, ss.fb = pc, s.fb.take(pc.ID())
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}}}}
	if hasAudio {
		desc.Medias = append(desc.Medias, &description.Media{Type: description.MediaTypeAudio,
			Formats: []format.Format{&format.Opus{PayloadTyp: 111, ChannelCount: 2}}})
	}
	ss.recv, err = rtsp.NewReceiver(desc, ss.log)
	if err != nil {
		return nil, err
	}
	ss.in = newRTPIn()
	ss.recv.Claim(ss.pub)
	ss.pub.SetWebRTC(ss.stats)
	ss.recv.Attach(ss.in)
	ss.pub.OnKick(func() { go ss.close("taken over, or the source was removed") })
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		tr, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return nil, err
		}
		if kind == webrtc.RTPCodecTypeVideo { // H.265 is for viewers: a publisher's video is H.264
			prefs := h264Codecs()
			for i := range prefs {
				prefs[i].PayloadType = 0 // the offer's, as negotiated
			}
			if err := tr.SetCodecPreferences(prefs); err != nil {
				return nil, err
			}
		}
	}
	pc.OnTrack(ss.onTrack)
	if err := s.answer(pc, offer, ""); err != nil {
		return nil, err
	}
	ss.link.follow(pc)
	ss.log.Info("whip session answered", "remote", remoteCandidates(string(offer)))
	return &Answer{ID: ss.id, SDP: pc.LocalDescription().SDP, ICEServers: s.ICEServers}, nil
}

// onTrack reads one remote track into the receiver.
func (ss *session) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	ss.mu.Lock()
	if ss.closing {
		ss.mu.Unlock()
		return
	}
	ss.wg.Add(2)
	ss.started++
	ss.mu.Unlock()
	ss.log.Info("whip track", "kind", t.Kind().String(), "codec", t.Codec().MimeType, "ssrc", uint32(t.SSRC()))
	kind := description.MediaTypeVideo
	if t.Kind() == webrtc.RTPCodecTypeAudio {
		kind = description.MediaTypeAudio
	}
	go func() { // RTCP from the sender (its reports), through the interceptors
		defer ss.wg.Done()
		for {
			pkts, _, err := r.ReadRTCP()
			if err != nil {
				return
			}
			ss.in.senderReports(kind, uint32(t.SSRC()), pkts)
		}
	}()
	go func() {
		defer ss.wg.Done()
		// video: NACKs may bring a lost packet back, worth waiting for; when
		// it is given up on, nothing is published until a key frame, which a
		// PLI asks for. Audio is not retransmitted (browsers offer no NACK
		// for Opus): a gap is waited out only as long as reordering takes.
		wait, onSkip := audioReorderWait, func() {}
		if kind == description.MediaTypeVideo {
			pli := ss.pliLimiter(uint32(t.SSRC()))
			wait, onSkip = reorderWait, func() { ss.recv.VideoLost(); pli() }
		}
		ss.in.read(kind, t.ReadRTP, ss.pub.Malformed, wait, onSkip)
	}()
}

// pliLimiter returns what asks the publisher for a key frame (a PLI on
// the video's SSRC) when video packets were given up on, at most every
// half second.
func (ss *session) pliLimiter(ssrc uint32) func() {
	var last time.Time
	return func() {
		if time.Since(last) < 500*time.Millisecond {
			return
		}
		last = time.Now()
		_ = ss.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

// close ends the session once: the peer connection (which ends its
// readers), then the claim on the source. Later calls wait for the first.
func (ss *session) close(why string) {
	ss.once.Do(func() {
		ss.mu.Lock()
		ss.closing = true
		ss.mu.Unlock()
		ss.link.stop()
		if ss.pc != nil {
			_ = ss.pc.Close()
		}
		ss.wg.Wait()
		ss.pub.Close()
		ss.srv.remove(ss)
		if why != "" {
			ss.log.Info("whip session ended", "why", why)
		}
	})
}

// checkOffer refuses an offer that is not SDP, or whose video Switchyard
// cannot take (VP8, VP9, AV1 without H.264), with a message saying what to
// send; it reports whether the offer has audio.
func checkOffer(offer []byte) (hasAudio bool, err error) {
	if len(offer) == 0 {
		return false, fault.Invalidf("sdp", "empty offer: POST an SDP offer (Content-Type: application/sdp)")
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(offer)); err != nil {
		return false, fault.Invalidf("sdp", "the offer is not SDP: %v", err)
	}
	video := false
	for _, m := range sd.MediaDescriptions {
		codecs := map[string]bool{}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			if f := strings.Fields(a.Value); len(f) == 2 {
				codecs[strings.ToUpper(strings.SplitN(f[1], "/", 2)[0])] = true
			}
		}
		switch m.MediaName.Media {
		case "video":
			if video {
				continue
			}
			if !codecs["H264"] {
				names := make([]string, 0, len(codecs))
				for c := range codecs {
					names = append(names, c)
				}
				return false, &fault.Invalid{Field: "sdp", Err: fault.Forbidden, Msg: fmt.Sprintf(
					"the offer's video is %s: Switchyard takes H.264 (packetization-mode 1) video over WHIP; set the encoder to H.264",
					strings.Join(names, ", "))}
			}
			video = true
		case "audio":
			hasAudio = hasAudio || codecs["OPUS"]
		}
	}
	if !video {
		return false, fault.Invalidf("sdp", "the offer has no video: Switchyard takes one H.264 video track and one Opus audio track")
	}
	return hasAudio, nil
}

// remoteCandidates lists the addresses of the offer's candidates, for the log.
func remoteCandidates(offer string) string {
	var out []string
	for _, line := range strings.Split(offer, "\n") {
		if f := strings.Fields(strings.TrimSpace(line)); len(f) >= 6 && strings.HasPrefix(f[0], "a=candidate:") {
			out = append(out, f[4]+":"+f[5])
		}
	}
	return strings.Join(out, " ")
}

// rtpIn is the receiver's RTPSource: it hands each track's packets, in
// sequence order, to the receiver's callback, with presentation times on
// the session's timeline, where the sender's reports put them
// (rtsp.Timeline: video and audio in step by the sender's clocks).
type rtpIn struct {
	tl    *rtsp.Timeline
	loss  lossCounts
	mu    sync.Mutex
	cbs   map[description.MediaType]gortsplib.OnPacketRTPFunc
	media map[description.MediaType]*description.Media
}

func newRTPIn() *rtpIn {
	return &rtpIn{tl: rtsp.NewTimeline(time.Now()), cbs: map[description.MediaType]gortsplib.OnPacketRTPFunc{},
		media: map[description.MediaType]*description.Media{}}
}

// OnPacketRTP sets the callback of a media's packets.
func (in *rtpIn) OnPacketRTP(m *description.Media, f format.Format, cb gortsplib.OnPacketRTPFunc) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.cbs[m.Type], in.media[m.Type] = cb, m
	in.tl.AddTrack(m, f.ClockRate(), m.Type == description.MediaTypeVideo)
}

// PacketPTS places a packet on the session's timeline (see rtsp.Timeline).
func (in *rtpIn) PacketPTS(m *description.Media, pkt *rtp.Packet) (int64, bool) {
	return in.tl.PTS(m, pkt.Timestamp, time.Now())
}

// senderReports passes the sender reports of kind's track (its SSRC) among
// pkts to the timeline.
func (in *rtpIn) senderReports(kind description.MediaType, ssrc uint32, pkts []rtcp.Packet) {
	in.mu.Lock()
	m := in.media[kind]
	in.mu.Unlock()
	for _, p := range pkts {
		if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == ssrc && m != nil {
			in.tl.SenderReport(m, sr.NTPTime, sr.RTPTime)
		}
	}
}

// read reads packets until readRTP fails (the peer connection closed),
// through a reorder buffer, into the callback of kind.
func (in *rtpIn) read(kind description.MediaType, readRTP func() (*rtp.Packet, interceptor.Attributes, error), malformed func(),
	wait time.Duration, onSkip func()) {
	in.mu.Lock()
	cb := in.cbs[kind]
	in.mu.Unlock()
	if cb == nil {
		malformed()
		return
	}
	rb := reorder{wait: wait, onSkip: onSkip, counts: &in.loss}
	for {
		pkt, _, err := readRTP()
		if err != nil {
			return
		}
		rb.push(pkt, time.Now(), cb)
	}
}

// answer takes a client's offer on pc and sets the server's answer with
// every candidate gathered (no trickle ICE: the answer is complete). hint
// is added to the error of an offer that cannot be answered.
func (s *Server) answer(pc *webrtc.PeerConnection, offer []byte, hint string) error {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return fault.Invalidf("sdp", "the offer was refused: %v", err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fault.Invalidf("sdp", "no answer to this offer%s: %v", hint, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("webrtc answer: %w", err)
	}
	select {
	case <-gathered:
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("webrtc: gathering the server's candidates took over 5 s")
	case <-s.ctx.Done():
		return ErrClosed
	}
}
