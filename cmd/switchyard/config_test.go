package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/mixer"
)

func TestDemoConfigIsValid(t *testing.T) {
	cfg, err := LoadConfig("", nil)
	require.NoError(t, err)
	require.Equal(t, 1280, cfg.Program.Width)
	require.Equal(t, 4_500_000, int(cfg.Program.VideoBitrate))
	require.Equal(t, 2*time.Second, time.Duration(cfg.Program.Keyint))
	n := 0
	for _, s := range cfg.Sources {
		if strings.HasPrefix(s.URL, "gen://") {
			n++
		}
	}
	require.Equal(t, 3, n, "the demo show has three generator sources")
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "htp: {listen: x}", "htp: unknown key"},
		{"unknown nested key", "program: {widht: 640}", "program.widht: unknown key"},
		{"unknown source key", "sources: [{name: a}, {nmae: b}]", "sources[1].nmae: unknown key"},
		{"odd width", "program: {width: 641}", "program.width"},
		{"bad fps", "program: {fps: 0}", "program.fps"},
		{"bad bitrate", "program: {video_bitrate: fast}", "bitrate"},
		{"bad keyint", "program: {keyint: forever}", "duration"},
		{"jitter buffer too long", "program: {jitter_buffer: 5s}", "program.jitter_buffer"},
		{"bad source name", "sources: [{name: Cam 1}]", "sources[0].name"},
		{"duplicate source", "sources: [{name: a}, {name: a}]", "sources[1].name"},
		{"reserved name", "sources: [{name: black}]", "sources[0].name"},
		{"unsupported scheme", "sources: [{name: a, url: 'ftp://x'}]", "sources[0].url"},
		{"unknown generator", "sources: [{name: a, url: 'gen://noise'}]", "sources[0].url"},
		{"listen without port", "rtmp: {listen: localhost}", "rtmp.listen"},
		{"srt listen on a name", "srt: {listen: 'localhost:8890'}", "srt.listen"},
		{"srt latency too short", "srt: {latency: 1ms}", "srt.latency"},
		{"srt passphrase too short", "srt: {passphrase: abc}", "srt.passphrase"},
		{"srt connections", "srt: {max_connections: 0}", "srt.max_connections"},
		{"not yaml", "program: [", "config"},
		{"output bad scheme", "outputs: [{name: yt, url: 'http://x/live/k'}]", "outputs[0].url"},
		{"output without key", "outputs: [{name: yt, url: 'rtmp://x/live'}]", "outputs[0].url"},
		{"output twice", "outputs: [{name: yt, url: 'rtmp://x/a/k'}, {name: yt, url: 'rtmp://x/a/k'}]", "outputs[1].name"},
		{"output bitrate above program", "outputs: [{name: yt, url: 'rtmp://x/a/k', video_bitrate: 9M}]", "outputs[0].video_bitrate"},
		{"unknown output key", "outputs: [{name: yt, url: 'rtmp://x/a/k', bitrate: 1M}]", "outputs[0].bitrate: unknown key"},
		{"missing ca file", "tls: {ca_file: /nonexistent.pem}", "tls.ca_file"},
		{"bad timecode", "record: {timecode: noon}", "record.timecode"},
		{"timecode past 24h", "record: {timecode: '25:00:00:00'}", "record.timecode"},
		{"jitter buffer neither duration nor auto", "program: {jitter_buffer: soon}", "or auto"},
		{"source jitter buffer neither ms nor auto", "sources: [{name: a, jitter_buffer_ms: lots}]", "jitter_buffer_ms"},
		{"source jitter buffer too long", "sources: [{name: a, jitter_buffer_ms: 5000}]", "sources[0].jitter_buffer_ms"},
		{"follows an unknown source", "sources: [{name: mic, follows: cam}]", "sources[0].follows"},
		{"follows a source listed after", "sources: [{name: mic, follows: cam}, {name: cam}]", "sources[0].follows"},
		{"follows itself", "sources: [{name: mic, follows: mic}]", "sources[0].follows"},
		{"follows a follower", "sources: [{name: cam}, {name: mic, follows: cam}, {name: mic2, follows: mic}]", "sources[2].follows"},
		{"unknown encoder", "program: {encoder: av1}", "program.encoder"},
		{"unknown decode", "program: {decode: gpu}", "program.decode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "show.yaml")
			require.NoError(t, os.WriteFile(p, []byte(c.yaml), 0o644))
			_, err := LoadConfig(p, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

// TestJitterBufferAuto: auto, per source and for the program, from the
// show file and the environment; a microphone follows its camera.
func TestJitterBufferAuto(t *testing.T) {
	p := filepath.Join(t.TempDir(), "show.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`program: {jitter_buffer: auto}
sources: [{name: cam, jitter_buffer_ms: auto}, {name: mic, follows: cam}, {name: far, jitter_buffer_ms: 300}]
`), 0o644))
	cfg, err := LoadConfig(p, nil)
	require.NoError(t, err)
	require.Equal(t, mixer.AutoJitter, timeDuration(cfg.Program.JitterBuffer))
	require.Equal(t, ingest.JitterAuto, cfg.Sources[0].JitterBufferMS)
	require.Equal(t, "cam", cfg.Sources[1].Follows)
	require.Equal(t, 300*time.Millisecond, cfg.Sources[2].JitterBufferMS.Duration())
	cfg, err = LoadConfig(p, []string{"SWITCHYARD_PROGRAM_JITTER_BUFFER=100ms"})
	require.NoError(t, err)
	require.Equal(t, 100*time.Millisecond, timeDuration(cfg.Program.JitterBuffer))
	cfg, err = LoadConfig("", []string{"SWITCHYARD_PROGRAM_JITTER_BUFFER=auto"})
	require.NoError(t, err)
	require.Equal(t, mixer.AutoJitter, timeDuration(cfg.Program.JitterBuffer))

	// show.json and the API carry it as JSON: "auto" or milliseconds
	for _, c := range []struct {
		in   string
		want ingest.JitterMS
	}{{`"auto"`, ingest.JitterAuto}, {`120`, 120}, {`0`, 0}} {
		var j ingest.JitterMS
		require.NoError(t, json.Unmarshal([]byte(c.in), &j))
		require.Equal(t, c.want, j)
		out, err := json.Marshal(j)
		require.NoError(t, err)
		require.JSONEq(t, c.in, string(out))
	}
	var j ingest.JitterMS
	require.Error(t, json.Unmarshal([]byte(`"soon"`), &j))
	require.Error(t, json.Unmarshal([]byte(`-1`), &j), "auto's internal mark is not a value")
	_, err = LoadConfig(writeShow(t, "sources: [{name: a, jitter_buffer_ms: -1}]"), nil)
	require.ErrorContains(t, err, "jitter_buffer_ms")
}

// TestJitterBufferBoundIsOne: the show file's source and program jitter
// buffers, and the mixer, hold to one bound (media.MaxJitterBuffer): at it
// a show loads, a millisecond past it is refused with the key named and
// the bound said.
func TestJitterBufferBoundIsOne(t *testing.T) {
	require.Equal(t, media.MaxJitterBuffer, mixer.MaxJitterBuffer)
	require.Equal(t, media.MaxJitterBuffer, time.Duration(ingest.MaxJitterBufferMS)*time.Millisecond)
	ms := int(media.MaxJitterBuffer / time.Millisecond)
	cfg, err := LoadConfig(writeShow(t, fmt.Sprintf("program: {jitter_buffer: %dms}\nsources: [{name: a, jitter_buffer_ms: %d}]", ms, ms)), nil)
	require.NoError(t, err)
	require.Equal(t, media.MaxJitterBuffer, cfg.Sources[0].JitterBufferMS.Duration())
	_, err = LoadConfig(writeShow(t, fmt.Sprintf("sources: [{name: a, jitter_buffer_ms: %d}]", ms+1)), nil)
	require.ErrorContains(t, err, fmt.Sprintf("source a: jitter_buffer_ms %d must be between 0 (the program's) and %d, or auto", ms+1, ms))
	_, err = LoadConfig(writeShow(t, fmt.Sprintf("program: {jitter_buffer: %dms}", ms+1)), nil)
	require.ErrorContains(t, err, "program.jitter_buffer")
}

func TestEnvironmentOverrides(t *testing.T) {
	cfg, err := LoadConfig("", []string{"SWITCHYARD_HTTP_LISTEN=0.0.0.0:9000", "SWITCHYARD_HTTP_INSECURE=true", "SWITCHYARD_PROGRAM_VIDEO_BITRATE=2.5M",
		"SWITCHYARD_PROGRAM_FPS=29.97", "PATH=/bin"})
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9000", cfg.HTTP.Listen)
	require.Equal(t, 2_500_000, int(cfg.Program.VideoBitrate))
	num, den := cfg.Program.FPSRational()
	require.Equal(t, []int{30000, 1001}, []int{num, den})

	_, err = LoadConfig("", []string{"SWITCHYARD_PROGRAM_WIDHT=640"})
	require.ErrorContains(t, err, "SWITCHYARD_PROGRAM_WIDHT: unknown environment variable")
	_, err = LoadConfig("", []string{"SWITCHYARD_PROGRAM_WIDTH=wide"})
	require.ErrorContains(t, err, "SWITCHYARD_PROGRAM_WIDTH")
}

// buildBinary builds bin/switchyard for tests that run it as an operator would.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "switchyard")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	t.Run("bad config exits non-zero with one line", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "show.yaml")
		require.NoError(t, os.WriteFile(p, []byte("program:\n  width: 1280\n  colour: red\n"), 0o644))
		cmd := exec.Command(bin, "-config", p)
		out, err := cmd.CombinedOutput()
		require.Error(t, err)
		require.Equal(t, 1, cmd.ProcessState.ExitCode())
		require.Equal(t, "switchyard: program.colour: unknown key (line 3)\n", string(out))
	})

	t.Run("SIGINT stops it cleanly", func(t *testing.T) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "SWITCHYARD_HTTP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTMP_LISTEN=127.0.0.1:0", "SWITCHYARD_SRT_LISTEN=127.0.0.1:0", "SWITCHYARD_WEBRTC_UDP=127.0.0.1:0",
			"SWITCHYARD_RTSP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTSP_UDP_RTP=", "SWITCHYARD_RTSP_UDP_RTCP=", "SWITCHYARD_PROGRAM_WIDTH=320", "SWITCHYARD_PROGRAM_HEIGHT=180")
		logs := &logBuf{}
		cmd.Stderr = logs
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitFor(t, 20*time.Second, "switchyard running", func() bool { return strings.Contains(logs.String(), "switchyard running") })
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		select {
		case err := <-done:
			require.NoError(t, err, "exit status; log:\n%s", logs.String())
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("still running 20s after SIGINT; log:\n%s", logs.String())
		}
		require.Contains(t, logs.String(), "msg=stopped")
	})
}
