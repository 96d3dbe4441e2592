package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
