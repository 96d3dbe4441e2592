package rtmp

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/protocols/rtmp"
	"switchyard/media"
	"switchyard/output/serve"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x23, 0xc5, 0x0a, 0xa8}
	testPPS = []byte{0x68, 0xce, 0x0f, 0xc8}
)

// videoTagSeen is what a player was sent in a video message.
type videoTagSeen struct {
	PacketType int
	Key        bool
}

// TestPublishThenPlay: a publisher on live/cam1 goes into the registry's
// source; a player of cam1 gets it from the path table — the
// sequence header, then the pictures from a key frame; an
// unknown application is refused; Close ends both connections and leaves
// no goroutine.
func TestPublishThenPlay(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	to := rtmp.Timeouts{Connect: 10 * time.Second, Write: 5 * time.Second}
	target := func(path string) rtmp.Target {
		tg, err := rtmp.ParseTarget("rtmp://" + s.Addr().String() + "/" + path)
		require.NoError(t, err)
		return tg
	}

	_, err = rtmp.Publish(ctx, target("other/cam1"), nil, to)
	require.Error(t, err, "an application that is not live")

	pub, err := rtmp.Publish(ctx, target("live/cam1"), nil, to)
	require.NoError(t, err)
	defer pub.Close()
	track, err := media.NewH264Track(testSPS, testPPS, 0)
	require.NoError(t, err)
	sh, err := rtmp.AVCSequenceHeaderTag(track)
	require.NoError(t, err)
	require.NoError(t, pub.WriteMessage(rtmp.CSIDVideo, rtmp.MsgVideo, pub.StreamID(), 0, sh))
	frame := 0
	send := func() {
		u := &media.Unit{Track: track, Key: frame%10 == 0, Data: [][]byte{{0x41, 0x9a, 0x02, byte(frame)}}}
		if u.Key {
			u.Data = [][]byte{{0x65, 0x88, 0x84, 0x00, 0x33}}
		}
		require.NoError(t, pub.WriteMessage(rtmp.CSIDVideo, rtmp.MsgVideo, pub.StreamID(), uint32(frame*33), rtmp.AVCFrameTag(u)))
		frame++
	}
	for deadline := time.Now().Add(10 * time.Second); src.Stream().UnitsWritten() < 3; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the publisher's pictures never reached the source")
		send()
	}
	require.Equal(t, ingest.StateLive, src.Status().State)

	play, err := rtmp.Play(ctx, target("live/cam1"), nil, to)
	require.NoError(t, err)
	defer play.Close()
	go func() { // the publisher goes on while the player reads; the player's reads bound the test
		for ctx.Err() == nil && frame < 400 {
			send()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	require.NoError(t, play.SetReadDeadline(time.Now().Add(10*time.Second)))
	var videos []videoTagSeen
	for len(videos) < 3 {
		typ, _, _, payload, err := play.ReadMessage()
		require.NoError(t, err)
		if typ != rtmp.MsgVideo {
			continue
		}
		tag, err := rtmp.ParseVideoTag(payload)
		require.NoError(t, err)
		videos = append(videos, videoTagSeen{tag.PacketType, tag.Key})
	}
	require.Equal(t, []videoTagSeen{{rtmp.AVCSequenceHeader, true}, {rtmp.AVCNALU, true}, {rtmp.AVCNALU, false}}, videos,
		"the sequence header, then pictures from a key frame")

	cancel()
	s.Close()
	closed = true
	pub.Close()
	play.Close()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "goroutines left after Close: %d, before %d", runtime.NumGoroutine(), before)
	}
}
