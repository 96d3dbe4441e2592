package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	gosrt "github.com/datarhei/gosrt"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/flashprobe"
	"switchyard/internal/protocols/mpegts"
	"switchyard/internal/protocols/rtmp"
	"switchyard/internal/protocols/rtsp"
	"switchyard/internal/servers/webrtc/whiptest"
	"switchyard/internal/testpeer"
	"switchyard/media"
	"switchyard/mixer/clock"
	"switchyard/output/push"
)

// Camera-to-program latency (issue 30, item 1): a camera of our own sends
// dark pictures with a flash every flashEvery frames, noting when each
// flash is handed to its connection; viewers of the program decode what
// comes out of Switchyard and note when each flash arrives. Everything is
// on loopback, so the figure is Switchyard's own: ingest, decode, jitter
// buffer, the wait for the tick, compose, encode and packetise.

// flashEvery is the frames from flash to flash: 667 ms, well above any
// delay measured. The camera runs at 29.97 fps, as an NTSC camera does: its
// frames drift against the program's 30 fps ticks by a frame in 33 s, so
// a measurement meets the phases between them (the wait for the tick is
// anything from none to a frame) instead of the one it started with.
const flashEvery = 20

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// flashCamera publishes cam to source name over proto: "rtmp", "rtsp"
// (TCP), "rtsp-udp", "srt" or "webrtc" (WHIP, pion), until ctx ends.
func flashCamera(tb testing.TB, ctx context.Context, a *app, cam *flashprobe.Camera, name, proto string) {
	tb.Helper()
	st := media.NewStream()
	st.SetTracks(cam.Track)
	var wg sync.WaitGroup
	tb.Cleanup(wg.Wait)
	switch proto {
	case "rtmp":
		m := push.NewManager(st, push.Options{}, quietLog)
		_, err := m.Add(push.Config{Name: "camera", URL: a.rtmpURL(name), Enabled: true})
		require.NoError(tb, err)
		tb.Cleanup(m.Close)
		wg.Go(func() { cam.Run(ctx, st.WriteUnit) })
	case "rtsp", "rtsp-udp":
		s, err := rtsp.NewSender(cam.Track, nil)
		require.NoError(tb, err)
		p := gortsplib.ProtocolTCP
		if proto == "rtsp-udp" {
			p = gortsplib.ProtocolUDP
		}
		c := &gortsplib.Client{Protocol: &p}
		require.NoError(tb, c.StartRecording(a.rtspURL("live/"+name), s.Desc))
		tb.Cleanup(c.Close)
		wg.Go(func() { cam.Run(ctx, func(u *media.Unit) { s.Write(c, u) }) })
	case "srt":
		cfg := gosrt.DefaultConfig()
		cfg.StreamId = "publish:" + name
		c, err := gosrt.Dial("srt", a.srt.Addr().String(), cfg)
		require.NoError(tb, err)
		tb.Cleanup(func() { _ = c.Close() })
		wg.Go(func() { _ = (&mpegts.Sender{W: c}).Run(ctx, st) })
		wg.Go(func() { cam.Run(ctx, st.WriteUnit) })
	case "webrtc":
		c := whiptest.New(tb, webrtc.MimeTypeH264)
		an, err := a.webrtc.Publish(name, "", c.Offer(tb))
		require.NoError(tb, err)
		send := c.Answered(tb, an.SDP)
		wg.Go(func() { cam.Run(ctx, send) })
	default:
		tb.Fatalf("camera protocol %q", proto)
	}
}

// programViewers reads the program over RTSP (TCP) and RTMP play into a
// viewer each, until ctx ends.
func programViewers(tb testing.TB, ctx context.Context, a *app) map[string]*flashprobe.Viewer {
	tb.Helper()
	vs := map[string]*flashprobe.Viewer{"rtsp": flashprobe.NewViewer(), "rtmp": flashprobe.NewViewer()}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		wg.Wait()
		for _, v := range vs {
			v.Stop()
		}
	})
	pull := func(proto string, f func() error) {
		wg.Go(func() {
			for ctx.Err() == nil { // a session that ends before the measurement does is started again
				_ = f()
			}
		})
	}
	pull("rtsp", func() error {
		return rtsp.Pull(ctx, rtsp.PullConfig{URL: a.rtspURL("program"), ReadTimeout: 5 * time.Second, Log: quietLog},
			func() (media.Publisher, error) { return vs["rtsp"], nil })
	})
	pull("rtmp", func() error {
		return rtmp.Pull(ctx, rtmp.PullConfig{URL: a.rtmpURL("program"), ReadTimeout: 5 * time.Second, ConnectTimeout: 5 * time.Second,
			WriteTimeout: 5 * time.Second, Log: quietLog}, func() (media.Publisher, error) { return vs["rtmp"], nil })
	})
	return vs
}

// measureLatency sends a flashing w×h camera over proto to source name,
// cuts it to program and returns each program viewer's delays of n
// flashes (after the first two, which may meet a viewer's start), and
// the mixer's pieces of the camera's pictures meanwhile.
func measureLatency(tb testing.TB, a *app, name, proto string, w, h, n int) (map[string][]time.Duration, clock.Pieces) {
	return measureLatencyAfter(tb, a, name, proto, w, h, n, 0)
}

// measureLatencyAfter is measureLatency with the camera on preview for
// onPreview first (0: on program from its start): off air its adaptive
// buffer follows what the network needs both ways, so it comes on air
// on the buffer a show would cut to. The buffer at the cut is printed.
func measureLatencyAfter(tb testing.TB, a *app, name, proto string, w, h, n int, onPreview time.Duration) (map[string][]time.Duration, clock.Pieces) {
	tb.Helper()
	cam, err := flashprobe.NewCamera(w, h, 30000, 1001, flashEvery, 30)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flashCamera(tb, ctx, a, cam, name, proto)
	waitLiveTB(tb, a, name)
	if onPreview > 0 {
		_, err = a.mixer.Switcher().SetPreview(name)
		require.NoError(tb, err)
		time.Sleep(onPreview) // the time on preview is what is measured after
		ss := a.mixer.Switcher().SourceStats(name)
		fmt.Printf("      after %s on preview: jitter buffer %d ms (need %.1f ms)\n", onPreview, ss.JitterBuffer.Milliseconds(),
			float64(ss.JitterNeed.Microseconds())/1000)
	}
	_, err = a.mixer.Switcher().SetProgram(name)
	require.NoError(tb, err)
	vs := programViewers(tb, ctx, a)
	period := cam.Period()
	deadline := time.Now().Add(time.Duration(n+4)*period*3 + 30*time.Second)
	reset := false
	for {
		least := n + 2
		for _, v := range vs {
			least = min(least, len(v.Flashes()))
		}
		if least >= n+2 {
			break
		}
		// The pieces are of the pictures the measured flashes are among:
		// noted from when every viewer has seen the two flashes left out
		// (a viewer's start takes a second or so, and the buffer comes
		// down on air meanwhile — pieces from the cut would be of an
		// earlier, longer buffer than the flashes met).
		if !reset && least >= 2 {
			a.mixer.ResetPieces()
			reset = true
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s camera: fewer than %d flashes reached the program's viewers in time (rtsp %d, rtmp %d)",
				proto, n+2, len(vs["rtsp"].Flashes()), len(vs["rtmp"].Flashes()))
		}
		time.Sleep(50 * time.Millisecond) // polling counts, bounded by the deadline
	}
	out := map[string][]time.Duration{}
	for k, v := range vs {
		seen := v.Flashes()[2:]
		ds := flashprobe.Delays(cam.Sends(), seen, period)
		require.Len(tb, ds, len(seen), "%s camera, %s viewer: every flash seen matches one sent less than a period before", proto, k)
		out[k] = ds
	}
	return out, a.mixer.Pieces()
}

// waitLiveTB waits (bounded) for a source to go live.
func waitLiveTB(tb testing.TB, a *app, name string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if src, ok := a.registry.Get(name); ok && src.Status().State == "live" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("source %s did not go live within 20 s", name)
		}
		time.Sleep(20 * time.Millisecond) // polling a state, bounded by the deadline
	}
}

// TestCameraToProgramLatency: a flash sent by an RTMP camera reaches the
// program's RTSP and RTMP viewers once each, in order, and its delay is
// measured. The test checks that it is measured — every flash found and
// paired — not how fast it is (make bench has the figures).
func TestCameraToProgramLatency(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	got, pieces := measureLatency(t, a, "cam1", "rtmp", 320, 240, 8)
	for k, ds := range got {
		t.Logf("RTMP camera to the program's %s viewer: %s", k, flashprobe.Summarise(ds))
		for _, d := range ds {
			require.Greater(t, d, time.Duration(0))
		}
	}
	t.Logf("inside Switchyard (medians): %+v", pieces)
	// the pieces are of the camera's pictures that aired, and add up
	require.Greater(t, pieces.Pictures, 100, "the pictures that aired new were noted")
	// Each picture's pieces add up to its total; their medians only
	// roughly: the tick's piece spreads over a frame (a picture is due
	// anywhere in the frame that shows it, and the camera's 29.97 fps moves
	// it through all of it against the program's 30), and the buffer comes
	// down on air during the measurement (from the 2 frames it starts on),
	// so the median buffer and the median tick are not one picture's. A
	// frame apart at most, and 10 ms for the rest.
	sum := pieces.DecodeMs + pieces.BufferMs + pieces.TickMs + pieces.ComposeMs + pieces.EncodeMs
	require.InDelta(t, pieces.TotalMs, sum, 1000/30.0+10, "medians of the pieces add up to about the median total")
	// what is measured inside is part of what the viewers see: the way
	// from the decoder's taking a unit to the frame handed out is shorter
	// than from the camera's send to a viewer's receipt — up to the wait
	// for the tick, which differs from picture to picture (the camera's
	// 29.97 fps drift against the program's 30), and the flashes are a few
	require.Less(t, pieces.TotalMs, ms(flashprobe.Summarise(got["rtsp"]).Median)+1000/30.0)
	require.GreaterOrEqual(t, pieces.BufferMs, 0.0, "a camera on loopback is decoded before its time")

	// the source's transit jitter (what its jitter buffer has to cover) and
	// its wait for its decoder (the machine's part) are in its status and
	// /metrics; a camera on program waits at least its decode
	var srcs []map[string]any
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/sources"), "", &srcs))
	require.Len(t, srcs, 1)
	require.Contains(t, srcs[0], "transit_jitter_ms")
	jit := srcs[0]["transit_jitter_ms"].(float64)
	require.GreaterOrEqual(t, jit, 0.0)
	require.Less(t, jit, float64(time.Second.Milliseconds()), "no more than the widest jitter buffer on loopback")
	require.Contains(t, srcs[0], "decode_wait_ms")
	dec := srcs[0]["decode_wait_ms"].(float64)
	require.Greater(t, dec, 0.0, "a picture on air is decoded some time after it arrived")
	require.Less(t, dec, float64(time.Second.Milliseconds()))
	metrics := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	require.Regexp(t, `switchyard_source_transit_jitter_seconds\{source="cam1"\} [0-9.e-]+\n`, metrics)
	require.Regexp(t, `switchyard_source_decode_wait_seconds\{source="cam1"\} [0-9.e-]+\n`, metrics)
}

// ffmpegRelayLatency is the floor: the same camera over RTMP into ffmpeg,
// which copies (transcode false) or decodes and encodes it with the
// program's x264 settings, out as MPEG-TS on its stdout, read by a viewer.
func ffmpegRelayLatency(tb testing.TB, transcode bool, w, h, n int) []time.Duration {
	tb.Helper()
	cam, err := flashprobe.NewCamera(w, h, 30000, 1001, flashEvery, 30)
	require.NoError(tb, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(tb, ln.Close())
	url := "rtmp://127.0.0.1:" + strconv.Itoa(port) + "/live/cam"
	args := []string{"-hide_banner", "-loglevel", "error", "-fflags", "nobuffer", "-flags", "low_delay",
		"-listen", "1", "-f", "flv", "-i", url}
	if transcode {
		args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-b:v", "4500k", "-g", "60", "-threads", "1")
	} else {
		args = append(args, "-c", "copy")
	}
	args = append(args, "-flush_packets", "1", "-muxdelay", "0", "-f", "mpegts", "-")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	out, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())
	defer func() { cancel(); _ = cmd.Wait() }()

	v := flashprobe.NewViewer()
	defer v.Stop()
	rxDone := make(chan struct{})
	go func() {
		defer close(rxDone)
		rx, err := mpegts.NewReceiver(tsPackets{out}, quietLog)
		if err != nil {
			tb.Logf("ffmpeg relay: %v", err)
			return
		}
		tb.Logf("ffmpeg relay: %v", rx.Run(v))
	}()
	st := media.NewStream()
	st.SetTracks(cam.Track)
	m := push.NewManager(st, push.Options{}, quietLog)
	_, err = m.Add(push.Config{Name: "camera", URL: url, Enabled: true})
	require.NoError(tb, err)
	defer m.Close()
	camDone := make(chan struct{})
	go func() {
		defer close(camDone)
		cam.Run(ctx, st.WriteUnit)
	}()
	period := cam.Period()
	deadline := time.Now().Add(time.Duration(n+4)*period*3 + 30*time.Second)
	for len(v.Flashes()) < n+2 {
		if time.Now().After(deadline) {
			p, e, d := v.Counts()
			tb.Fatalf("ffmpeg relay: %d of %d flashes in time (%d pictures, %d errors, %d dropped)", len(v.Flashes()), n+2, p, e, d)
		}
		time.Sleep(50 * time.Millisecond) // polling a count, bounded by the deadline
	}
	cancel()
	<-camDone
	seen := v.Flashes()[2:]
	return flashprobe.Delays(cam.Sends(), seen, period)
}

// tsPackets reads a byte stream (a pipe) in whole transport stream
// packets, seven at a time, as the MPEG-TS reader takes them (it reads
// datagrams).
type tsPackets struct{ r io.Reader }

func (p tsPackets) Read(b []byte) (int, error) {
	n := min(len(b), 7*188) / 188 * 188
	return io.ReadFull(p.r, b[:n])
}

// BenchmarkLatency prints camera-to-program latency per camera protocol
// and program viewer, at 720p30 and 1080p30, beside ffmpeg relaying the
// same camera (copy, and decode → encode with the program's x264
// settings) as the floor.
func BenchmarkLatency(b *testing.B) {
	const n = 24
	fmt.Printf("\ncamera to program latency (a flash every %d frames, %d flashes; median / worst):\n", flashEvery, n)
	for _, size := range [][2]int{{1280, 720}, {1920, 1080}} {
		w, h := size[0], size[1]
		for _, proto := range []string{"rtmp", "rtsp", "rtsp-udp", "srt"} {
			cfg := benchConfig(b, w, h, "cam1")
			if proto == "rtsp-udp" {
				cfg.RTSP.UDPRTP, cfg.RTSP.UDPRTCP = testpeer.FreeUDPPair(b)
			}
			a := benchStart(b, &cfg)
			got, pc := measureLatency(b, a, "cam1", proto, w, h, n)
			a.Close()
			for _, k := range []string{"rtsp", "rtmp"} {
				s := flashprobe.Summarise(got[k])
				fmt.Printf("  %dp %-8s camera -> program read over %-4s  %6.1f / %6.1f ms\n", h, proto, k, ms(s.Median), ms(s.Worst))
				if proto == "rtmp" && k == "rtsp" {
					b.ReportMetric(ms(s.Median), fmt.Sprintf("ms-median-%dp", h))
				}
			}
			fmt.Printf("      inside (medians of %d pictures): decode %.1f, jitter buffer %.1f, to its frame %.1f, compose %.1f, encode %.1f = %.1f ms; the rest (camera write, network, ingest, packetise, viewer) %.1f ms\n",
				pc.Pictures, pc.DecodeMs, pc.BufferMs, pc.TickMs, pc.ComposeMs, pc.EncodeMs, pc.TotalMs, ms(flashprobe.Summarise(got["rtsp"]).Median)-pc.TotalMs)
		}
		{ // a camera cut to after time on preview: on air on the buffer it settled to off air
			cfg := benchConfig(b, w, h, "cam1")
			a := benchStart(b, &cfg)
			got, pc := measureLatencyAfter(b, a, "cam1", "rtmp", w, h, n, 10*time.Second)
			a.Close()
			s := flashprobe.Summarise(got["rtsp"])
			fmt.Printf("  %dp rtmp, 10 s on preview first, read over rtsp  %6.1f / %6.1f ms (jitter buffer waited %.1f ms, median)\n",
				h, ms(s.Median), ms(s.Worst), pc.BufferMs)
		}
		for _, tc := range []bool{false, true} {
			s := flashprobe.Summarise(ffmpegRelayLatency(b, tc, w, h, n))
			what := "ffmpeg -c copy relay (floor)"
			if tc {
				what = "ffmpeg decode -> x264 encode"
			}
			fmt.Printf("  %dp rtmp     camera -> %-30s %6.1f / %6.1f ms\n", h, what, ms(s.Median), ms(s.Worst))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// TestFFmpegRelayLatency: the floor the bench compares with — ffmpeg
// copying the flash camera from RTMP to MPEG-TS — is measured (every flash
// found and paired).
func TestFFmpegRelayLatency(t *testing.T) {
	mustHaveTools(t)
	ds := ffmpegRelayLatency(t, false, 320, 240, 4)
	require.Len(t, ds, 4)
	t.Logf("ffmpeg -c copy relay: %s", flashprobe.Summarise(ds))
}
