package webrtc

import (
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

	v1 := whiptest.NewViewer(t)
	o1 := v1.Offer(t)
	_, err = s.Play("guest", "show-key", o1)
	require.ErrorIs(t, err, fault.Forbidden, "the source's own read key, not the show's")
	_, err = s.Play("nobody", "show-key", o1)
	require.ErrorIs(t, err, fault.NotFound)

	a1, err := s.Play("guest", "guest-key", o1)
	require.NoError(t, err)
	v1.Answered(t, a1.SDP)
	v2 := whiptest.NewViewer(t)
	a2, err := s.Play("guest", "guest-key", v2.Offer(t))
	require.NoError(t, err)
	v2.Answered(t, a2.SDP)

	for _, v := range []*whiptest.Viewer{v1, v2} {
		waitFor(t, 20*time.Second, "video and audio at the viewer", func() bool { return v.Video.Load() > 50 && v.Audio.Load() > 50 })
	}
	s.mu.Lock()
	feeds := len(s.feeds)
	f1, f2 := s.viewers[a1.ID].feed, s.viewers[a2.ID].feed
	s.mu.Unlock()
	require.Equal(t, 1, feeds)
	require.Same(t, f1, f2, "one feed (one transcode) for both viewers")

	require.NoError(t, s.StopPlay("guest", a1.ID))
	require.ErrorIs(t, s.StopPlay("guest", a1.ID), fault.NotFound)
	require.NoError(t, s.StopPlay("guest", a2.ID))
	s.mu.Lock()
	feeds = len(s.feeds)
	s.mu.Unlock()
	require.Zero(t, feeds, "the feed stops with its last viewer")
	_ = v1.PC.Close()
	_ = v2.PC.Close()
	c.Close()
	s.Close()
}
