// Package whiptest is a WHIP publisher for tests, made with pion: H.264
// and Opus made by ffmpeg, sent in real time.
package whiptest

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
	"github.com/stretchr/testify/require"

	swmedia "switchyard/media"
)

// Media makes, with ffmpeg, 4 s of H.264 (constrained baseline, a key
// frame a second, 25 fps) as Annex B and of Opus (a 1 kHz tone) in Ogg.
func Media(t testing.TB) (h264, opus string) {
	t.Helper()
	return MediaOf(t, "testsrc2=size=320x240:rate=25", "sine=frequency=1000:sample_rate=48000", 4, 25)
}

// MediaOf makes, with ffmpeg, secs seconds of H.264 (constrained baseline,
// a key frame every gop pictures) of the lavfi graph video, which must run
// at 25 fps (the client sends a picture every 40 ms), as Annex B, and of
// Opus (20 ms frames, stereo, 48 kHz) of the lavfi graph audio, in Ogg.
func MediaOf(t testing.TB, video, audio string, secs, gop int) (h264, opus string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	dir := t.TempDir()
	h264, opus = filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", video, "-t", strconv.Itoa(secs),
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop),
		"-sc_threshold", "0", "-bsf:v", "h264_mp4toannexb", "-f", "h264", h264).CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", audio, "-t", strconv.Itoa(secs),
		"-ac", "2", "-c:a", "libopus", "-frame_duration", "20", "-page_duration", "20000", opus).CombinedOutput()
	require.NoError(t, err, string(out))
	return h264, opus
}

// Client is a WHIP publisher made with pion: an H.264 and an Opus track
// sent in real time from testMedia's files, over and over.
//
// Like a browser, it answers NACKs with the packets asked for (pion's
// NACK responder, which needs the senders' RTCP read: the client reads
// it) and sends RTCP sender reports (NTP ↔ RTP of each track, once a
// second).
type Client struct {
	// PC is the client's peer connection.
	PC *webrtc.PeerConnection
	// KeyOnPLI, set before Send, answers a PLI as an encoder does, with a
	// key frame: the video file starts again (it starts with one).
	KeyOnPLI bool
	// PLIs and NACKs count the requests received.
	PLIs, NACKs atomic.Int64
	video       *webrtc.TrackLocalStaticSample
	audio       *webrtc.TrackLocalStaticSample
	senders     []*webrtc.RTPSender
	pli         chan struct{}
	cancel      context.CancelFunc
	wg          sync.WaitGroup // the senders of media
	rtcp        sync.WaitGroup // the readers of RTCP
}

// New makes a publisher whose offer has the given video codec
// (webrtc.MimeTypeH264 or MimeTypeVP8), the one it sends, and Opus;
// alsoOffer are video codecs offered before it (and not sent).
func New(t testing.TB, videoMime string, alsoOffer ...string) *Client {
	t.Helper()
	return NewOver(t, webrtc.NetworkTypeUDP4, videoMime, alsoOffer...)
}

// NewOver is New with the client's candidates of one network type only
// (webrtc.NetworkTypeTCP4: a peer whose UDP is blocked).
func NewOver(t testing.TB, network webrtc.NetworkType, videoMime string, alsoOffer ...string) *Client {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{network})
	me := &webrtc.MediaEngine{}
	for i, m := range alsoOffer {
		require.NoError(t, me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: webrtc.PayloadType(120 + i),
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: m, ClockRate: 90000}}, webrtc.RTPCodecTypeVideo))
	}
	registerVideoAndOpus(t, me, videoMime)
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	c := &Client{PC: pc, pli: make(chan struct{}, 1)}
	t.Cleanup(c.Close)
	c.video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: videoMime}, "video", "test")
	require.NoError(t, err)
	c.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "test")
	require.NoError(t, err)
	for _, tr := range []webrtc.TrackLocal{c.video, c.audio} {
		tc, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		require.NoError(t, err)
		c.senders = append(c.senders, tc.Sender())
	}
	return c
}

// readRTCP reads each sender's RTCP (through the interceptors: the NACK
// responder answers NACKs as they are read) until the peer connection
// closes, counting PLIs and NACKs.
func (c *Client) readRTCP() {
	for _, s := range c.senders {
		c.rtcp.Add(1)
		go func() {
			defer c.rtcp.Done()
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication:
						c.PLIs.Add(1)
						select {
						case c.pli <- struct{}{}:
						default:
						}
					case *rtcp.TransportLayerNack:
						c.NACKs.Add(1)
					}
				}
			}
		}()
	}
}

// Offer returns the client's offer with every candidate.
func (c *Client) Offer(t testing.TB) []byte {
	t.Helper()
	return offer(t, c.PC, "client")
}

// Send takes the server's answer and sends the files in real time until closed.
func (c *Client) Send(t testing.TB, answer, h264, opus string) {
	t.Helper()
	require.NoError(t, c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}))
	c.readRTCP()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	var pli <-chan struct{}
	if c.KeyOnPLI {
		pli = c.pli
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		loop(ctx, func() error { return sendH264(ctx, c.video, h264, pli) })
	}()
	go func() {
		defer c.wg.Done()
		loop(ctx, func() error { return sendOpus(ctx, c.audio, opus) })
	}()
}

func loop(ctx context.Context, f func() error) {
	for ctx.Err() == nil {
		if err := f(); err != nil {
			return
		}
	}
}

// Close stops sending and closes the peer connection.
func (c *Client) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	_ = c.PC.Close()
	c.rtcp.Wait()
}

// pace waits until due, or ctx ends.
func pace(ctx context.Context, t *time.Timer, due time.Time) error {
	t.Reset(time.Until(due))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sendH264 sends the file's pictures, one every 40 ms from now (the
// first at once), and returns at its end or, when pli says so, at once
// (to start again with the key frame the file starts with).
func sendH264(ctx context.Context, tr *webrtc.TrackLocalStaticSample, path string, pli <-chan struct{}) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		return err
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	start := time.Now()
	var au []byte
	for n := 0; ; {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		au = append(au, append([]byte{0, 0, 0, 1}, nal.Data...)...)
		// a picture ends the access unit (SPS and PPS go with the next one)
		if nal.UnitType != h264reader.NalUnitTypeSPS && nal.UnitType != h264reader.NalUnitTypePPS && nal.UnitType != h264reader.NalUnitTypeSEI {
			if err := pace(ctx, t, start.Add(time.Duration(n)*40*time.Millisecond)); err != nil {
				return err
			}
			select {
			case <-pli:
				return nil
			default:
			}
			if err := tr.WriteSample(media.Sample{Data: au, Duration: 40 * time.Millisecond}); err != nil {
				return err
			}
			au = nil
			n++
		}
	}
}

func sendOpus(ctx context.Context, tr *webrtc.TrackLocalStaticSample, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return err
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	start := time.Now()
	var last uint64
	for {
		page, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if hdr.GranulePosition == 0 {
			continue // the Ogg Opus headers
		}
		d := time.Duration(hdr.GranulePosition-last) * time.Second / 48000
		if err := pace(ctx, t, start.Add(time.Duration(last)*time.Second/48000)); err != nil {
			return err
		}
		last = hdr.GranulePosition
		if err := tr.WriteSample(media.Sample{Data: page, Duration: d}); err != nil {
			return err
		}
	}
}

// Answered takes the server's answer and returns what sends units of
// H.264 video (a camera of the test's own, e.g. internal/flashprobe's)
// on the client's video track, each as one sample lasting until the next.
func (c *Client) Answered(t testing.TB, answer string) func(*swmedia.Unit) {
	t.Helper()
	require.NoError(t, c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}))
	var last time.Duration
	var buf []byte
	return func(u *swmedia.Unit) {
		if u.Track.Kind != swmedia.KindVideo {
			return
		}
		d := time.Second / 30
		if last != 0 && u.PTS > last {
			d = u.PTS - last
		}
		last = u.PTS
		buf = buf[:0]
		for _, n := range u.Data {
			buf = append(append(buf, 0, 0, 0, 1), n...)
		}
		_ = c.video.WriteSample(media.Sample{Data: buf, Duration: d})
	}
}

// Viewer is a WHEP viewer made with pion: it receives one video and one
// Opus track and counts the packets.
type Viewer struct {
	// PC is the viewer's peer connection.
	PC *webrtc.PeerConnection
	// Video and Audio count the RTP packets received.
	Video, Audio atomic.Int64
	// VideoPackets gets the video's RTP packets while it has room (the
	// rest are counted only).
	VideoPackets chan *rtp.Packet
	codec        atomic.Value // string: the video's MIME type
}

// NewViewer makes a viewer that receives one video (of pion's default
// codecs: H.264, H.265, VP8, VP9, AV1) and one audio track.
func NewViewer(t testing.TB) *Viewer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	return newViewer(t, me)
}

// NewViewerOf makes a viewer whose offer has only the video codec
// videoMime (webrtc.MimeTypeH264, MimeTypeH265) and Opus.
func NewViewerOf(t testing.TB, videoMime string) *Viewer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	registerVideoAndOpus(t, me, videoMime)
	return newViewer(t, me)
}

func newViewer(t testing.TB, me *webrtc.MediaEngine) *Viewer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	v := &Viewer{PC: pc, VideoPackets: make(chan *rtp.Packet, 2048)}
	t.Cleanup(func() { _ = pc.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := &v.Video
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			n = &v.Audio
		} else {
			v.codec.Store(tr.Codec().MimeType)
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			n.Add(1)
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				select {
				case v.VideoPackets <- p:
				default:
				}
			}
		}
	})
	return v
}

// VideoCodec is the MIME type of the video received ("" before any).
func (v *Viewer) VideoCodec() string {
	c, _ := v.codec.Load().(string)
	return c
}

// Offer returns the viewer's offer with every candidate.
func (v *Viewer) Offer(t testing.TB) []byte {
	t.Helper()
	return offer(t, v.PC, "viewer")
}

// offer creates pc's offer and waits (at most 10 s) for every candidate.
func offer(t testing.TB, pc *webrtc.PeerConnection, who string) []byte {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(o))
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s gathering took over 10 s", who)
	}
	return []byte(pc.LocalDescription().SDP)
}

// Answered takes the server's answer.
func (v *Viewer) Answered(t testing.TB, answer string) {
	t.Helper()
	require.NoError(t, v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}))
}

// registerVideoAndOpus registers videoMime (H.264 in packetization mode 1
// at Constrained Baseline 3.1, or as it is) as payload type 96 and Opus as
// 111, as browsers offer them.
func registerVideoAndOpus(t testing.TB, me *webrtc.MediaEngine, videoMime string) {
	t.Helper()
	fmtp := ""
	if videoMime == webrtc.MimeTypeH264 {
		fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	}
	require.NoError(t, me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: videoMime, ClockRate: 90000, SDPFmtpLine: fmtp}}, webrtc.RTPCodecTypeVideo))
	require.NoError(t, me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}, webrtc.RTPCodecTypeAudio))
}
