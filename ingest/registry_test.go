package ingest

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/internal/fault"
	"switchyard/internal/protocols/srt"
	"switchyard/media"
)

func TestPublishClaims(t *testing.T) {
	r := NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, err := r.Add(SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	_, err = r.Add(SourceConfig{Name: "cam2", PublishKey: "s3cret"})
	require.NoError(t, err)
	_, err = r.Add(SourceConfig{Name: "cam1"})
	require.ErrorIs(t, err, ErrExists)
	_, err = r.Add(SourceConfig{Name: "Bad Name"})
	var fe *fault.Invalid
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "name", fe.Field)

	_, err = r.Publish("nosuch", "", "rtmp")
	require.ErrorIs(t, err, ErrUnknownSource)
	_, err = r.Publish("cam2", "", "rtmp")
	require.ErrorIs(t, err, ErrBadKey)
	_, err = r.Publish("cam2", "wrong", "rtmp")
	require.ErrorIs(t, err, ErrBadKey)

	p, err := r.Publish("cam1", "", "rtmp")
	require.NoError(t, err)
	_, err = r.Publish("cam1", "", "rtsp")
	require.ErrorIs(t, err, ErrBusy, "a second publisher is refused while the first is live")

	s, _ := r.Get("cam1")
	rd := s.Stream().NewReader(8)
	defer rd.Close()
	vt := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, Width: 640, Height: 360, FPS: 25}
	p.WriteUnit(&media.Unit{Track: vt, Key: true, Data: [][]byte{{0x65, 1, 2}}})
	st := s.Status()
	require.Equal(t, StateLive, st.State)
	require.Equal(t, &VideoStatus{Codec: "h264", Width: 640, Height: 360, FPS: 25}, st.Video)
	require.Equal(t, uint64(1), s.Stream().UnitsWritten())

	p.Close()
	p.Close()
	require.Equal(t, StateOffline, s.Status().State)
	p.WriteUnit(&media.Unit{Track: vt, Key: true}) // after close: ignored
	require.Equal(t, uint64(1), s.Stream().UnitsWritten())

	p2, err := r.Publish("cam1", "", "rtsp")
	require.NoError(t, err, "the name is free again once the first publisher left")
	defer p2.Close()
	p3, err := r.Publish("cam2", "s3cret", "rtmp")
	require.NoError(t, err)
	p3.Close()
	require.Equal(t, uint64(2), func() uint64 { s, _ := r.Get("cam2"); return s.Status().Refused }())
}

// An SRT publisher's link shows in its source's status while it is on,
// and goes with it: the next publisher's status has none of it.
func TestPublisherLink(t *testing.T) {
	r := NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, err := r.Add(SourceConfig{Name: "cam1", Takeover: true})
	require.NoError(t, err)
	s, _ := r.Get("cam1")
	p, err := r.Publish("cam1", "", "srt")
	require.NoError(t, err)
	require.Nil(t, s.Status().SRT)
	p.SetLink(func() srt.Stats { return srt.Stats{RTTMs: 40, LatencyMs: 200, PacketsLost: 3} })
	st := s.Status()
	require.NotNil(t, st.SRT)
	require.Equal(t, srt.Stats{RTTMs: 40, LatencyMs: 200, PacketsLost: 3}, *st.SRT)

	p2, err := r.Publish("cam1", "", "rtmp") // takes over
	require.NoError(t, err)
	p.SetLink(func() srt.Stats { return srt.Stats{RTTMs: 1} }) // the old one's: ignored
	require.Nil(t, s.Status().SRT, "the RTMP publisher that took over has no SRT link")
	p2.Close()
	require.Nil(t, s.Status().SRT)
}
