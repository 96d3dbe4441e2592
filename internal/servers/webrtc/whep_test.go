package webrtc

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/internal/servers/webrtc/whiptest"
	"switchyard/output/serve"
)

// viewerClient is a pion WHEP viewer that counts the RTP packets of each kind.
type viewerClient struct {
	pc           *webrtc.PeerConnection
	video, audio atomic.Int64
}

func newViewer(t *testing.T) (*viewerClient, []byte) {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	v := &viewerClient{pc: pc}
	t.Cleanup(func() { _ = pc.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := &v.video
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			n = &v.audio
		}
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			n.Add(1)
		}
	})
	o, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	g := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(o))
	select {
	case <-g:
	case <-time.After(10 * time.Second):
		t.Fatal("viewer gathering took over 10 s")
	}
	return v, []byte(pc.LocalDescription().SDP)
}

// TestWHEPViewers: two viewers of a source published over WHIP get its
// video and its Opus from one feed; the read key is checked; the feed
// stops when the last viewer leaves; nothing is left after Close.
func TestWHEPViewers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h264, opus := whiptest.Media(t)
	paths := serve.NewTable()
	s := &Server{Paths: paths, ReadKey: "show-key"}
	reg := startServer(t, s, ingest.SourceConfig{Name: "guest", ReadKey: "guest-key"})
	src, _ := reg.Get("guest")
	require.NoError(t, paths.Add("live/guest", src.Stream()))

	c := whiptest.New(t, webrtc.MimeTypeH264)
	a, err := s.Publish("guest", "", c.Offer(t))
	require.NoError(t, err)
	c.Send(t, a.SDP, h264, opus)

	v1, o1 := newViewer(t)
	_, err = s.Play("guest", "show-key", o1)
	require.ErrorIs(t, err, fault.Forbidden, "the source's own read key, not the show's")
	_, err = s.Play("nobody", "show-key", o1)
	require.ErrorIs(t, err, fault.NotFound)

	a1, err := s.Play("guest", "guest-key", o1)
	require.NoError(t, err)
	require.NoError(t, v1.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a1.SDP}))
	v2, o2 := newViewer(t)
	a2, err := s.Play("guest", "guest-key", o2)
	require.NoError(t, err)
	require.NoError(t, v2.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a2.SDP}))

	for _, v := range []*viewerClient{v1, v2} {
		waitFor(t, 20*time.Second, "video and audio at the viewer", func() bool { return v.video.Load() > 50 && v.audio.Load() > 50 })
	}
	s.mu.Lock()
	feeds := len(s.feeds)
	s.mu.Unlock()
	require.Equal(t, 1, feeds, "one feed for both viewers")

	require.NoError(t, s.StopPlay("guest", a1.ID))
	require.ErrorIs(t, s.StopPlay("guest", a1.ID), fault.NotFound)
	require.NoError(t, s.StopPlay("guest", a2.ID))
	s.mu.Lock()
	feeds = len(s.feeds)
	s.mu.Unlock()
	require.Zero(t, feeds, "the feed stops with its last viewer")
	_ = v1.pc.Close()
	_ = v2.pc.Close()
	c.Close()
	s.Close()
}
