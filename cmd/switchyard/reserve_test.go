package main

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/protocols/rtmp"
)

// probeCodecs lists the codecs ffprobe finds in a stream, in stream order.
func probeCodecs(t *testing.T, url string) string {
	t.Helper()
	args := []string{"-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0"}
	if strings.HasPrefix(url, "rtsp") {
		args = append(args, "-rtsp_transport", "tcp")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", append(args, url)...).CombinedOutput()
	require.NoError(t, err, "ffprobe %s: %s", url, out)
	return strings.Join(strings.Fields(string(out)), " ")
}

// meanVolume decodes a second of a stream's sound and returns its RMS in dBFS.
func meanVolume(t *testing.T, url string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-rtsp_transport", "tcp", "-i", url, "-t", "1",
		"-vn", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`).FindSubmatch(out)
	require.NotNil(t, m, "%s", out)
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestReserveEveryCodec: cameras with Opus, G.711 µ-law and A-law sound are
// re-served over RTSP with their sound as it came; RTMP play carries G.711
// (as FLV does, at 8 kHz) and tells the log and the player that Opus
// cannot be carried, the picture playing on.
func TestReserveEveryCodec(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "opus"}, ingest.SourceConfig{Name: "ulaw"}, ingest.SourceConfig{Name: "alaw"}))
	enc := map[string][]string{"opus": {"-c:a", "libopus", "-b:a", "64k"}, "ulaw": {"-c:a", "pcm_mulaw", "-ar", "8000"},
		"alaw": {"-c:a", "pcm_alaw", "-ar", "8000"}}
	for name, codec := range enc {
		args := []string{"-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=c=red:s=320x240:r=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
			"-pix_fmt", "yuv420p"}
		args = append(append(args, codec...), "-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/"+name))
		run(t, "ffmpeg", args...)
	}
	// The cameras are read back side by side: each read is mostly ffmpeg
	// probing a live stream (up to its 5 s analyzeduration), so one camera
	// after another took three times as long. t.Run waits for all three.
	t.Run("read back", func(t *testing.T) {
		for name, want := range map[string]struct{ rtsp, rtmp string }{
			"opus": {"h264 opus", "h264"},
			"ulaw": {"h264 pcm_mulaw", "h264 pcm_mulaw"},
			"alaw": {"h264 pcm_alaw", "h264 pcm_alaw"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				waitFor(t, 20*time.Second, name+" live with sound", func() bool {
					st := sourceStatus(t, a, name)
					return st.State == ingest.StateLive && st.Video != nil && st.Audio != nil
				})
				require.Equal(t, want.rtsp, probeCodecs(t, a.rtspURL("live/"+name)), "%s re-served over RTSP", name)
				// the camera's 440 Hz sine at −18 dBFS peak reads −21 dBFS RMS
				require.InDelta(t, -21, meanVolume(t, a.rtspURL("live/"+name)), 2.0, "%s: its sound re-served", name)
				require.Equal(t, want.rtmp, probeCodecs(t, a.rtmpURL(name)), "%s played over RTMP", name)
			})
		}
	})
	if t.Failed() {
		return
	}
	require.Contains(t, logs.String(), `msg="sound not carried to the player" component=ingest.rtmp`)
	require.Contains(t, logs.String(), "codec=opus")

	// The player is told too, in an onStatus warning.
	target, err := rtmp.ParseTarget(a.rtmpURL("opus"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := rtmp.Play(ctx, target, nil, rtmp.Timeouts{Connect: 10 * time.Second, Write: 5 * time.Second})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	for {
		typ, _, _, payload, err := c.ReadMessage()
		require.NoError(t, err, "no onStatus about the sound")
		if typ != 20 {
			continue
		}
		args, err := rtmp.DecodeAMF0(payload)
		require.NoError(t, err)
		if code, desc := rtmp.StatusOf(args); code == "NetStream.Play.UnsupportedCodec" {
			require.Contains(t, desc, "opus cannot be carried")
			break
		}
	}
}
