package rtsp

import (
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/output/serve"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x23, 0xc5, 0x0a, 0xa8}
	testPPS = []byte{0x68, 0xce, 0x0f, 0xc8}
)

// TestPublishThenRead: a publisher's RECORD on live/cam1 goes into the
// registry's source; the path table serves that source's stream, and a
// reader that DESCRIBEs and PLAYs live/cam1 gets its RTP, counted as a
// watcher while it plays; Close ends every session and leaves no goroutine.
func TestPublishThenRead(t *testing.T) {
	before := runtime.NumGoroutine()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := ingest.NewRegistry(log)
	src, err := reg.Add(ingest.SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	paths := serve.NewTable()
	require.NoError(t, paths.Add("live/cam1", src.Stream()))
	s := &Server{Address: "127.0.0.1:0", Registry: reg, Paths: paths, Log: log}
	require.NoError(t, s.Start())
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	url := "rtsp://" + s.Addr().String() + "/live/cam1"

	// the publisher: an H.264 camera
	f := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: testSPS, PPS: testPPS}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{f}}}}
	tcp := gortsplib.ProtocolTCP // no UDP listeners here
	pub := &gortsplib.Client{Protocol: &tcp}
	require.NoError(t, pub.StartRecording(url, desc))
	defer pub.Close()
	enc, err := f.CreateEncoder()
	require.NoError(t, err)
	frame := 0
	send := func() {
		au := [][]byte{{0x41, 0x9a, 0x02, byte(frame)}}
		if frame%10 == 0 {
			au = [][]byte{testSPS, testPPS, {0x65, 0x88, 0x84, 0x00, 0x33}}
		}
		pkts, err := enc.Encode(au)
		require.NoError(t, err)
		for _, p := range pkts {
			p.Timestamp = uint32(frame * 3000)
			require.NoError(t, pub.WritePacketRTP(desc.Medias[0], p))
		}
		frame++
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); {
			require.True(t, time.Now().Before(deadline), "waited 10 s for %s", what)
			send()
			time.Sleep(20 * time.Millisecond) // a camera's pace; the condition is polled, not slept on
		}
	}
	waitFor("the publisher's units in the source", func() bool { return src.Stream().UnitsWritten() >= 3 })
	require.Equal(t, ingest.StateLive, src.Status().State)
	waitFor("live/cam1 described", func() bool { _, err := s.ServerStream("live/cam1"); return err == nil })

	// the reader
	u, err := base.ParseURL(url)
	require.NoError(t, err)
	rd := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	require.NoError(t, rd.Start())
	defer rd.Close()
	rdesc, _, err := rd.Describe(u)
	require.NoError(t, err)
	require.NoError(t, rd.SetupAll(rdesc.BaseURL, rdesc.Medias))
	var got atomic.Int64
	rd.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) { got.Add(1) })
	_, err = rd.Play(nil)
	require.NoError(t, err)
	waitFor("RTP at the reader", func() bool { return got.Load() >= 5 })
	readers, served := s.Readers("live/cam1")
	require.Equal(t, 1, readers)
	require.Positive(t, served)

	s.Close()
	closed = true
	rd.Close()
	pub.Close()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "goroutines left after Close: %d, before %d", runtime.NumGoroutine(), before)
	}
}
