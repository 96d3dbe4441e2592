package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/mixer/bus"
	"switchyard/output/record"
)

// TestRTMPTimestampsPastExtendedBoundary pushes with ffmpeg from timestamps
// past 0xFFFFFF ms (4 h 39 min), where every RTMP chunk header carries an
// Extended Timestamp, also on type-3 continuation chunks, and from just
// before the boundary so that the stream crosses it.
func TestRTMPTimestampsPastExtendedBoundary(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "late"}, ingest.SourceConfig{Name: "crossing"}))
	push := func(name, color string, offsetS float64) {
		args := lavfiInput(color, "640x360", 30) // key frames larger than a chunk: type-3 continuations
		args = append(args, "-vf", fmt.Sprintf("setpts=PTS+%g/TB", offsetS), "-af", fmt.Sprintf("asetpts=PTS+%g/TB", offsetS),
			"-f", "flv", a.rtmpURL(name))
		run(t, "ffmpeg", args...)
	}
	push("late", "red", 20000)        // 5 h 33 min
	push("crossing", "blue", 16776.2) // 0xFFFFFF ms is 16777.215 s: crossed a second in
	for _, name := range []string{"late", "crossing"} {
		st := waitLive(t, a, name)
		require.Equal(t, 640, st.Video.Width)
	}

	// Both stay live with their frames arriving, on their own timestamps.
	src, ok := a.registry.Get("late")
	require.True(t, ok)
	r := src.Stream().NewReader(256)
	defer r.Close()
	var last time.Duration
	frames := 0
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for frames < 90 {
		u, err := r.Next(ctx) // a stalled source ends the wait at the deadline, not the suite's timeout
		require.NoError(t, err, "90 frames from the late source within 20 s; got %d", frames)
		if u.Track.Kind != media.KindVideo {
			continue
		}
		require.Greater(t, u.DTS, 20000*time.Second-time.Second, "timestamps are the publisher's, past 0xFFFFFF ms")
		require.GreaterOrEqual(t, u.DTS, last, "monotonic")
		last = u.DTS
		frames++
	}
	for _, name := range []string{"late", "crossing"} {
		st := sourceStatus(t, a, name)
		require.Equal(t, ingest.StateLive, st.State, name)
		require.Zero(t, st.Sessions, "%s: the publisher was never dropped", name)
		require.InDelta(t, 30, st.Video.FPS, 5, name)
	}
	require.NotContains(t, logs.String(), "publisher disconnected")

	// And they go to the program.
	prog := decodeProgram(t, a)
	prog.started(t)
	for _, c := range []struct{ source, colour string }{{"late", "red"}, {"crossing", "blue"}} {
		var st bus.State
		require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"`+c.source+`"}`, &st))
		got := average(prog.frame(t, st.Frame+1))
		require.True(t, got.is(c.colour), "the program shows %s: %s", c.source, got)
	}
}

// TestConnectionFlood opens 200 RTMP and 200 RTSP connections that never
// finish their handshake or request: each is closed by the server within
// its timeout, and a live camera streams on undisturbed. The flood comes
// from another process, as an attacker's would: 400 clients with their
// goroutines, buffers and garbage inside the show's own runtime were the
// test's load, not the show's (late frames at the flood's start and end,
// with Go GC cycles and page faults, were seen that way on a busy machine).
func TestConnectionFlood(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	// the window starts once the show is steady: frames late while it
	// starts (the first 20 or so, with its encoders and threads coming up)
	// were counted in it before, and are not the flood's
	n0 := a.mixer.Stats().FramesOut
	waitFor(t, 10*time.Second, "two seconds of program frames", func() bool { return a.mixer.Stats().FramesOut >= n0+60 })
	before := sourceStatus(t, a, "cam1")
	m0 := a.mixer.Stats()

	start := time.Now()
	flood := exec.Command(os.Args[0], "-test.run=^TestFloodClients$", "-test.v")
	flood.Env = append(os.Environ(), "SWITCHYARD_FLOOD="+a.rtmp.Addr().String()+","+a.rtsp.Addr().String())
	out := &logBuf{}
	flood.Stdout, flood.Stderr = out, out
	require.NoError(t, flood.Start())
	done := make(chan error, 1)
	go func() { done <- flood.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "the flood's clients: %s", out.String())
	case <-time.After(60 * time.Second):
		_ = flood.Process.Kill()
		<-done
		t.Fatalf("the flood did not end within 60 s: %s", out.String())
	}
	require.Contains(t, out.String(), "400 half-open connections closed by the server", out.String())
	t.Logf("the flood, from another process, ended within %s", time.Since(start).Round(100*time.Millisecond))

	after := sourceStatus(t, a, "cam1")
	require.Equal(t, ingest.StateLive, after.State)
	require.Equal(t, before.Sessions, after.Sessions, "the camera was never dropped")
	require.Equal(t, before.Drops, after.Drops, "no units dropped")
	require.InDelta(t, 30, after.Video.FPS, 5)
	onTime(t, a, m0)
}

// TestFloodClients is TestConnectionFlood's attacker, run as a process of
// its own: with SWITCHYARD_FLOOD=RTMP_ADDR,RTSP_ADDR it opens 200
// connections to each that never finish their handshake or request, and
// passes when the server has closed every one within 30 s. Without it,
// it is skipped.
func TestFloodClients(t *testing.T) {
	targets := os.Getenv("SWITCHYARD_FLOOD")
	if targets == "" {
		t.Skip("TestConnectionFlood's client process (SWITCHYARD_FLOOD=RTMP_ADDR,RTSP_ADDR)")
	}
	rtmpAddr, rtspAddr, ok := strings.Cut(targets, ",")
	require.True(t, ok, "SWITCHYARD_FLOOD=RTMP_ADDR,RTSP_ADDR")
	const n = 200
	start := time.Now()
	type result struct {
		proto string
		err   error
	}
	closed := make(chan result, 2*n)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 2*n; i++ {
		proto, addr, first := "rtmp", rtmpAddr, []byte{3} // C0 and nothing more
		if i%2 == 1 {
			proto, addr, first = "rtsp", rtspAddr, []byte("OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1") // never ends
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = c.Write(first)
		require.NoError(t, err)
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, err := io.Copy(io.Discard, c) // until the server closes it
			closed <- result{proto, err}
		}()
	}
	for i := 0; i < 2*n; i++ {
		select {
		case r := <-closed:
			var ne net.Error
			require.False(t, errors.As(r.err, &ne) && ne.Timeout(), "an %s connection was still open after 30 s", r.proto)
		case <-time.After(40 * time.Second):
			t.Fatalf("only %d of %d connections closed", i, 2*n)
		}
	}
	t.Logf("%d half-open connections closed by the server within %s", 2*n, time.Since(start).Round(100*time.Millisecond))
}

// TestResolutionChangeMidStream: a camera that changes resolution without
// reconnecting (new SPS/PPS in band) is followed: the source reports the new
// size and the program shows the new picture.
func TestResolutionChangeMidStream(t *testing.T) {
	mustHaveTools(t)
	dir := t.TempDir()
	var stream []byte
	for _, part := range []struct{ color, size, secs string }{{"red", "320x240", "8"}, {"blue", "640x360", "30"}} {
		p := filepath.Join(dir, part.color+".h264")
		out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c="+part.color+":s="+part.size+":r=30",
			"-t", part.secs, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
			"-x264opts", "repeat-headers=1", "-f", "h264", "-y", p).CombinedOutput()
		require.NoError(t, err, "%s", out)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		stream = append(stream, b...)
	}
	both := filepath.Join(dir, "both.h264")
	require.NoError(t, os.WriteFile(both, stream, 0o644))

	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-probesize", "32768", "-framerate", "30", "-f", "h264", "-i", both,
		"-c", "copy", "-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/cam1"))
	st := waitLive(t, a, "cam1")
	require.Equal(t, 320, st.Video.Width)
	prog := decodeProgram(t, a)
	prog.started(t)
	var buses bus.State
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, &buses)
	got := average(prog.frame(t, buses.Frame+1))
	require.True(t, got.is("red"), "program %s", got)
	var rec record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), `{"program":false,"iso":["cam1"]}`, &rec))

	waitFor(t, 20*time.Second, "the new size", func() bool {
		st = sourceStatus(t, a, "cam1")
		return st.Video != nil && st.Video.Width == 640 && st.Video.Height == 360
	})
	require.Zero(t, st.Sessions, "the same publisher, not a reconnect")
	// Ingest has seen the new size; the picture reaches the program after
	// decoding and the jitter buffer (2 frames), and nothing but the old or
	// the new picture is shown meanwhile.
	n0 := a.mixer.Switcher().State().Frame
	blueAt := int64(-1)
	for k := n0; k <= n0+15 && blueAt < 0; k++ {
		c := average(prog.frame(t, k))
		if c.is("blue") {
			blueAt = k
		} else {
			require.True(t, c.is("red"), "program frame %d, between the two sizes: %s", k, c)
		}
	}
	require.GreaterOrEqual(t, blueAt, int64(0), "the program follows the camera's new picture within 15 frames")
	t.Logf("the new picture on program %d frames after ingest saw the new size", blueAt-n0)

	// The ISO recording continues in a second part file at the new size.
	n := a.mixer.Stats().FramesOut
	waitFor(t, 10*time.Second, "a second at the new size", func() bool { return a.mixer.Stats().FramesOut > n+30 })
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &rec))
	for file, size := range map[string]string{"cam1.mp4": "320x240", "cam1.part2.mp4": "640x360"} {
		p := filepath.Join(a.recorder.Dir(), rec.ID, file)
		playsCleanly(t, p)
		out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=width,height",
			"-of", "csv=p=0:s=x", p).Output()
		require.NoError(t, err, file)
		require.Equal(t, size, strings.TrimSpace(string(out)), file)
	}
}

// TestH265RTSPPush: an H.265 camera pushed over RTSP is decoded into the
// program, re-served as H.265, and recorded as it came in.
func TestH265RTSPPush(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "hevc"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=c=blue:s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "log-level=error:keyint=30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
		"-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/hevc"))
	st := waitLive(t, a, "hevc")
	require.Equal(t, "h265", st.Video.Codec)
	require.Equal(t, 320, st.Video.Width)
	var rec record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), `{"program":false,"iso":["hevc"]}`, &rec))

	prog := decodeProgram(t, a)
	prog.started(t)
	var buses bus.State
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"hevc"}`, &buses))
	got := average(prog.frame(t, buses.Frame+1))
	require.True(t, got.is("blue"), "the H.265 camera on program: %s", got)

	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v",
		"-show_entries", "stream=codec_name,width", "-of", "csv=p=0", a.rtspURL("live/hevc")).Output()
	require.NoError(t, err)
	require.Equal(t, "hevc,320", strings.TrimSpace(string(out)), "re-served as it came in")

	n := a.mixer.Stats().FramesOut
	waitFor(t, 10*time.Second, "two seconds recorded", func() bool { return a.mixer.Stats().FramesOut > n+60 })
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &rec))
	file := filepath.Join(a.recorder.Dir(), rec.ID, "hevc.mp4")
	playsCleanly(t, file)
	out, err = exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", file).Output()
	require.NoError(t, err)
	require.Equal(t, "hevc", strings.TrimSpace(string(out)))
	require.True(t, frameAt(t, file, 1).is("blue"))
}

// TestOpusAndG711OverRTSP: cameras with AAC, Opus or G.711 audio are heard
// on the program at their own level: a mono camera on both channels, with no
// samples lost on the way.
func TestOpusAndG711OverRTSP(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "opus"}, ingest.SourceConfig{Name: "ulaw"}, ingest.SourceConfig{Name: "aac"}))
	for name, codec := range map[string][]string{"opus": {"-c:a", "libopus", "-b:a", "64k"}, "ulaw": {"-c:a", "pcm_mulaw", "-ar", "8000"}, "aac": {"-c:a", "aac"}} {
		args := []string{"-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=c=red:s=320x240:r=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
			"-pix_fmt", "yuv420p"}
		args = append(append(args, codec...), "-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/"+name))
		run(t, "ffmpeg", args...)
	}
	for _, name := range []string{"aac", "opus", "ulaw"} {
		want := map[string]string{"aac": "aac", "opus": "opus", "ulaw": "pcmu"}[name]
		st := waitLive(t, a, name)
		waitFor(t, 10*time.Second, name+" audio", func() bool { st = sourceStatus(t, a, name); return st.Audio != nil })
		require.Equal(t, want, st.Audio.Codec, name)

		// On program, the camera's 440 Hz sine at −18 dBFS peak reads −21 dBFS
		// RMS; lost samples or a −3 dB centre-channel upmix read lower.
		require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"`+name+`"}`, nil))
		out, err := exec.Command("ffmpeg", "-hide_banner", "-rtsp_transport", "tcp", "-i", a.rtspURL("program"), "-ss", "1", "-t", "2",
			"-vn", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
		require.NoError(t, err, "%s", out)
		m := regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`).FindSubmatch(out)
		require.NotNil(t, m, "%s", out)
		mean, _ := strconv.ParseFloat(string(m[1]), 64)
		require.InDelta(t, -21, mean, 2.0, "%s audio on program", name) // a lost third reads −27, a centre upmix −24
	}

	// Each camera's ISO file keeps its sound: AAC and Opus as they came in,
	// G.711 expanded to the 16-bit PCM it stands for.
	var rec record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), `{"program":false,"iso":["aac","opus","ulaw"]}`, &rec))
	n := a.mixer.Stats().FramesOut
	waitFor(t, 20*time.Second, "three seconds recorded", func() bool { return a.mixer.Stats().FramesOut > n+90 })
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &rec))
	for name, want := range map[string]string{"aac": "h264 aac", "opus": "h264 opus", "ulaw": "h264 pcm_s16be"} {
		file := filepath.Join(a.recorder.Dir(), rec.ID, name+".mp4")
		playsCleanly(t, file)
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "csv=p=0", file).Output()
		require.NoError(t, err, file)
		var codecs []string
		for _, l := range strings.Fields(string(out)) {
			if name, kind, _ := strings.Cut(l, ","); kind != "data" { // and a timecode track
				codecs = append(codecs, name)
			}
		}
		require.Equal(t, want, strings.Join(codecs, " "), file)
		out, err = exec.Command("ffmpeg", "-hide_banner", "-i", file, "-ss", "0.5", "-vn", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
		require.NoError(t, err, "%s", out)
		m := regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`).FindSubmatch(out)
		require.NotNil(t, m, "%s", out)
		mean, _ := strconv.ParseFloat(string(m[1]), 64)
		require.InDelta(t, -21, mean, 1.0, "%s: the camera's own sound in its ISO file", name)
	}
}

// TestRTSPPacketizesOnlyForReaders: a re-served source is turned into RTP
// packets only while an RTSP reader plays it — a show re-serves every source
// and the program, mostly to nobody — and a reader that comes still gets
// the whole stream.
func TestRTSPPacketizesOnlyForReaders(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	src, _ := a.registry.Get("cam1")
	sent := func() uint64 {
		_, n := a.rtsp.Readers("live/cam1")
		return n
	}
	readers := func() int {
		n, _ := a.rtsp.Readers("live/cam1")
		return n
	}
	// units flowing: 60 of them (about a second of picture and sound)
	waitUnits := func() {
		n0 := src.Stream().UnitsWritten()
		waitFor(t, 20*time.Second, "60 more units from cam1", func() bool { return src.Stream().UnitsWritten() >= n0+60 })
	}
	waitUnits()
	require.Zero(t, sent(), "nobody plays live/cam1: nothing packetized")

	// a reader decodes 30 pictures of it
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-timeout", "10000000",
		"-i", a.rtspURL("live/cam1"), "-frames:v", "30", "-f", "framecrc", "-").CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", out)
	require.Equal(t, 30, strings.Count(string(out), "\n0,"), "30 pictures decoded from live/cam1:\n%s", out)
	require.Positive(t, sent(), "a reader played live/cam1")
	ss, err := a.rtsp.ServerStream("live/cam1")
	require.NoError(t, err)
	require.Positive(t, ss.Stats().RTPPacketsSent, "RTP packets went out to the reader")

	waitFor(t, 10*time.Second, "the reader gone", func() bool { return readers() == 0 })
	before := sent()
	waitUnits()
	require.Equal(t, before, sent(), "the reader left: nothing more packetized")
}
