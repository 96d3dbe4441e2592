package push

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"

	"switchyard/internal/testpeer"
	"switchyard/media"
	"switchyard/media/av"
)

// program is a real H.264 + AAC stream made for a test: noisy 320x240 frames
// (so key frames span several chunks) and a tone, at real-time pace, with
// timestamps starting at base.
type program struct {
	stream *media.Stream
	video  *media.Track
	audio  *media.Track
	venc   *av.VideoEncoder
	aenc   *av.AudioEncoder
	frame  *av.Frame
}

func newProgram(t *testing.T) *program {
	venc, err := av.NewH264Encoder(av.H264Config{Width: 320, Height: 240, FPSNum: 30, FPSDen: 1, BitrateBPS: 3_000_000, GOP: 15, Preset: "ultrafast"})
	require.NoError(t, err)
	t.Cleanup(venc.Close)
	aenc, err := av.NewAACEncoder(48000, 96000)
	require.NoError(t, err)
	t.Cleanup(aenc.Close)
	frame, err := av.NewFrame(320, 240)
	require.NoError(t, err)
	t.Cleanup(frame.Free)
	video, err := media.H264TrackFromAnnexB(venc.Extradata(), 30)
	require.NoError(t, err)
	audio, err := media.NewAACTrack(aenc.Extradata())
	require.NoError(t, err)
	p := &program{stream: media.NewStream(), venc: venc, aenc: aenc, frame: frame, video: video, audio: audio}
	p.stream.SetTracks(p.video, p.audio)
	return p
}

// run publishes frames n0..n1-1 at 30 fps real time, with audio, timestamps base + n/30 s.
func (p *program) run(ctx context.Context, base time.Duration, frames int, onFrame func(n int)) {
	start := time.Now()
	samples := make([]float32, 2*p.aenc.FrameSize())
	for i := range samples {
		samples[i] = 0.1 * float32(i%40) / 40
	}
	var audioN int64
	for n := 0; n < frames; n++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(time.Duration(n) * time.Second / 30))):
		}
		for i := range p.frame.Y {
			p.frame.Y[i] = byte(rand.IntN(256))
		}
		pts := base + time.Duration(n)*time.Second/30
		_ = p.venc.Encode(p.frame, int64(n), false, func(pk av.Packet) {
			var au h264.AnnexB
			_ = au.Unmarshal(append([]byte(nil), pk.Data...))
			nalus, key := media.H264KeyWithParams(au, p.video.SPS, p.video.PPS)
			p.stream.WriteUnit(&media.Unit{Track: p.video, PTS: pts, DTS: pts, Key: key, Data: nalus})
		})
		for ; time.Duration(audioN)*time.Second/48000 <= time.Duration(n)*time.Second/30; audioN += int64(p.aenc.FrameSize()) {
			at := base + time.Duration(audioN)*time.Second/48000
			_ = p.aenc.Encode(samples, audioN, func(pk av.Packet) {
				if pk.PTS >= 0 {
					p.stream.WriteUnit(&media.Unit{Track: p.audio, PTS: at, DTS: at, Key: true, Data: [][]byte{append([]byte(nil), pk.Data...)}})
				}
			})
		}
		if onFrame != nil {
			onFrame(n)
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Timestamps stay valid past 0xFFFFFF ms (4 h 39 min), also across a
// reconnect made after that point, as nginx-rtmp relays them to a player.
func TestNginxAcrossExtendedTimestamp(t *testing.T) {
	ng := testpeer.StartNginx(t)
	px := testpeer.StartProxy(t, ng.Addr())
	p := newProgram(t)
	m := NewManager(p.stream, Options{BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second, ConnectTimeout: 5 * time.Second}, quietLog())
	defer m.Close()
	_, err := m.Add(Config{Name: "ng", URL: "rtmp://" + px.Addr() + "/live/ext", Enabled: true})
	require.NoError(t, err)

	crc := t.TempDir() + "/out.crc"
	// -rw_timeout ends the reader by itself 2 s after the data stops.
	reader := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-rw_timeout", "2000000", "-i", ng.URL("ext"), "-map", "0:v", "-c", "copy", "-f", "framecrc", crc)
	reader.Stderr = os.Stderr
	require.NoError(t, reader.Start())
	readerDone := make(chan struct{})
	go func() { _ = reader.Wait(); close(readerDone) }()
	defer func() { _ = reader.Process.Kill(); <-readerDone }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := time.Duration(0xFFFFFF)*time.Millisecond - 2*time.Second
	var once sync.Once
	p.run(ctx, base, 6*30, func(n int) {
		if n == 3*30 { // one second past the boundary: force a reconnect
			once.Do(px.Cut)
		}
	})
	st, err := m.Get("ng")
	require.NoError(t, err)
	require.GreaterOrEqual(t, st.Reconnects, uint64(1), "the cut made the output reconnect")
	require.Equal(t, StateLive, st.State)
	select {
	case <-readerDone:
	case <-time.After(15 * time.Second):
		t.Fatal("reader did not stop after the data did")
	}

	b, err := os.ReadFile(crc)
	require.NoError(t, err)
	var dts []int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(f[1]), 10, 64)
		require.NoError(t, err)
		dts = append(dts, v)
	}
	t.Logf("read back %d frames, dts %d … %d", len(dts), dts[0], dts[len(dts)-1])
	// 90 frames were sent before the cut and 90 after; the player joined at
	// the first key frame. With the type-3 extended timestamp wrong, nginx
	// misreads the first key frame after the reconnect and drops the
	// publisher again, so frames stop and reconnects pile up.
	require.Equal(t, uint64(1), st.Reconnects, "only the forced reconnect: nginx accepted every chunk after 0xFFFFFF ms")
	// every step a frame (33 or 34 ms); only the forced reconnect may skip
	// the frames sent while it was down, once
	jumps, after := 0, 0
	for i := 1; i < len(dts); i++ {
		step := dts[i] - dts[i-1]
		require.GreaterOrEqual(t, step, int64(33), "frame %d does not advance a frame (%d → %d)", i, dts[i-1], dts[i])
		if step > 67 {
			jumps++
			after = len(dts) - i
			require.Less(t, step, int64(5000), "frame %d: the reconnect skips more than it was down", i)
		}
	}
	require.LessOrEqual(t, jumps, 1, "only the reconnect skips frames")
	// Half of the 90 sent after the cut reach the player: those after the
	// reconnect's skip (the reconnect and the key frame it waits for take
	// longer on a loaded machine, and the player joined at a key frame of
	// its own, so the frames before the cut are not all there either); a
	// reconnect that skipped nothing lost none of them.
	if jumps == 0 {
		require.Greater(t, len(dts), 90+45, "frames after the reconnect reach the player")
	} else {
		require.Greater(t, after, 45, "frames after the reconnect reach the player (%d of %d read back)", after, len(dts))
	}
	require.Greater(t, dts[len(dts)-1]-dts[0], int64(4500), "the player's timeline spans the whole run")
}
