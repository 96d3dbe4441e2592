// Package rtsp runs Switchyard's RTSP server (RFC 2326): it accepts publishers
// (ANNOUNCE/RECORD on /live/NAME) into the ingest registry and hands readers
// (DESCRIBE/SETUP/PLAY) to a Player, which output/serve provides. Built on
// gortsplib.
package rtsp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"

	"switchyard/ingest"
	"switchyard/media"
)

// Player finds the stream a reader asks for (e.g. "program", "live/cam1").
type Player interface {
	// ServerStream returns the stream to serve at path, or an error that says
	// why there is none.
	ServerStream(path string) (*gortsplib.ServerStream, error)
	// Watch tells the player a reader plays path until stop is called (the
	// player need not packetize a path nobody plays).
	Watch(path string) (stop func())
}

// ErrNotFound is returned by a Player for a path it does not serve.
var ErrNotFound = errors.New("no stream at this path")

// Server is the RTSP server.
type Server struct {
	// Address to listen on, e.g. ":8554".
	Address string
	// UDPRTPAddress and UDPRTCPAddress, both set (e.g. ":8000" and ":8001",
	// an even port and the next), take RTP and RTCP over UDP from
	// publishers and send it to readers; both empty: TCP only.
	UDPRTPAddress, UDPRTCPAddress string
	// Registry the publishers publish into.
	Registry *ingest.Registry
	// Player serves readers; may be set after Start.
	Player Player
	// Log is the component logger.
	Log *slog.Logger
	// ReadTimeout and WriteTimeout default to 10s.
	ReadTimeout, WriteTimeout time.Duration

	srv *gortsplib.Server
	ln  net.Listener

	mu     sync.Mutex
	player Player
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	if s.ReadTimeout == 0 {
		s.ReadTimeout = 10 * time.Second
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = 10 * time.Second
	}
	s.Log = s.Log.With("component", "ingest.rtsp")
	ln, err := net.Listen("tcp", s.Address)
	if err != nil {
		return fmt.Errorf("rtsp listen %s: %w", s.Address, err)
	}
	s.ln = ln
	s.srv = &gortsplib.Server{
		Handler:        &handler{s: s},
		RTSPAddress:    s.Address,
		UDPRTPAddress:  s.UDPRTPAddress,
		UDPRTCPAddress: s.UDPRTCPAddress,
		ReadTimeout:    s.ReadTimeout,
		WriteTimeout:   s.WriteTimeout,
		Listen: func(string, string) (net.Listener, error) {
			return &guardedListener{Listener: ln, timeout: s.ReadTimeout}, nil
		},
	}
	if err := s.srv.Start(); err != nil {
		ln.Close()
		if s.UDPRTPAddress != "" {
			return fmt.Errorf("rtsp start (udp %s and %s): %w", s.UDPRTPAddress, s.UDPRTCPAddress, err)
		}
		return fmt.Errorf("rtsp start: %w", err)
	}
	if s.UDPRTPAddress != "" {
		s.Log.Info("listening", "addr", ln.Addr().String(), "udp_rtp", s.UDPRTPAddress, "udp_rtcp", s.UDPRTCPAddress)
	} else {
		s.Log.Info("listening", "addr", ln.Addr().String(), "udp", "off")
	}
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// GortServer returns the underlying gortsplib server, for creating ServerStreams.
func (s *Server) GortServer() *gortsplib.Server { return s.srv }

// SetPlayer sets who serves readers.
func (s *Server) SetPlayer(p Player) {
	s.mu.Lock()
	s.player = p
	s.mu.Unlock()
}

func (s *Server) getPlayer() Player {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.player == nil {
		return s.Player
	}
	return s.player
}

// Close stops the server and every session.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// PublishPath returns the source name of a publish path "live/NAME".
func PublishPath(path string) (string, bool) {
	path = strings.Trim(path, "/")
	name, ok := strings.CutPrefix(path, "live/")
	return name, ok && name != "" && !strings.Contains(name, "/")
}

type handler struct {
	s *Server
}

// publisher is the state of one RECORD session.
type publisher struct {
	pub   *ingest.Publisher
	log   *slog.Logger
	video *videoIn
	audio *audioIn
}

// watcher is the state of one PLAY session: it stops watching its path
// when the session closes.
type watcher struct{ stop func() }

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	switch d := ctx.Session.UserData().(type) {
	case *publisher:
		d.pub.Close()
		d.log.Info("publisher disconnected", "err", ctx.Error)
	case *watcher:
		d.stop()
	}
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.play(ctx.Path)
}

func (h *handler) play(path string) (*base.Response, *gortsplib.ServerStream, error) {
	p := h.s.getPlayer()
	if p == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, ErrNotFound
	}
	st, err := p.ServerStream(strings.Trim(path, "/"))
	if err != nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, err
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	log := h.s.Log.With("remote", ctx.Conn.NetConn().RemoteAddr().String())
	name, ok := PublishPath(ctx.Path)
	if !ok {
		err := fmt.Errorf("publish refused: path %q is not live/NAME", ctx.Path)
		log.Warn("publish refused", "err", err)
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	src, ok := h.s.Registry.Get(name)
	if !ok {
		err := fmt.Errorf("publish to %q: %w", name, ingest.ErrUnknownSource)
		log.Warn("publish refused", "source", name, "err", err)
		return &base.Response{StatusCode: base.StatusNotFound}, err
	}
	key := ""
	if want := src.Config().PublishKey; want != "" {
		// The key is the RTSP password; any user name is accepted.
		// VerifyCredentials runs on every try: it also makes the nonce that
		// the 401's digest challenge carries.
		var auth headers.Authorization
		user := "switchyard"
		if auth.Unmarshal(ctx.Request.Header["Authorization"]) == nil && auth.Username != "" {
			user = auth.Username
		}
		if ctx.Conn.VerifyCredentials(ctx.Request, user, want) {
			key = want
		} else {
			if ctx.Request.Header["Authorization"] != nil {
				log.Warn("publish refused", "source", name, "err", ingest.ErrBadKey)
			}
			// ErrServerAuth makes gortsplib ask the client for credentials.
			return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
		}
	}
	in, err := newPublisher(ctx.Description, log.With("source", name))
	if err != nil {
		err = fmt.Errorf("publish to %q refused: %w", name, err)
		log.Warn("publish refused", "err", err)
		return &base.Response{StatusCode: base.StatusUnsupportedMediaType}, err
	}
	pub, err := h.s.Registry.Publish(name, key, "rtsp")
	if err != nil {
		log.Warn("publish refused", "source", name, "err", err)
		code := base.StatusForbidden
		if errors.Is(err, ingest.ErrBusy) {
			code = base.StatusServiceUnavailable
		}
		return &base.Response{StatusCode: code}, err
	}
	sess := ctx.Session
	pub.OnKick(sess.Close) // taken over or removed: the session ends
	in.pub = pub
	in.announce()
	ctx.Session.SetUserData(in)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	return h.play(ctx.Path)
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	release(ctx.Conn)
	// a PLAY after a PAUSE is the same reader; the path is the one SETUP
	// found a stream at, whatever URL form the PLAY used
	if _, ok := ctx.Session.UserData().(*watcher); !ok {
		if p := h.s.getPlayer(); p != nil {
			ctx.Session.SetUserData(&watcher{stop: p.Watch(strings.Trim(ctx.Session.Path(), "/"))})
		}
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRequest: every complete request earns a connection that does not play or
// record yet another read timeout (see guardedListener).
func (h *handler) OnRequest(sc *gortsplib.ServerConn, _ *base.Request) {
	if g, ok := sc.NetConn().(*guardedConn); ok {
		g.extend(h.s.ReadTimeout)
	}
}

func release(sc *gortsplib.ServerConn) {
	if g, ok := sc.NetConn().(*guardedConn); ok {
		g.release()
	}
}

func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	p, ok := ctx.Session.UserData().(*publisher)
	if !ok {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("RECORD without ANNOUNCE")
	}
	release(ctx.Conn)
	p.attach(ctx.Session)
	p.log.Info("recording", "transport", ctx.Session.Transport().Protocol.String())
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// newPublisher picks the H.264 video and AAC audio of a session description.
func newPublisher(desc *description.Session, log *slog.Logger) (*publisher, error) {
	in := &publisher{log: log}
	var vf *format.H264
	var hf *format.H265
	if vm := desc.FindFormat(&vf); vm != nil {
		v, err := newVideoIn(vm, vf)
		if err != nil {
			return nil, err
		}
		in.video = v
	} else if vm := desc.FindFormat(&hf); vm != nil {
		v, err := newVideoIn(vm, hf)
		if err != nil {
			return nil, err
		}
		in.video = v
	}
	var aac *format.MPEG4Audio
	var opus *format.Opus
	var g711 *format.G711
	var am *description.Media
	var af format.Format
	if am = desc.FindFormat(&aac); am != nil {
		af = aac
	} else if am = desc.FindFormat(&opus); am != nil {
		af = opus
	} else if am = desc.FindFormat(&g711); am != nil {
		af = g711
	}
	if am != nil {
		a, err := newAudioIn(am, af)
		if err == nil {
			in.audio = a
		} else {
			log.Warn("audio ignored", "err", err)
		}
	}
	if in.video == nil {
		return nil, errors.New("no H.264 or H.265 video in the session")
	}
	return in, nil
}

// rtpSource is where RTP packets come from: a publisher's server session or
// the client pulling a camera.
type rtpSource interface {
	OnPacketRTP(medi *description.Media, forma format.Format, cb gortsplib.OnPacketRTPFunc)
	PacketPTS(medi *description.Media, pkt *rtp.Packet) (int64, bool)
}

// attach turns the session's RTP packets into units on the source.
func (p *publisher) attach(sess rtpSource) {
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
				p.pub.WriteUnit(u)
			}
		})
	}
	if a := p.audio; a != nil {
		sess.OnPacketRTP(a.media, a.format, func(pkt *rtp.Packet) {
			pts, ok := sess.PacketPTS(a.media, pkt)
			if !ok {
				return
			}
			for _, u := range a.decode(pkt, pts) {
				p.pub.WriteUnit(u)
			}
		})
	}
}

// announce publishes the current tracks on the source's stream.
func (p *publisher) announce() {
	var v, a *media.Track
	if p.video != nil {
		v = p.video.track
	}
	if p.audio != nil {
		a = p.audio.track
	}
	p.pub.SetTracks(v, a)
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
		return nil, fmt.Errorf("video codec %s is not taken", f.Codec())
	}
	return v, nil
}

// params returns the parameter sets an access unit carries, as a new track
// when they differ from the current one.
func (v *videoIn) params(au [][]byte) *media.Track {
	var vps, sps, pps []byte
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		if v.codec == media.CodecH264 {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
			continue
		}
		switch h265.NALUType((n[0] >> 1) & 0x3f) {
		case h265.NALUType_VPS_NUT:
			vps = n
		case h265.NALUType_SPS_NUT:
			sps = n
		case h265.NALUType_PPS_NUT:
			pps = n
		}
	}
	if sps == nil || pps == nil || (v.codec == media.CodecH265 && vps == nil) {
		return nil
	}
	if t := v.track; t != nil && string(sps) == string(t.SPS) && string(pps) == string(t.PPS) && string(vps) == string(t.VPS) {
		return nil
	}
	cp := func(b []byte) []byte { return append([]byte(nil), b...) }
	if v.codec == media.CodecH264 {
		t, _ := media.NewH264Track(cp(sps), cp(pps), 0)
		return t
	}
	t, _ := media.NewH265Track(cp(vps), cp(sps), cp(pps))
	return t
}

func (v *videoIn) decode(pkt *rtp.Packet, pts int64) *media.Unit {
	au, err := v.depkt(pkt)
	if err != nil {
		return nil // more packets needed, or a loss: the decoder resyncs itself
	}
	if t := v.params(au); t != nil {
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

// audioIn turns RTP packets of one AAC, Opus or G.711 media into units.
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
		return nil, fmt.Errorf("audio codec %s is not taken", f.Codec())
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
