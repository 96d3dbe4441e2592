package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/output/push"
)

// remoteSRT is a remote venue's encoder: ffmpeg sending a lavfi camera as
// MPEG-TS from an SRT listener on a loopback port, for a pull to call.
// ffmpeg's latency is in microseconds.
func remoteSRT(t *testing.T, port int, color string, opts ...string) *proc {
	t.Helper()
	q := append([]string{"mode=listener", "latency=120000"}, opts...)
	args := append(lavfiInput(color, "320x240", 30), "-f", "mpegts", fmt.Sprintf("srt://127.0.0.1:%d?%s", port, strings.Join(q, "&")))
	return run(t, "ffmpeg", args...)
}

// TestSRTPull: a source added through the API pulls a remote ffmpeg that
// listens (with a passphrase): it goes live with the SRT link in its
// status, is cut to, and the program shows its pictures. The remote
// restarting (another camera behind it) is retried and comes back live.
// The passphrase never shows in the API, the events' state or the log.
func TestSRTPull(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t))
	port := freeUDPPort(t)
	remote := remoteSRT(t, port, "red", "passphrase=pull-secret-123")
	waitUDPBound(t, port)
	u := fmt.Sprintf("srt://127.0.0.1:%d?streamid=publish:venue:venue-key-1&passphrase=pull-secret-123&latency=200", port)
	var added ingest.Status
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"venue","url":"`+u+`"}`, &added))
	require.Equal(t, fmt.Sprintf("srt://127.0.0.1:%d?streamid=****&passphrase=****&latency=200", port), added.URL)

	st := waitLive(t, a, "venue")
	require.Equal(t, ingest.ProtoSRTPull, st.Protocol)
	require.Equal(t, "h264", st.Video.Codec)
	require.Equal(t, 320, st.Video.Width)
	waitFor(t, 10*time.Second, "venue's sound", func() bool { return sourceStatus(t, a, "venue").Audio != nil })
	require.Equal(t, "aac", sourceStatus(t, a, "venue").Audio.Codec)
	require.NotNil(t, st.SRT, "the SRT link is in the status")
	waitFor(t, 10*time.Second, "packets counted on the link", func() bool {
		l := sourceStatus(t, a, "venue").SRT
		return l != nil && l.PacketsReceived > 50 && l.RecvMbps > 0
	})
	require.EqualValues(t, 200, sourceStatus(t, a, "venue").SRT.LatencyMs, "the latency asked for (ms) was negotiated")
	waitPicture(t, a, "venue")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"venue"}`, nil))
	colours := readSRTColours(t, a.srtURL("read:program"))
	waitColour(t, colours, "red", 20*time.Second)

	// the remote goes away: retried, with the reason; then another camera
	// is behind it, and the pull finds it
	sessions := sourceStatus(t, a, "venue").Sessions
	remote.kill()
	waitFor(t, 20*time.Second, "venue retrying", func() bool {
		s := sourceStatus(t, a, "venue")
		return s.State == ingest.StateRetrying && s.LastError != ""
	})
	require.Contains(t, sourceStatus(t, a, "venue").LastError, "feed lost")
	remoteSRT(t, port, "blue", "passphrase=pull-secret-123")
	back := time.Now()
	waitColour(t, colours, "blue", 60*time.Second) // within the backoff (1 s, 2 s, …) and the handshake
	t.Logf("remote back → its pictures on program in %s", time.Since(back).Round(10*time.Millisecond))
	st = sourceStatus(t, a, "venue")
	require.Equal(t, ingest.StateLive, st.State)
	require.Greater(t, st.Sessions, sessions)
	require.NotNil(t, st.SRT)

	for _, body := range []string{apiText(t, a, "/sources"), apiText(t, a, "/state"), logs.String()} {
		require.NotContains(t, body, "pull-secret-123")
		require.NotContains(t, body, "venue-key-1")
	}
	require.Contains(t, logs.String(), `msg="feed connected" component=ingest.srt.pull source=venue`)
}

// apiText is an API answer as text (200 only).
func apiText(t *testing.T, a *app, path string) string {
	t.Helper()
	var raw json.RawMessage
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL(path), "", &raw))
	return string(raw)
}

// srtDestination is a platform's SRT ingest: ffmpeg listening on a
// loopback port, copying what an output sends (timestamps as they came,
// -copyts) into a file until it has frames pictures, then ending. It probes
// 2 s of the stream (ffmpeg's default is 5 s of a live MPEG-TS), which
// finds the program's H.264 (1 s GOPs) and AAC.
func srtDestination(t *testing.T, port, frames int, file string, opts ...string) *proc {
	t.Helper()
	q := append([]string{"mode=listener", "latency=120000"}, opts...)
	return run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-analyzeduration", "2000000",
		"-i", fmt.Sprintf("srt://127.0.0.1:%d?%s", port, strings.Join(q, "&")),
		"-map", "0", "-c", "copy", "-copyts", "-frames:v", strconv.Itoa(frames), "-f", "mpegts", "-y", file)
}

// fileColours decodes a file's pictures and returns their average colours.
func fileColours(t *testing.T, file string) []rgb {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-i", file}, decodeArgs...)...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	colours := make(chan rgb, 1<<16)
	readColours(out, colours)
	require.NoError(t, cmd.Wait())
	var v []rgb
	for c := range colours {
		v = append(v, c)
	}
	return v
}

// TestSRTOutput: an output calls an SRT destination (ffmpeg listening,
// with a passphrase), which receives the program as H.264 and AAC that
// decode, the camera's colour in the pictures; the output's status shows
// the SRT link while it is connected. The destination ending is retried;
// when it is back, the timestamps it gets continue the program's clock
// instead of starting over. The passphrase and the stream id show nowhere.
func TestSRTOutput(t *testing.T) {
	mustHaveTools(t)
	port := freeUDPPort(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.ts"), filepath.Join(dir, "second.ts")
	dest := srtDestination(t, port, 120, first, "passphrase=out-secret-123")
	waitUDPBound(t, port)
	u := fmt.Sprintf("srt://127.0.0.1:%d?streamid=live/out-key-1&passphrase=out-secret-123&latency=120", port)
	a, logs := startApp(t, outputsConfig(t, "", OutputConfig{Name: "relay", URL: u}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	st := waitOutput(t, a, "relay", push.StateLive, 30*time.Second)
	require.Equal(t, fmt.Sprintf("srt://127.0.0.1:%d?streamid=****&passphrase=****&latency=120", port), st.URL)
	waitFor(t, 10*time.Second, "the SRT link in the output's status", func() bool {
		l := outputStatus(t, a, "relay").SRT
		return l != nil && l.PacketsSent > 50
	})
	// the link in /metrics and on the event stream too, as a source's
	require.Regexp(t, `switchyard_output_srt_packets_sent_total\{output="relay"\} [1-9]`,
		getText(t, "http://"+a.http.Addr().String()+"/metrics"))
	events, stop := sseClient(t, "http://"+a.http.Addr().String()+"/api/v1/events", "")
	ev := next(t, events, 5*time.Second, "links")
	require.Contains(t, ev.data, `"outputs":{"relay":{"rtt_ms"`)
	stop()
	require.NoError(t, dest.wait(t, 60*time.Second), "the destination got its pictures")
	st = waitOutput(t, a, "relay", push.StateRetrying, 20*time.Second)
	require.NotEmpty(t, st.LastError)
	require.Nil(t, st.SRT, "no link while retrying")

	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,sample_rate",
		"-of", "compact=p=0:nk=0", first).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "codec_name=h264|width=320|height=240")
	require.Contains(t, string(out), "codec_name=aac|sample_rate=48000")
	out, err = exec.Command("ffprobe", "-v", "error", "-select_streams", "a", "-count_frames", "-show_entries", "stream=nb_read_frames",
		"-of", "csv=p=0", first).CombinedOutput()
	require.NoError(t, err, "%s", out)
	n, err := strconv.Atoi(strings.Trim(strings.Fields(string(out))[0], ","))
	require.NoError(t, err, "%s", out)
	require.Greater(t, n, 100, "sound frames decoded (4 s of AAC is 187)")
	cs := fileColours(t, first)
	require.GreaterOrEqual(t, len(cs), 100)
	require.True(t, cs[len(cs)-1].is("red"), "the camera on program: %s", cs[len(cs)-1])

	// the destination is back: the output reconnects and its clock goes on
	dest = srtDestination(t, port, 60, second, "passphrase=out-secret-123")
	require.NoError(t, dest.wait(t, 60*time.Second), "the destination got its pictures again")
	p1, p2 := packetTimes(t, first, "v"), packetTimes(t, second, "v")
	last, next := p1[len(p1)-1], p2[0]
	t.Logf("first session %.2f–%.2f s, second from %.2f s", p1[0], last, next)
	require.Greater(t, next, last, "the second session's timestamps continue the first's")
	require.Less(t, next-last, 60.0, "by about the time the destination was away")
	require.True(t, fileColours(t, second)[0].is("red"))

	for _, body := range []string{apiText(t, a, "/outputs"), apiText(t, a, "/state"), logs.String()} {
		require.NotContains(t, body, "out-secret-123")
		require.NotContains(t, body, "out-key-1")
	}
}

// waitUDPBound waits until a process listens on a loopback UDP port
// (/proc/net/udp): gosrt's caller sends its first handshake packet once,
// and one sent before ffmpeg listens costs the whole handshake timeout.
func waitUDPBound(t testing.TB, port int) {
	t.Helper()
	local := fmt.Sprintf(":%04X ", port)
	waitFor(t, 20*time.Second, fmt.Sprintf("UDP port %d bound", port), func() bool {
		b, err := os.ReadFile("/proc/net/udp")
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 2 && strings.HasSuffix(f[1]+" ", local) {
				return true
			}
		}
		return false
	})
}

// TestSRTOutputThroughSRTLiveTransmit: Haivision's srt-live-transmit
// (libsrt) is the destination an output with its own lower video_bitrate
// (a rendition of the program) calls, relaying to ffmpeg, which decodes the
// camera on program.
func TestSRTOutputThroughSRTLiveTransmit(t *testing.T) {
	mustHaveTools(t)
	if _, err := exec.LookPath("srt-live-transmit"); err != nil {
		t.Fatal("srt-live-transmit not found: run `make deps` (it installs srt-tools)")
	}
	in, out := freeUDPPort(t), freeUDPPort(t)
	run(t, "srt-live-transmit", "-q", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120&passphrase=relay-secret-1", in),
		fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120", out))
	waitUDPBound(t, in)
	a, _ := startApp(t, outputsConfig(t, "", OutputConfig{Name: "relay", VideoBitrate: 300_000,
		URL: fmt.Sprintf("srt://127.0.0.1:%d?passphrase=relay-secret-1&latency=120", in)}))
	pushRTMP(t, a, "cam1", "blue", "320x240", 30)
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	waitOutput(t, a, "relay", push.StateLive, 30*time.Second)
	waitColour(t, readSRTColours(t, fmt.Sprintf("srt://127.0.0.1:%d?latency=120000", out)), "blue", 30*time.Second)
	require.Equal(t, push.StateLive, outputStatus(t, a, "relay").State)
	require.Zero(t, outputStatus(t, a, "relay").Reconnects)
}

// TestSRTWrongPassphrase: a pull and an output added through the API with
// a passphrase their remote does not have fail with a clear reason in
// their last_error, retrying, and never show the passphrase or the stream
// id's key: not in GET /sources, GET /outputs, /state or the log. Given
// the right one (PATCH), both go live. Restarted, the show restores them
// from show.json (where the real URLs are kept) and shows them masked.
func TestSRTWrongPassphrase(t *testing.T) {
	mustHaveTools(t)
	in, out := freeUDPPort(t), freeUDPPort(t)
	remoteSRT(t, in, "red", "passphrase=right-secret-1")
	srtDestination(t, out, 100000, filepath.Join(t.TempDir(), "dest.ts"), "passphrase=right-secret-1")
	waitUDPBound(t, in)
	waitUDPBound(t, out)
	cfg := testConfig(t)
	a, logs := startApp(t, cfg)
	srcURL := func(pass string) string {
		return fmt.Sprintf("srt://127.0.0.1:%d?streamid=publish:venue:vk-secret-9&passphrase=%s", in, pass)
	}
	outURL := func(pass string) string {
		return fmt.Sprintf("srt://127.0.0.1:%d?streamid=%%23!::r=live/ok-secret-8,m=publish&passphrase=%s", out, pass)
	}
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"venue","url":"`+srcURL("wrong-secret-2")+`"}`, nil))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/outputs"), `{"name":"relay","url":"`+outURL("wrong-secret-2")+`"}`, nil))

	waitFor(t, 30*time.Second, "the source's passphrase refused", func() bool {
		return strings.Contains(sourceStatus(t, a, "venue").LastError, "wrong passphrase")
	})
	waitFor(t, 30*time.Second, "the output's passphrase refused", func() bool {
		return strings.Contains(outputStatus(t, a, "relay").LastError, "wrong passphrase")
	})
	src, dst := sourceStatus(t, a, "venue"), outputStatus(t, a, "relay")
	t.Logf("source: %s\noutput: %s", src.LastError, dst.LastError)
	require.Equal(t, ingest.StateRetrying, src.State)
	require.Contains(t, src.LastError, "check passphrase= in the url")
	require.True(t, strings.HasPrefix(src.LastError, "srt call "), "refused, not connected: %s", src.LastError)
	require.Equal(t, push.StateRetrying, dst.State)
	secrets := []string{"wrong-secret-2", "right-secret-1", "vk-secret-9", "ok-secret-8"}
	noSecrets := func(a *app, logs *logBuf) {
		t.Helper()
		for _, body := range []string{apiText(t, a, "/sources"), apiText(t, a, "/outputs"), apiText(t, a, "/state"), logs.String()} {
			for _, s := range secrets {
				require.NotContains(t, body, s)
			}
		}
	}
	noSecrets(a, logs)

	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/sources/venue"), `{"url":"`+srcURL("right-secret-1")+`"}`, nil))
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/outputs/relay"), `{"url":"`+outURL("right-secret-1")+`"}`, nil))
	waitLive(t, a, "venue")
	waitOutput(t, a, "relay", push.StateLive, 30*time.Second)
	noSecrets(a, logs)

	// restarted from show.json: the same sources and outputs, masked in the API
	closeApp(t, a, logs)
	b, logsB := startApp(t, cfg)
	st := sourceStatus(t, b, "venue")
	require.Equal(t, fmt.Sprintf("srt://127.0.0.1:%d?streamid=****&passphrase=****", in), st.URL)
	require.Equal(t, fmt.Sprintf("srt://127.0.0.1:%d?streamid=****&passphrase=****", out), outputStatus(t, b, "relay").URL)
	noSecrets(b, logsB)
}

// TestSRTURLsChecked: srt:// URLs a pull or an output cannot use are
// refused with a sentence that says what to change, naming the key and
// never quoting the passphrase or the stream id — from the show file and
// from the API — and the API's description has the SRT link on the source
// and output status.
func TestSRTURLsChecked(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"sources:\n  - { name: venue, url: \"srt://127.0.0.1:9000?streamid=publish:x:key-secret-3&passphrase=pass-secret-4&mode=listener\" }\n",
			"sources[0].url: source venue: url: mode=listener is not taken: Switchyard calls the remote"},
		{"sources:\n  - { name: venue, url: \"srt://127.0.0.1?passphrase=pass-secret-4\" }\n", "an SRT address needs a host and a UDP port: HOST:PORT after srt://"},
		{"outputs:\n  - { name: relay, url: \"srt://relay.example:9000?streamid=key-secret-3&latency=200000\" }\n",
			"outputs[0].url: output relay: url: latency 200000 is in milliseconds here"},
		{"outputs:\n  - { name: relay, url: \"srt://relay.example:9000?streamid=key-secret-3&passphrase=pass-secret-4&pbkeylen=32\" }\n",
			"pbkeylen is not taken"},
	} {
		p := filepath.Join(t.TempDir(), "show.yaml")
		require.NoError(t, os.WriteFile(p, []byte(c.yaml), 0o600))
		_, err := LoadConfig(p, nil)
		require.ErrorContains(t, err, c.want)
		require.NotContains(t, err.Error(), "secret", "no secret in %q", err)
	}
	_, err := LoadConfig("", []string{"SWITCHYARD_SRT_LISTEN=" + ":8890"})
	require.NoError(t, err)

	a, logs := startApp(t, testConfig(t))
	for _, c := range []struct{ path, body, want string }{
		{"/sources", `{"name":"venue","url":"srt://127.0.0.1:9000?passphrase=pass-secret-4&latency=120000"}`, "ffmpeg's srt:// latency is in microseconds"},
		{"/sources", `{"name":"venue","url":"srt://127.0.0.1:9000?passphrase=short"}`, "passphrase: 5 characters; SRT takes 10 to 79"},
		{"/outputs", `{"name":"relay","url":"srt://127.0.0.1:9000?streamid=key-secret-3&mode=listener"}`, "mode=listener is not taken"},
		{"/outputs", `{"name":"relay","url":"srt://127.0.0.1:9000/live/key-secret-3"}`, "an SRT address has no path"},
	} {
		var e struct{ Error, Field string }
		require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL(c.path), c.body, &e), c.body)
		require.Equal(t, "url", e.Field)
		require.Contains(t, e.Error, c.want)
		require.NotContains(t, e.Error, "secret")
	}
	require.NotContains(t, logs.String(), "secret")

	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal([]byte(apiText(t, a, "/openapi.json")), &spec))
	s := spec.Components.Schemas
	for _, status := range []string{"IngestStatus", "PushStatus"} {
		require.Contains(t, s, status)
		link, ok := s[status].Properties["srt"]
		require.True(t, ok, "%s has srt", status)
		ref, _ := link["$ref"].(string)
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		require.Contains(t, s, name, "%s.srt is %v", status, link)
		for _, f := range []string{"rtt_ms", "latency_ms", "send_mbps", "recv_mbps", "packets_lost", "packets_retransmitted", "packets_dropped"} {
			require.Contains(t, s[name].Properties, f)
		}
	}
}

// TestSRTOutputStalledDestination: a destination that stops answering
// (its process frozen) drops its output to retrying with the reason, by
// SRT's idle timeout; the other output, to a live destination, never
// reconnects nor drops a frame, and the program is never late.
func TestSRTOutputStalledDestination(t *testing.T) {
	mustHaveTools(t)
	p1, p2 := freeUDPPort(t), freeUDPPort(t)
	dir := t.TempDir()
	stalled := srtDestination(t, p1, 100000, filepath.Join(dir, "stalled.ts"))
	srtDestination(t, p2, 100000, filepath.Join(dir, "good.ts"))
	waitUDPBound(t, p1)
	waitUDPBound(t, p2)
	a, _ := startApp(t, outputsConfig(t, "",
		OutputConfig{Name: "stalled", URL: fmt.Sprintf("srt://127.0.0.1:%d", p1)},
		OutputConfig{Name: "good", URL: fmt.Sprintf("srt://127.0.0.1:%d", p2)}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitPicture(t, a, "cam1")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	waitOutput(t, a, "stalled", push.StateLive, 30*time.Second)
	waitOutput(t, a, "good", push.StateLive, 30*time.Second)
	m0, g0 := a.mixer.Stats(), outputStatus(t, a, "good")

	require.NoError(t, stalled.cmd.Process.Signal(syscall.SIGSTOP))
	defer func() { _ = stalled.cmd.Process.Signal(syscall.SIGCONT) }()
	frozen := time.Now()
	st := waitOutput(t, a, "stalled", push.StateRetrying, 30*time.Second)
	t.Logf("destination frozen → output retrying in %s: %s", time.Since(frozen).Round(10*time.Millisecond), st.LastError)
	require.Contains(t, st.LastError, "the SRT connection ended", "the frozen destination's stderr: %s", stalled.stderr.String())

	f := outputStatus(t, a, "good").FramesSent
	waitFor(t, 20*time.Second, "the good output sending on", func() bool { return outputStatus(t, a, "good").FramesSent > f+60 })
	g1 := outputStatus(t, a, "good")
	require.Equal(t, push.StateLive, g1.State)
	require.Equal(t, g0.Reconnects, g1.Reconnects, "the good output never reconnected")
	require.Zero(t, g1.FramesDropped)
	m1 := onTime(t, a, m0)
	require.InDelta(t, float64(m1.FramesOut-m0.FramesOut), float64(g1.FramesSent-g0.FramesSent), 45, "the good output sent every program frame")
}

// TestSRTPullThroughSRTLiveTransmit: a pull calls Haivision's
// srt-live-transmit (libsrt), which relays a camera ffmpeg sends it; the
// source goes live and the program shows it.
func TestSRTPullThroughSRTLiveTransmit(t *testing.T) {
	mustHaveTools(t)
	if _, err := exec.LookPath("srt-live-transmit"); err != nil {
		t.Fatal("srt-live-transmit not found: run `make deps` (it installs srt-tools)")
	}
	in, out := freeUDPPort(t), freeUDPPort(t)
	run(t, "srt-live-transmit", "-q", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120", in),
		fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120&passphrase=relay-secret-2", out))
	waitUDPBound(t, in)
	args := append(lavfiInput("blue", "320x240", 30), "-f", "mpegts", fmt.Sprintf("srt://127.0.0.1:%d?latency=120000", in))
	run(t, "ffmpeg", args...)
	waitUDPBound(t, out)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "venue",
		URL: fmt.Sprintf("srt://127.0.0.1:%d?passphrase=relay-secret-2&latency=120", out)}))
	st := waitLive(t, a, "venue")
	require.Equal(t, ingest.ProtoSRTPull, st.Protocol)
	waitPicture(t, a, "venue")
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"venue"}`, nil))
	waitColour(t, readSRTColours(t, a.srtURL("read:program")), "blue", 20*time.Second)
}
