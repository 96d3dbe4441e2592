package main

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
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
// colour of every decoded picture.
func readSRTColours(t *testing.T, u string) <-chan rgb {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-i", u, "-t", "30"}, decodeArgs...)...)
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

	waitColour(t, readSRTColours(t, a.srtURL("read:program")), "red", 20*time.Second)
	waitColour(t, readSRTColours(t, a.srtURL("#!::r=program,m=request")), "red", 20*time.Second)
	waitColour(t, readSRTColours(t, a.srtURL("read:cam1")), "red", 20*time.Second)

	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,sample_rate",
		"-of", "compact=p=0:nk=0", a.srtURL("read:program")).CombinedOutput()
	require.NoError(t, err, "ffprobe: %s", out)
	require.Contains(t, string(out), "codec_name=h264|width=320|height=240")
	require.Contains(t, string(out), "codec_name=aac|sample_rate=48000")
	require.Contains(t, logs.String(), "publishing")
	require.Zero(t, sourceStatus(t, a, "cam1").Malformed)
}
