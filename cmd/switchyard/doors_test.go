package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestRoutineRefusalsAreNotErrors: a snapshot of a source with no picture
// yet is a 503 that tells the operator to try again — routine, so the log
// does not cry ERROR over it (only a 500 does).
func TestRoutineRefusalsAreNotErrors(t *testing.T) {
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	var e struct{ Error string }
	require.Equal(t, http.StatusServiceUnavailable, api(t, "GET", a.apiURL("/sources/cam1/snapshot.jpg"), "", &e))
	require.Contains(t, e.Error, "try again when it is live")
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/sources/cam1"), "", nil)) // the request above is logged by now
	require.NotContains(t, logs.String(), "level=ERROR", "a routine refusal is not an error")
}

// TestRTSPPublisherEndsCleanly: an RTSP publisher that ends its stream
// (TEARDOWN) is let go cleanly — ffmpeg exits 0 as it does against any
// server — and the source goes offline.
func TestRTSPPublisherEndsCleanly(t *testing.T) {
	mustHaveTools(t)
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel() // each its own show and 3 s publisher
			a, logs := startAppUDP(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
			args := append(lavfiInput("red", "320x240", 30), "-t", "3", "-f", "rtsp", "-rtsp_transport", transport, a.rtspURL("live/cam1"))
			p := run(t, "ffmpeg", args...)
			waitLive(t, a, "cam1")
			require.NoError(t, p.wait(t, 30*time.Second), "ffmpeg ends its publish without an error: %s", p.stderr.String())
			require.Empty(t, p.stderr.String())
			waitFor(t, 10*time.Second, "cam1 offline", func() bool {
				var st ingest.Status
				return api(t, "GET", a.apiURL("/sources/cam1"), "", &st) == http.StatusOK && st.State == ingest.StateOffline
			})
			line := regexp.MustCompile(`msg="publisher disconnected"[^\n]*source=cam1[^\n]*`).FindString(logs.String())
			require.NotEmpty(t, line, "the end is logged")
			t.Log(line)
		})
	}
}

// TestRTMPPlaySaysWhatItCannotCarry: a player asking RTMP for an H.265
// camera (classic FLV carries H.264 only) is told why in the refusal — it
// reaches the player's own error output — instead of a silent end.
func TestRTMPPlaySaysWhatItCannotCarry(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=30", "-pix_fmt", "yuv420p",
		"-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/cam1"))
	st := waitLive(t, a, "cam1")
	require.Equal(t, "h265", st.Video.Codec)
	out, err := runFor(t, 30*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", a.rtmpURL("cam1"), "-frames:v", "1", "-f", "null", "-")
	require.Error(t, err, "the play is refused")
	require.Contains(t, out, "cannot be carried over RTMP", "the player is told why")
	require.Contains(t, out, "read this stream over RTSP", "and what to do")
	require.Contains(t, logs.String(), "play refused")
}

// runFor runs a command to its end within d (killed past it) and returns
// its combined output.
func runFor(t *testing.T, d time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	require.NoError(t, ctx.Err(), "%s ended within %s: %s", name, d, out)
	return string(out), err
}

// TestReserveFollowsANewResolution: a camera that comes back at another
// size is described anew to RTSP readers (its re-serve is rebuilt at its
// first key frame), with its new size, sound and all.
func TestReserveFollowsANewResolution(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	probe := func() string {
		out, err := runFor(t, 30*time.Second, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "10000000",
			"-show_entries", "stream=codec_type,codec_name,width,height", "-of", "compact=p=0:nk=0", a.rtspURL("live/cam1"))
		require.NoError(t, err, "ffprobe: %s", out)
		return out
	}
	for _, size := range []string{"320x240", "640x360"} {
		cam := pushRTMP(t, a, "cam1", "blue", size, 30)
		waitFor(t, 20*time.Second, "cam1 live at "+size, func() bool {
			var st ingest.Status
			return api(t, "GET", a.apiURL("/sources/cam1"), "", &st) == http.StatusOK && st.State == ingest.StateLive &&
				st.Video != nil && fmt.Sprintf("%dx%d", st.Video.Width, st.Video.Height) == size
		})
		w, h, _ := strings.Cut(size, "x")
		out := probe()
		require.Contains(t, out, "codec_name=h264|codec_type=video|width="+w+"|height="+h, "the re-serve describes the camera as it is now")
		require.Contains(t, out, "codec_name=aac|codec_type=audio")
		cam.kill()
		waitFor(t, 10*time.Second, "cam1 gone", func() bool {
			var st ingest.Status
			return api(t, "GET", a.apiURL("/sources/cam1"), "", &st) == http.StatusOK && st.State != ingest.StateLive
		})
	}
}
