// Package webrtc runs Switchyard's WebRTC ingest: WHIP publishers (a
// browser on the guest page, OBS's WHIP output, hardware encoders) send
// H.264 and Opus over one UDP port shared by every session (pion's ICE UDP
// mux), and their media goes into the ingest registry like every other
// publisher's. pion/webrtc is the WebRTC stack; the RTP of each track is
// turned into units by internal/protocols/rtsp's Receiver.
// Spec: WHIP, RFC 9725 (https://www.rfc-editor.org/rfc/rfc9725).
package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/intervalpli"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/internal/protocols/whip"
	"switchyard/output/serve"
)

// ICEServer is a STUN or TURN server (whip.ICEServer).
type ICEServer = whip.ICEServer

// Answer is what an offer gets back (whip.Answer).
type Answer = whip.Answer

// Counts are the server's counters (whip.Counts).
type Counts = whip.Counts

// Server is the WebRTC ingest: WHIP sessions on one UDP port.
type Server struct {
	// UDP is the address of the one UDP port all media goes through,
	// e.g. ":8189"; the host, when given, must be an IP address.
	UDP string
	// PublicIPs are the addresses clients reach the UDP port at, when it
	// is behind a NAT with a 1:1 mapping (they replace the host
	// candidates' addresses); empty announces the host's own addresses.
	PublicIPs []string
	// ICEServers are STUN/TURN servers (webrtc.stun, webrtc.turn).
	ICEServers []ICEServer
	// Registry the publishers publish into.
	Registry *ingest.Registry
	// Log is the component logger.
	Log *slog.Logger
	// HandshakeTimeout closes a session whose ICE and DTLS have not
	// connected this long after its answer (counted as abandoned);
	// defaults to 10s.
	HandshakeTimeout time.Duration
	// FailedTimeout is how long a connected session may hear nothing from
	// its peer before ICE fails and the session ends; defaults to 10s.
	FailedTimeout time.Duration
	// MaxSessions caps the sessions open at once (WHIP and WHEP);
	// defaults to 64.
	MaxSessions int
	// Paths are what WHEP viewers watch (program, preview, live/NAME);
	// nil refuses them.
	Paths *serve.Table
	// ReadKey, when set, is the bearer WHEP viewers give for the program,
	// the preview and every source without its own read_key.
	ReadKey string

	conn   net.PacketConn
	mux    *ice.UDPMuxDefault
	tcp    net.Listener // ICE over TCP on the UDP port's number: for peers whose UDP is blocked
	tcpMux ice.TCPMux
	api    *webrtc.API
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*session
	viewers  map[string]*viewer
	feeds    map[string]*feed
	closed   bool

	counts Counts
	fb     *feedbackFactory // each peer connection's RTCP feedback counts
}

// NACK generation: how soon, and how many times, a lost packet is asked for
// (see mediaEngine).
const (
	nackInterval = 20 * time.Millisecond
	nackTries    = 3
)

// DefaultMaxSessions caps the sessions of a server whose setting is 0.
const DefaultMaxSessions = 64

// Errors a WHIP request is refused with, of their kinds in the one error
// vocabulary (fault).
var (
	ErrNoSession = fault.New(fault.NotFound, "no such WHIP session (it ended, or never was): POST a new offer to /whip/{source}")
	ErrFull      = fault.New(fault.Unavailable, "too many WebRTC sessions open: end one, or raise the cap")
	ErrClosed    = fault.New(fault.Unavailable, "the WebRTC server is shutting down")
)

// Start opens the UDP port (and the same port number over TCP, for ICE
// over TCP) and readies the WebRTC stack.
func (s *Server) Start() error {
	if s.HandshakeTimeout == 0 {
		s.HandshakeTimeout = 10 * time.Second
	}
	if s.FailedTimeout == 0 {
		s.FailedTimeout = 10 * time.Second
	}
	if s.MaxSessions == 0 {
		s.MaxSessions = DefaultMaxSessions
	}
	s.Log = s.Log.With("component", "ingest.webrtc")
	conn, tcp, err := listenPorts(s.UDP)
	if err != nil {
		return err
	}
	s.conn, s.tcp = conn, tcp
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	s.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: lf.NewLogger("udpmux")})
	s.tcpMux = webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), tcp, 64)
	var se webrtc.SettingEngine
	se.LoggerFactory = lf
	se.SetICEUDPMux(s.mux)
	se.SetICETCPMux(s.tcpMux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(s.FailedTimeout/2, s.FailedTimeout, 2*time.Second)
	if len(s.PublicIPs) > 0 {
		se.SetNAT1To1IPs(s.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	s.fb = &feedbackFactory{}
	me, ir, err := mediaEngine(lf, s.fb)
	if err != nil {
		s.closePorts()
		return err
	}
	s.api = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	s.sessions = map[string]*session{}
	s.viewers, s.feeds = map[string]*viewer{}, map[string]*feed{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.Log.Info("listening", "udp", conn.LocalAddr().String(), "tcp", tcp.Addr().String(), "public_ips", s.PublicIPs)
	return nil
}

// mediaEngine is what Switchyard takes: H.264 (packetization mode 1, the
// profiles browsers and OBS send) and Opus, with NACK, PLI and FIR
// towards the sender, RTCP reports, and a PLI every 3 s so a decoder
// that lost its reference gets a key frame soon. counter counts the feedback
// sent (first in the chain, so it sees every interceptor's).
//
// A lost packet is asked for again within nackInterval of the gap being
// seen, and at most nackTries times: pion's default (every 100 ms, no
// limit) brings the retransmission back after the reorder buffer gave up
// on it (reorderWait) whenever the round trip is over 50 ms, and keeps
// asking for a packet until the round trip has passed.
func mediaEngine(lf logging.LoggerFactory, counter *feedbackFactory) (*webrtc.MediaEngine, *interceptor.Registry, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range append(h264Codecs(), h265Codec) {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, err
		}
	}
	err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio)
	if err != nil {
		return nil, nil, err
	}
	ir := &interceptor.Registry{}
	ir.Add(counter)
	pli, err := intervalpli.NewReceiverInterceptor(intervalpli.GeneratorInterval(3 * time.Second))
	if err != nil {
		return nil, nil, err
	}
	ir.Add(pli)
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, ir, webrtc.WithInterceptorLoggerFactory(lf),
		webrtc.WithNackGeneratorOptions(nack.GeneratorInterval(nackInterval), nack.GeneratorMaxNacksPerPacket(nackTries))); err != nil {
		return nil, nil, err
	}
	return me, ir, nil
}

// videoFeedback is the RTCP feedback taken and given on video.
var videoFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}

// h264Codecs are the H.264 profiles taken from WHIP publishers and sent to
// WHEP viewers (packetization mode 1).
func h264Codecs() []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for i, profile := range []string{"42e01f", "42001f", "4d001f", "640032", "64001f"} {
		out = append(out, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile, RTCPFeedback: videoFeedback},
			PayloadType: webrtc.PayloadType(102 + 2*i),
		})
	}
	return out
}

// h265Codec is H.265 (Main profile, RFC 7798; draft-ietf-avtcore-hevc-webrtc
// for its WebRTC parameters), sent to WHEP viewers of a stream whose video
// is H.265 (a camera that came in with it). WHIP publishers are held to
// H.264 (session.answer).
var h265Codec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH265, ClockRate: 90000,
		SDPFmtpLine: "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST", RTCPFeedback: videoFeedback},
	PayloadType: 116,
}

// Addr returns the UDP port's address.
func (s *Server) Addr() net.Addr { return s.conn.LocalAddr() }

// Stats returns the server's counters.
func (s *Server) Stats() *Counts { return &s.counts }

// Open returns the number of sessions open.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions) + len(s.viewers)
}

// pionICEServers are ICEServers as pion takes them.
func (s *Server) pionICEServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(s.ICEServers))
	for _, is := range s.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return out
}

// Close ends every session and closes the UDP port; safe twice.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed || s.cancel == nil {
		s.mu.Unlock()
		return
	}
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	vs := make([]*viewer, 0, len(s.viewers))
	for _, v := range s.viewers {
		vs = append(vs, v)
	}
	s.mu.Unlock()
	s.cancel()
	for _, ss := range all {
		ss.close("server closing")
	}
	for _, v := range vs {
		v.close("server closing")
	}
	s.wg.Wait()
	s.closePorts()
}

// listenPorts opens addr over UDP and the same address over TCP (passive
// ICE over TCP, for peers behind a firewall that lets no UDP out). With
// port 0 it tries other ports until both are free.
func listenPorts(addr string) (*net.UDPConn, *net.TCPListener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc udp %s: %w", addr, err)
	}
	for try := 0; ; try++ {
		conn, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, nil, fmt.Errorf("webrtc udp %s: %w", addr, err)
		}
		la := conn.LocalAddr().(*net.UDPAddr)
		tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: la.IP, Port: la.Port, Zone: la.Zone})
		if err == nil {
			return conn, tcp, nil
		}
		conn.Close()
		if ua.Port != 0 || try == 20 {
			return nil, nil, fmt.Errorf("webrtc tcp %s (ICE over TCP listens on the UDP port's number: free it, or choose another webrtc.udp): %w", la, err)
		}
	}
}

// closePorts closes the muxes and the ports they read.
func (s *Server) closePorts() {
	s.mux.Close()
	s.conn.Close()
	_ = s.tcpMux.Close()
	s.tcp.Close()
}

// newID returns a session id: 16 random bytes in hex.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// add registers a session, refusing it over MaxSessions or after Close.
func (s *Server) add(ss *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case len(s.sessions)+len(s.viewers) >= s.MaxSessions:
		return ErrFull
	}
	s.sessions[ss.id] = ss
	return nil
}

// remove forgets a session (its close calls it).
func (s *Server) remove(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
	s.mu.Unlock()
}

// lookup finds the session id of source.
func (s *Server) lookup(source, id string) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok || ss.source != source {
		return nil, ErrNoSession
	}
	return ss, nil
}

// End ends the session id of source (WHIP's DELETE).
func (s *Server) End(source, id string) error {
	ss, err := s.lookup(source, id)
	if err != nil {
		return err
	}
	ss.close("ended by the publisher")
	return nil
}

// isRefusal reports whether err is the publisher's fault (counted as a
// refusal) rather than the server's.
func isRefusal(err error) bool {
	var inv *fault.Invalid
	return errors.As(err, &inv) || errors.Is(err, fault.Forbidden) || errors.Is(err, fault.Conflict) || errors.Is(err, fault.NotFound)
}
