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
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
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
	s := &Server{Address: "127.0.0.1:0"}
	src := startWithSource(t, s)
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	url := "rtsp://" + s.Addr().String() + "/live/cam1"

	// the publisher: an H.264 camera
	pub, send := publishCamera(t, url, false)
	defer pub.Close()
	tcp := gortsplib.ProtocolTCP // no UDP listeners here
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

// TestReadersSetUpAtOnce: several players on one machine (one address)
// start reading a stream of two tracks over UDP at the same moment — a
// multiview wall's monitors after a restart. Each SETUPs its two tracks
// while the others SETUP theirs; every one plays. (gortsplib v5.6.4 read
// each reader's tracks while that reader added its second one — a data
// race on a map that could end the process: third_party/gortsplib.)
func TestReadersSetUpAtOnce(t *testing.T) {
	rtpAddr, rtcpAddr := testpeer.FreeUDPPair(t)
	s := &Server{Address: "127.0.0.1:0", UDPRTPAddress: rtpAddr, UDPRTCPAddress: rtcpAddr}
	startWithSource(t, s)
	defer s.Close()
	url := "rtsp://" + s.Addr().String() + "/live/cam1"
	pub, send := publishCamera(t, url, true)
	defer pub.Close()
	udp := gortsplib.ProtocolUDP
	stop, sent := make(chan struct{}), make(chan struct{})
	go func() { // the camera, at its pace, until the test ends
		defer close(sent)
		tk := time.NewTicker(33 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				send()
			}
		}
	}()
	defer func() { close(stop); <-sent }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := s.ServerStream("live/cam1"); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "live/cam1 never described")
	}

	u, err := base.ParseURL(url)
	require.NoError(t, err)
	const readers, rounds = 6, 3
	for round := range rounds {
		var got [readers]atomic.Int64
		clients := make([]*gortsplib.Client, readers)
		errs := make(chan error, readers)
		start := make(chan struct{})
		for i := range readers {
			c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &udp}
			clients[i] = c
			go func() {
				<-start
				if err := c.Start(); err != nil {
					errs <- err
					return
				}
				d, _, err := c.Describe(u)
				if err == nil {
					err = c.SetupAll(d.BaseURL, d.Medias)
				}
				if err == nil {
					c.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) { got[i].Add(1) })
					_, err = c.Play(nil)
				}
				errs <- err
			}()
		}
		close(start)
		for range readers {
			require.NoError(t, <-errs, "round %d: a reader's DESCRIBE, SETUPs or PLAY", round)
		}
		for i := range readers {
			for deadline := time.Now().Add(10 * time.Second); got[i].Load() < 5; time.Sleep(20 * time.Millisecond) {
				require.True(t, time.Now().Before(deadline), "round %d: reader %d got %d packets in 10 s", round, i, got[i].Load())
			}
		}
		n, _ := s.Readers("live/cam1")
		require.Equal(t, readers, n, "round %d: every reader counted", round)
		for _, c := range clients {
			c.Close()
		}
	}
}

// startWithSource starts s (its Address and UDP set by the caller) with a
// registry holding one source, cam1, served at live/cam1.
func startWithSource(t *testing.T, s *Server) *ingest.Source {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := ingest.NewRegistry(log)
	src, err := reg.Add(ingest.SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	paths := serve.NewTable()
	require.NoError(t, paths.Add("live/cam1", src.Stream()))
	s.Registry, s.Paths, s.Log = reg, paths, log
	require.NoError(t, s.Start())
	return src
}

// publishCamera RECORDs an H.264 camera (and AAC with audio) to url over
// TCP; each send writes its next frame (a key frame every 10).
func publishCamera(t *testing.T, url string, audio bool) (*gortsplib.Client, func()) {
	t.Helper()
	v := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: testSPS, PPS: testPPS}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{v}}}}
	a := &format.MPEG4Audio{PayloadTyp: 97, Config: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2},
		SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
	if audio {
		desc.Medias = append(desc.Medias, &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{a}})
	}
	tcp := gortsplib.ProtocolTCP
	pub := &gortsplib.Client{Protocol: &tcp}
	require.NoError(t, pub.StartRecording(url, desc))
	venc, err := v.CreateEncoder()
	require.NoError(t, err)
	aenc, err := a.CreateEncoder()
	require.NoError(t, err)
	frame := 0
	return pub, func() {
		au := [][]byte{{0x41, 0x9a, 0x02, byte(frame)}}
		if frame%10 == 0 {
			au = [][]byte{testSPS, testPPS, {0x65, 0x88, 0x84, 0x00, 0x33}}
		}
		pkts, err := venc.Encode(au)
		require.NoError(t, err)
		for _, p := range pkts {
			p.Timestamp = uint32(frame * 3000)
			require.NoError(t, pub.WritePacketRTP(desc.Medias[0], p))
		}
		if audio {
			apkts, err := aenc.Encode([][]byte{{0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c}})
			require.NoError(t, err)
			for _, p := range apkts {
				p.Timestamp = uint32(frame * 1600)
				require.NoError(t, pub.WritePacketRTP(desc.Medias[1], p))
			}
		}
		frame++
	}
}
