package main

import (
	"context"
	"fmt"
	"math/rand/v2"
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

	gosrt "github.com/datarhei/gosrt"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/output/record"
)

// srtURL is the listener's URL for a stream id, with ffmpeg's options
// (latency in microseconds) and any more given as "k=v". ffmpeg 5.1 takes
// the stream id as written, not URL-decoded.
func (a *app) srtURL(streamID string, opts ...string) string {
	q := append([]string{"streamid=" + streamID, "latency=120000"}, opts...)
	return "srt://" + a.srt.Addr().String() + "?" + strings.Join(q, "&")
}

// pushSRT publishes a lavfi camera to the SRT listener with ffmpeg.
func pushSRT(t *testing.T, a *app, streamID, color string, opts ...string) *proc {
	t.Helper()
	args := append(lavfiInput(color, "320x240", 30), "-f", "mpegts", a.srtURL(streamID, opts...))
	return run(t, "ffmpeg", args...)
}

// readSRTColours reads a stream over SRT with ffmpeg and sends the average
// colour of every decoded picture. ffmpeg probes a live MPEG-TS for its
// whole analyzeduration (5 s by default) before it decodes; 2 s of the
// stream (two key frames at the tests' 1 s GOPs) is enough to find it.
func readSRTColours(t *testing.T, u string) <-chan rgb {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-analyzeduration", "2000000", "-i", u, "-t", "30"},
		decodeArgs...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{cmd: cmd, stderr: &logBuf{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	colours := make(chan rgb, 1024)
	go readColours(stdout, colours)
	return colours
}

// probeResult is what an ffprobe run in the background printed, and how it ended.
type probeResult struct {
	out []byte
	err error
}

// ffprobeAsync runs ffprobe in the background (bounded by 30 s) beside the
// readers. A probe of a live MPEG-TS lasts ffmpeg's whole analyzeduration:
// 2 s of the stream here (5 s by default), which holds both tracks.
func ffprobeAsync(args ...string) <-chan probeResult {
	res := make(chan probeResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ffprobe", append([]string{"-analyzeduration", "2000000"}, args...)...).CombinedOutput()
		res <- probeResult{out, err}
	}()
	return res
}

// waitColour waits for a picture of a colour among those read.
func waitColour(t *testing.T, colours <-chan rgb, name string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	var last rgb
	for n := 0; ; n++ {
		select {
		case c, ok := <-colours:
			require.True(t, ok, "the reader ended after %d pictures (last %s) before showing %s", n, last, name)
			if c.is(name) {
				return
			}
			last = c
		case <-deadline:
			t.Fatalf("no %s picture within %s (%d read, last %s)", name, within, n, last)
		}
	}
}

// TestSRTPublishCutAndReadBack: ffmpeg publishes a camera over SRT with
// its publish key in the stream id; the source goes live with its real
// format, is cut to, and the program read back over SRT (read:program, and
// the access-control form) shows it, decoded by ffmpeg. The camera itself
// is read back too (read:cam1).
func TestSRTPublishCutAndReadBack(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", PublishKey: "cam1-key"}))
	pushSRT(t, a, "publish:cam1:cam1-key", "red")
	st := waitLive(t, a, "cam1")
	require.Equal(t, "srt", st.Protocol)
	require.Equal(t, "h264", st.Video.Codec)
	require.Equal(t, 320, st.Video.Width)
	require.Equal(t, 240, st.Video.Height)
	require.NotNil(t, st.Audio, "the camera's sound came")
	require.Equal(t, "aac", st.Audio.Codec)
	require.Equal(t, 48000, st.Audio.SampleRate)
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	// The readers and ffprobe start together: each spends its
	// analyzeduration probing the live MPEG-TS before it decodes.
	probe := ffprobeAsync("-v", "error", "-show_entries", "stream=codec_name,width,height,sample_rate",
		"-of", "compact=p=0:nk=0", a.srtURL("read:program"))
	readers := []<-chan rgb{readSRTColours(t, a.srtURL("read:program")), readSRTColours(t, a.srtURL("#!::r=program,m=request")),
		readSRTColours(t, a.srtURL("read:cam1"))}
	for _, r := range readers {
		waitColour(t, r, "red", 20*time.Second)
	}
	p := <-probe // bounded by its context
	out, err := p.out, p.err
	require.NoError(t, err, "ffprobe: %s", out)
	require.Contains(t, string(out), "codec_name=h264|width=320|height=240")
	require.Contains(t, string(out), "codec_name=aac|sample_rate=48000")
	require.Contains(t, logs.String(), "publishing")
	require.Zero(t, sourceStatus(t, a, "cam1").Malformed)
}

// publishFails runs an ffmpeg publisher the listener must refuse: it ends
// on its own, failing.
func publishFails(t *testing.T, a *app, streamID string, opts ...string) {
	t.Helper()
	p := pushSRT(t, a, streamID, "blue", opts...)
	require.Error(t, p.wait(t, 30*time.Second), "%s must be refused", streamID)
}

// readFails: an ffprobe reader the listener must refuse.
func readFails(t *testing.T, a *app, streamID string) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", a.srtURL(streamID)).CombinedOutput()
	require.Error(t, err, "%s must be refused: %s", streamID, out)
}

// TestSRTRefusals: a publisher with a wrong key or none is refused and
// counted on its source; an unknown name, a second publisher of a live
// source, a reader without the read key or of an unknown name and a stream
// id in no known form are refused with a log line that never shows a key;
// the camera on program plays on through all of it.
func TestSRTRefusals(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", PublishKey: "cam1-key"}, ingest.SourceConfig{Name: "cam2", PublishKey: "cam2-key"})
	cfg.ReadKey = "show-key"
	a, logs := startApp(t, cfg)
	pushSRT(t, a, "publish:cam1:cam1-key", "red")
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	publishFails(t, a, "publish:cam2:guess-key-1")
	publishFails(t, a, "#!::r=cam2,m=publish,s=guess-key-2")
	publishFails(t, a, "publish:cam2")
	waitFor(t, 10*time.Second, "cam2's three refusals counted", func() bool { return sourceStatus(t, a, "cam2").Refused == 3 })
	require.Equal(t, ingest.StateOffline, sourceStatus(t, a, "cam2").State)

	publishFails(t, a, "publish:cam1:cam1-key") // cam1 has a live publisher, and no takeover
	waitFor(t, 10*time.Second, "the busy refusal counted", func() bool { return sourceStatus(t, a, "cam1").Refused == 1 })

	publishFails(t, a, "publish:nosuch")
	publishFails(t, a, "bogus-stream-id")
	publishFails(t, a, "publish:")
	readFails(t, a, "read:program")
	readFails(t, a, "read:program:guess-key-3")
	readFails(t, a, "read:nosuch:show-key")

	l := logs.String()
	require.Contains(t, l, `msg="publish refused" component=ingest.srt`)
	require.Contains(t, l, "source=nosuch")
	require.Contains(t, l, "no source with that name is configured")
	require.Contains(t, l, "wrong or missing publish key")
	require.Contains(t, l, "the source already has a live publisher")
	require.Contains(t, l, `stream_id=bogus-stream-id err="stream id not understood`)
	require.Contains(t, l, `msg="read refused"`)
	require.Contains(t, l, "wrong or missing read key")
	for _, secret := range []string{"guess-key-1", "guess-key-2", "guess-key-3", "show-key", "cam1-key"} {
		require.NotContains(t, l, secret, "no key in the log")
	}

	// the show ran on: cam1 is live, on program, read back with the key
	require.Equal(t, ingest.StateLive, sourceStatus(t, a, "cam1").State)
	waitColour(t, readSRTColours(t, a.srtURL("read:program:show-key")), "red", 20*time.Second)
}

// TestSRTPassphrase: with srt.passphrase set, a publisher that gives it
// goes live (the link encrypted); one without it, or with another, is
// refused and counted on its source. A passphrase SRT cannot take is
// refused at start, naming the key and not showing it.
func TestSRTPassphrase(t *testing.T) {
	mustHaveTools(t)
	_, err := LoadConfig("", []string{"SWITCHYARD_SRT_PASSPHRASE=short-pw"})
	require.ErrorContains(t, err, "srt.passphrase: is 8 characters: SRT takes 10 to 79")
	require.NotContains(t, err.Error(), "short-pw")
	_, err = LoadConfig("", []string{"SWITCHYARD_SRT_PASSPHRASE=" + strings.Repeat("x", 80)})
	require.ErrorContains(t, err, "srt.passphrase")

	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2"})
	cfg.SRT.Passphrase = "correct-horse-9"
	a, logs := startApp(t, cfg)
	pushSRT(t, a, "publish:cam1", "red", "passphrase=correct-horse-9")
	waitPicture(t, a, "cam1")
	require.Equal(t, "srt", sourceStatus(t, a, "cam1").Protocol)

	publishFails(t, a, "publish:cam2")
	publishFails(t, a, "publish:cam2", "passphrase=wrong-horse-99")
	waitFor(t, 10*time.Second, "cam2's refusals counted", func() bool { return sourceStatus(t, a, "cam2").Refused == 2 })
	l := logs.String()
	require.Contains(t, l, "no passphrase: this listener takes encrypted callers only")
	require.Contains(t, l, "wrong passphrase")
	require.NotContains(t, l, "correct-horse-9")
	require.NotContains(t, l, "wrong-horse-99")

	// a reader gives it too
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	waitColour(t, readSRTColours(t, a.srtURL("read:program", "passphrase=correct-horse-9")), "red", 20*time.Second)
	readFails(t, a, "read:program")
}

// freeUDPPort returns a loopback UDP port free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestSRTThroughSRTLiveTransmit: Haivision's srt-live-transmit (libsrt)
// relays in both directions: ffmpeg publishes to the relay, which calls
// the listener with publish:cam1; and the relay calls the listener with
// read:program and hands it on to ffmpeg, which decodes the camera.
func TestSRTThroughSRTLiveTransmit(t *testing.T) {
	mustHaveTools(t)
	if _, err := exec.LookPath("srt-live-transmit"); err != nil {
		t.Fatal("srt-live-transmit not found: run `make deps` (it installs srt-tools)")
	}
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	srtAddr := a.srt.Addr().String()

	in := freeUDPPort(t)
	run(t, "srt-live-transmit", "-q", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120", in),
		"srt://"+srtAddr+"?streamid=publish:cam1&latency=120")
	args := append(lavfiInput("red", "320x240", 30), "-f", "mpegts", fmt.Sprintf("srt://127.0.0.1:%d?latency=120000", in))
	run(t, "ffmpeg", args...)
	st := waitLive(t, a, "cam1")
	require.Equal(t, "srt", st.Protocol)
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	out := freeUDPPort(t)
	run(t, "srt-live-transmit", "-q", "srt://"+srtAddr+"?streamid=read:program&latency=120",
		fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120", out))
	waitColour(t, readSRTColours(t, fmt.Sprintf("srt://127.0.0.1:%d?latency=120000", out)), "red", 30*time.Second)
}

// srtCaller connects to the listener as gosrt's caller with a stream id.
func srtCaller(t *testing.T, a *app, streamID string) gosrt.Conn {
	t.Helper()
	cfg := gosrt.DefaultConfig()
	cfg.StreamId = streamID
	c, err := gosrt.Dial("srt", a.srt.Addr().String(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// tsFile makes a few seconds of MPEG-TS (H.264 + AAC) with ffmpeg and
// returns it in SRT payloads of seven TS packets.
func tsFile(t *testing.T, color string) [][]byte {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cam.ts")
	args := append(lavfiInput(color, "160x120", 30)[4:], "-t", "3", "-y", file) // without -re
	args = append([]string{"-hide_banner", "-loglevel", "error"}, args...)
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Zero(t, len(b)%188)
	var chunks [][]byte
	for len(b) > 0 {
		n := min(len(b), 7*188)
		chunks = append(chunks, b[:n])
		b = b[n:]
	}
	return chunks
}

// TestSRTHostileMPEGTS: a publisher that sends garbage amid its MPEG-TS
// (random packets, packets with a sync byte and random contents) has it
// counted and summarised in the log, and stays live; a payload that is
// not whole TS packets ends its connection with a log line that says so;
// the camera on program plays on.
func TestSRTHostileMPEGTS(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2"}))
	pushSRT(t, a, "publish:cam1", "red")
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	chunks := tsFile(t, "blue")
	c := srtCaller(t, a, "publish:cam2")
	pace := time.NewTicker(2 * time.Millisecond) // about the rate of the file's 3 s
	defer pace.Stop()
	send := func(b []byte) {
		<-pace.C
		_, err := c.Write(b)
		require.NoError(t, err)
	}
	third := len(chunks) / 3
	for _, ch := range chunks[:third] {
		send(ch)
	}
	waitFor(t, 20*time.Second, "cam2 live", func() bool { return sourceStatus(t, a, "cam2").Video != nil })

	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func(sync bool) []byte {
		b := make([]byte, 7*188)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if sync {
			for i := 0; i < len(b); i += 188 {
				b[i] = 0x47
			}
		}
		return b
	}
	for i, ch := range chunks[third:] {
		send(ch)
		if i%5 == 0 {
			send(garbage(i%10 == 0))
		}
	}
	waitFor(t, 20*time.Second, "cam2's malformed input counted", func() bool { return sourceStatus(t, a, "cam2").Malformed > 0 })
	require.Contains(t, logs.String(), `msg="malformed MPEG-TS dropped"`)
	require.NotEqual(t, ingest.StateOffline, sourceStatus(t, a, "cam2").State, "garbage amid the stream does not end it")

	send(make([]byte, 100)) // not whole TS packets
	waitFor(t, 20*time.Second, "cam2 offline", func() bool { return sourceStatus(t, a, "cam2").State == ingest.StateOffline })
	require.Contains(t, logs.String(), "not multiple of 188")

	require.Equal(t, ingest.StateLive, sourceStatus(t, a, "cam1").State)
	waitColour(t, readSRTColours(t, a.srtURL("read:program")), "red", 20*time.Second)
}

// TestSRTConnectionCapAndSwitches: srt.max_connections caps the SRT
// connections open at once — one more is refused, counted in /metrics and
// logged, and the camera publishing streams on; the SRT keys come from the
// environment, and an empty srt.listen turns SRT off.
func TestSRTConnectionCapAndSwitches(t *testing.T) {
	mustHaveTools(t)
	cfg, err := LoadConfig("", []string{"SWITCHYARD_SRT_MAX_CONNECTIONS=7", "SWITCHYARD_SRT_LATENCY=300ms",
		"SWITCHYARD_SRT_LISTEN=127.0.0.1:9999", "SWITCHYARD_SRT_PASSPHRASE=0123456789"})
	require.NoError(t, err)
	require.Equal(t, SRTConfig{Listen: "127.0.0.1:9999", Latency: Duration(300 * time.Millisecond), Passphrase: "0123456789", MaxConnections: 7}, cfg.SRT)
	cfg, err = LoadConfig("", nil)
	require.NoError(t, err)
	require.Equal(t, SRTConfig{Listen: ":8890", Latency: Duration(120 * time.Millisecond), MaxConnections: 256}, cfg.SRT, "the defaults")

	off := testConfig(t)
	off.SRT.Listen = ""
	b, logs := startApp(t, off)
	require.Nil(t, b.srt)
	require.Contains(t, logs.String(), "srt off")

	cfg = testConfig(t, ingest.SourceConfig{Name: "cam1"})
	cfg.SRT.MaxConnections = 2
	a, logs := startApp(t, cfg)
	pushSRT(t, a, "publish:cam1", "red") // one of the two
	waitLive(t, a, "cam1")
	before := sourceStatus(t, a, "cam1")
	refused := func() string {
		m := regexp.MustCompile(`switchyard_media_connections_refused_total\{protocol="srt"\} (\d+)`).
			FindStringSubmatch(getText(t, "http://"+a.http.Addr().String()+"/metrics"))
		require.NotNil(t, m, "no refused counter for srt")
		return m[1]
	}
	require.Equal(t, "0", refused())
	srtCaller(t, a, "read:cam1") // the second
	c := gosrt.DefaultConfig()
	c.StreamId = "read:program"
	_, err = gosrt.Dial("srt", a.srt.Addr().String(), c)
	require.Error(t, err, "the third is refused")
	require.Equal(t, "1", refused())
	require.Contains(t, logs.String(), "raise srt.max_connections")
	after := sourceStatus(t, a, "cam1")
	require.Equal(t, ingest.StateLive, after.State)
	require.Equal(t, before.Sessions, after.Sessions, "the camera was never dropped")
}

// framePackets lists a file's stream's packets (v or a) as size and MD5, by ffmpeg.
func framePackets(t *testing.T, file, stream string) (sizes []int, hashes []string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", file, "-map", "0:"+stream,
		"-c", "copy", "-f", "framemd5", "-").Output()
	require.NoError(t, err)
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, ",") // stream, dts, pts, duration, size, hash, …
		n, err := strconv.Atoi(strings.TrimSpace(f[4]))
		require.NoError(t, err)
		sizes, hashes = append(sizes, n), append(hashes, strings.TrimSpace(f[5]))
	}
	return sizes, hashes
}

// TestSRTCameraRecordedAsISO: a camera published over SRT (an H.264+AAC
// clip sent as it is, -c copy) is recorded in its ISO file without
// re-encoding: every packet of sound and every picture bit-identical to
// the clip's and in order — key pictures with the parameter sets ffmpeg
// put in band in front of them in the MPEG-TS it sent (SPS and PPS, 4-byte
// lengths), as the camera sent them.
func TestSRTCameraRecordedAsISO(t *testing.T) {
	mustHaveTools(t)
	clip := makeClip(t, "red", 20)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", clip, "-c", "copy", "-f", "mpegts", a.srtURL("publish:cam1"))
	st := waitLive(t, a, "cam1")
	require.Equal(t, "srt", st.Protocol)
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, &in))
	n := a.mixer.Stats().FramesOut
	waitFor(t, 20*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut >= n+120 })
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &in))
	iso := filepath.Join(a.recorder.Dir(), in.ID, "cam1.mp4")

	sps, pps := a.registryTrackParams(t, "cam1")
	for _, stream := range []string{"v", "a"} {
		sentSize, sent := framePackets(t, clip, stream)
		gotSize, got := framePackets(t, iso, stream)
		require.Greater(t, len(got), 60, "%s packets", stream)
		first := slices_index(sent, got[1]) - 1 // the first may be a key picture, with its parameter sets
		require.GreaterOrEqual(t, first, 0, "%s: the recorded packets are ones the camera sent", stream)
		keys := 0
		for i := range got {
			if got[i] == sent[first+i] {
				continue
			}
			require.Equal(t, "v", stream, "sound packet %d bit-identical", i)
			require.Equal(t, sentSize[first+i]+4+sps+4+pps, gotSize[i], "picture %d: the clip's with its parameter sets in front", i)
			keys++
		}
		if stream == "v" {
			require.Positive(t, keys, "key pictures recorded")
		}
	}
}

// registryTrackParams returns the sizes of a live source's SPS and PPS.
func (a *app) registryTrackParams(t *testing.T, name string) (sps, pps int) {
	t.Helper()
	s, ok := a.registry.Get(name)
	require.True(t, ok)
	for _, tr := range s.Stream().Tracks() {
		if tr.Kind == media.KindVideo {
			return len(tr.SPS), len(tr.PPS)
		}
	}
	t.Fatalf("%s has no video track", name)
	return 0, 0
}

// TestSRTTakeover: a source with takeover: true takes a new SRT publisher
// (an encoder that reconnected): the old connection is ended, the program
// shows the new camera, and the change counts as a session.
func TestSRTTakeover(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", Takeover: true}))
	old := pushSRT(t, a, "publish:cam1", "red")
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	colours := readSRTColours(t, a.srtURL("read:program"))
	waitColour(t, colours, "red", 20*time.Second)
	sessions := sourceStatus(t, a, "cam1").Sessions

	pushSRT(t, a, "publish:cam1", "blue")
	waitColour(t, colours, "blue", 20*time.Second)
	require.Error(t, old.wait(t, 20*time.Second), "the old publisher's connection was ended")
	require.Contains(t, logs.String(), "publisher taken over")
	require.Equal(t, ingest.StateLive, sourceStatus(t, a, "cam1").State)
	require.Greater(t, sourceStatus(t, a, "cam1").Sessions, sessions)
}

// TestSRTH265AndOpus: an H.265 camera with Opus sound published over SRT
// goes live with both, is decoded onto the program, and is read back over
// SRT as it came in (H.265 and Opus in MPEG-TS), decoded by ffmpeg.
func TestSRTH265AndOpus(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "hevc"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=c=blue:s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "log-level=error:keyint=30", "-pix_fmt", "yuv420p", "-c:a", "libopus", "-b:a", "64k",
		"-f", "mpegts", a.srtURL("publish:hevc"))
	st := waitLive(t, a, "hevc")
	require.Equal(t, "h265", st.Video.Codec)
	require.Equal(t, 320, st.Video.Width)
	waitFor(t, 10*time.Second, "hevc's sound", func() bool { return sourceStatus(t, a, "hevc").Audio != nil })
	au := sourceStatus(t, a, "hevc").Audio
	require.Equal(t, "opus", au.Codec)
	require.Equal(t, 48000, au.SampleRate)
	waitPicture(t, a, "hevc")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"hevc"}`, nil))
	// the two readers and ffprobe start together (each probes for 2 s)
	probe := ffprobeAsync("-v", "error", "-show_entries", "stream=codec_name,width,sample_rate",
		"-of", "compact=p=0:nk=0", a.srtURL("read:hevc"))
	program, hevc := readSRTColours(t, a.srtURL("read:program")), readSRTColours(t, a.srtURL("read:hevc"))
	waitColour(t, program, "blue", 20*time.Second)

	p := <-probe // bounded by its context
	require.NoError(t, p.err, "ffprobe: %s", p.out)
	require.Contains(t, string(p.out), "codec_name=hevc|width=320")
	require.Contains(t, string(p.out), "codec_name=opus|sample_rate=48000")
	waitColour(t, hevc, "blue", 20*time.Second)
}
