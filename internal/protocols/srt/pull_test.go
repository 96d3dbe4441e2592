package srt

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"
	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// sink is a media.Publisher that counts what it gets.
type sink struct {
	units  atomic.Int64
	closed atomic.Bool
}

func (s *sink) SetTracks(...*media.Track) {}
func (s *sink) WriteUnit(*media.Unit)     { s.units.Add(1) }
func (s *sink) SetWarning(string)         {}
func (s *sink) Malformed()                {}
func (s *sink) OnKick(func())             {}
func (s *sink) Close()                    { s.closed.Store(true) }

// remote is an SRT listener on loopback that sends ts to its first caller,
// then keeps the link up (SRT keep-alives) and sends nothing more.
func remote(t *testing.T, ts []byte) string {
	t.Helper()
	ln, err := gosrt.Listen("srt", "127.0.0.1:0", gosrt.DefaultConfig())
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, err := ln.Accept2()
		if err != nil {
			return
		}
		c, err := req.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for len(ts) > 0 {
			n := min(len(ts), 7*188)
			if _, err := c.Write(ts[:n]); err != nil {
				return
			}
			ts = ts[n:]
			time.Sleep(time.Millisecond) // paced: gosrt's send queue is bounded
		}
		buf := make([]byte, 1500)
		for { // until the caller or the test ends it
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// tsClip is a second of H.264 in MPEG-TS, by ffmpeg.
func tsClip(t *testing.T) []byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=64x48:r=30",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", "-f", "mpegts", "-").Output()
	require.NoError(t, err, "ffmpeg (make deps installs it)")
	require.Zero(t, len(out)%188)
	return out
}

// pull runs one Pull against addr and returns its error, within a bound.
func pull(t *testing.T, addr string, readTimeout time.Duration, pub *sink) error {
	t.Helper()
	done := make(chan error, 1)
	published := 0
	go func() {
		done <- Pull(context.Background(), PullConfig{URL: "srt://" + addr + "?latency=50", ConnectTimeout: 3 * time.Second,
			ReadTimeout: readTimeout, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
			func(link func() Stats) (media.Publisher, error) {
				published++
				require.Positive(t, link().PacketsReceived, "the link's statistics come from the connection")
				return pub, nil
			})
	}()
	select {
	case err := <-done:
		if pub.units.Load() > 0 {
			require.Equal(t, 1, published)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the pull did not end")
		return nil
	}
}

// TestPullDropsASilentRemote: a remote that keeps the link up but sends
// nothing (SRT's keep-alives would hold it for ever) is dropped after the
// read timeout, whether it never sent a stream (told as no media) or
// stopped in the middle (a feed lost).
func TestPullDropsASilentRemote(t *testing.T) {
	pub := &sink{}
	err := pull(t, remote(t, nil), 500*time.Millisecond, pub)
	require.EqualError(t, err, "no media: the remote took the call and sent no stream for 500ms (is anything publishing to that stream id?)",
		"never had a feed: not told as lost")
	require.Zero(t, pub.units.Load(), "never published")

	pub = &sink{}
	err = pull(t, remote(t, tsClip(t)), 500*time.Millisecond, pub)
	require.EqualError(t, err, "feed lost: nothing came for 500ms")
	require.Greater(t, pub.units.Load(), int64(10), "the pictures sent were published")
	require.True(t, pub.closed.Load(), "the source was let go")
}

// TestDialBounded: a call nobody answers ends at the handshake timeout,
// saying so.
func TestDialBounded(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, and never answers
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	_, err = Dial(Target{Addr: c.LocalAddr().String()}, 300*time.Millisecond)
	require.ErrorContains(t, err, "no answer within 300ms: is an SRT listener on that UDP port")
	require.Less(t, time.Since(start), 10*time.Second)
}
