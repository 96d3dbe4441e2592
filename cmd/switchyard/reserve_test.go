package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/protocols/rtmp"
)

// probeCodecs lists the codecs ffprobe finds in a stream, in stream order.
func probeCodecs(t *testing.T, url string) string {
	t.Helper()
	codecs, err := probeCodecsErr(url)
	require.NoError(t, err)
	return codecs
}

// probeCodecsErr is probeCodecs for any goroutine. It probes 2 s of the
// stream: ffmpeg's RTMP client announces sound in the FLV header it makes
// up, so a stream without sound (Opus, not carried) was probed for the
// whole default 5 s; 2 s holds a key frame and many sound frames of every
// camera here. The codecs are what ffprobe prints; what its decoder says
// meanwhile (a picture missing its reference after a packet lost on a UDP
// leg upstream) is not, and goes with an error only.
func probeCodecsErr(url string) (string, error) {
	args := []string{"-v", "error", "-analyzeduration", "2000000", "-show_entries", "stream=codec_name", "-of", "csv=p=0"}
	if strings.HasPrefix(url, "rtsp") {
		args = append(args, "-rtsp_transport", "tcp")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "ffprobe", append(args, url)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("ffprobe %s: %w: %s%s", url, err, out, stderr.String())
	}
	return strings.Join(strings.Fields(string(out)), " "), nil
}

// meanVolumeErr decodes a second of a stream's sound and returns its RMS in
// dBFS; for any goroutine.
func meanVolumeErr(url string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-rtsp_transport", "tcp", "-i", url, "-t", "1",
		"-vn", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ffmpeg %s: %w: %s", url, err, out)
	}
	m := regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no mean_volume from ffmpeg %s: %s", url, out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
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
	// The cameras are read back side by side, each camera's three reads in
	// turn: each read is mostly ffmpeg setting up and probing a live
	// stream, so one camera after another took three times as long.
	wants := map[string]struct{ rtsp, rtmp string }{
		"opus": {"h264 opus", "h264"},
		"ulaw": {"h264 pcm_mulaw", "h264 pcm_mulaw"},
		"alaw": {"h264 pcm_alaw", "h264 pcm_alaw"},
	}
	type readBack struct {
		rtsp, rtmp string
		volume     float64
		err        error
	}
	got := map[string]*readBack{}
	var wg sync.WaitGroup
	for name := range wants {
		waitFor(t, 20*time.Second, name+" live with sound", func() bool {
			st := sourceStatus(t, a, name)
			return st.State == ingest.StateLive && st.Video != nil && st.Audio != nil
		})
		r := &readBack{}
		got[name] = r
		wg.Add(1)
		go func() { // each read bounded by its context
			defer wg.Done()
			var e1, e2, e3 error
			r.rtsp, e1 = probeCodecsErr(a.rtspURL("live/" + name))
			r.volume, e2 = meanVolumeErr(a.rtspURL("live/" + name))
			r.rtmp, e3 = probeCodecsErr(a.rtmpURL(name))
			r.err = errors.Join(e1, e2, e3)
		}()
	}
	wg.Wait()
	for name, want := range wants {
		r := got[name]
		require.NoError(t, r.err, name)
		require.Equal(t, want.rtsp, r.rtsp, "%s re-served over RTSP", name)
		// the camera's 440 Hz sine at −18 dBFS peak reads −21 dBFS RMS
		require.InDelta(t, -21, r.volume, 2.0, "%s: its sound re-served", name)
		require.Equal(t, want.rtmp, r.rtmp, "%s played over RTMP", name)
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
