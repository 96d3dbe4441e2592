package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/output/record"
)

// TestRecordingMicrophone: a presenter microphone pushed over RTMP with no
// picture, heard always, is recorded into mic1.m4a that plays to the end
// (ffmpeg, GStreamer), on the session's timecode, and is an A3 event of
// the EDL beside the cameras' picture. It was never recorded: its file
// waited for a video frame, and the session listed no file and no error.
// Beside it an IP camera's H.265 and G.711 over RTSP: its file is hvc1
// (hev1 before, which Apple's tools and Premiere refuse) and 16-bit PCM
// that GStreamer and mediainfo read (ipcm before: neither did).
func TestRecordingMicrophone(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "mic1"}, ingest.SourceConfig{Name: "ipcam"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "log-level=error:keyint=25:bframes=0", "-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1",
		"-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/ipcam"))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", a.rtmpURL("mic1"))
	waitLive(t, a, "cam1")
	waitLive(t, a, "ipcam")
	waitFor(t, 20*time.Second, "mic1 live", func() bool { return sourceStatus(t, a, "mic1").State == ingest.StateLive })
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/audio/mic1"), `{"mode":"on"}`, nil))
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	after := func(frames uint64) {
		n := a.mixer.Stats().FramesOut
		waitFor(t, 20*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut >= n+frames })
	}
	after(15)
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, &in))
	after(90)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &in))
	require.Empty(t, in.Errors)
	states := map[string]string{}
	for _, s := range in.Sources {
		states[s.Name] = s.State
	}
	require.Equal(t, map[string]string{"cam1": "stopped", "mic1": "stopped", "ipcam": "stopped", "program": "stopped"}, states)

	dir := filepath.Join(a.recorder.Dir(), in.ID)
	mic := filepath.Join(dir, "mic1.m4a")
	p := probeFile(t, mic)
	kinds := ""
	for _, s := range p.Streams {
		kinds += s.CodecType + " "
	}
	require.Equal(t, "audio data ", kinds, "mic1.m4a: its sound and a timecode")
	var startS float64
	for _, f := range in.Files {
		if f.Name == "mic1.m4a" {
			startS = f.StartS
		}
	}
	pts := packetTimes(t, mic, "a")
	end := startS + pts[len(pts)-1]
	require.InDelta(t, in.DurationS, end, 0.1, "it plays to the end of the session")
	require.LessOrEqual(t, startS, 0.03, "from the session's start")
	playsCleanly(t, mic)
	out, err := exec.Command("gst-launch-1.0", "-q", "filesrc", "location="+mic, "!", "qtdemux", "!", "decodebin", "!",
		"audioconvert", "!", "fakesink", "sync=false").CombinedOutput()
	require.NoError(t, err, "GStreamer plays it: %s", out)
	require.InDelta(t, tcFrames(t, in.Timecode, 30), tcFrames(t, fileTimecode(t, mic), 30), 1, "on the session's clock")

	ipcam := filepath.Join(dir, "ipcam.mp4")
	out, err = exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_tag_string", "-of", "csv=p=0", ipcam).Output()
	require.NoError(t, err)
	require.Equal(t, "hvc1\ntwos\ntmcd", strings.TrimSpace(string(out)), "H.265 as hvc1, G.711 as 16-bit PCM, a timecode")
	require.Equal(t, "PCM", mediainfoAudio(t, ipcam, "Format"))
	out, err = exec.Command("gst-launch-1.0", "-q", "filesrc", "location="+ipcam, "!", "qtdemux", "name=d",
		"d.video_0", "!", "queue", "!", "decodebin", "!", "fakesink", "sync=false",
		"d.audio_0", "!", "queue", "!", "decodebin", "!", "audioconvert", "!", "fakesink", "sync=false").CombinedOutput()
	require.NoError(t, err, "GStreamer plays it: %s", out)
	playsCleanly(t, ipcam)

	edl, err := os.ReadFile(filepath.Join(dir, "cuts.edl"))
	require.NoError(t, err)
	_, all, _ := readEDL(t, string(edl), 30)
	// a camera picture that came late aired twice: the list goes on with
	// the same reel in a new event (frame-exact); each line, one take
	var events []cmxEvent
	last := map[string]int{} // reel+channel → its take in events
	for _, ev := range all {
		k := ev.reel + " " + ev.channel
		if i, ok := last[k]; ok && ev.trans == "C" && events[i].rec1 == ev.rec0 {
			events[i].rec1, events[i].src1 = ev.rec1, ev.src1
			continue
		}
		last[k] = len(events)
		events = append(events, ev)
	}
	var channels []string
	for _, ev := range events {
		channels = append(channels, ev.reel+" "+ev.channel)
	}
	require.Equal(t, []string{"CAM1 V", "CAM1 AA", "MIC1 A3"}, channels, "%s", edl)
	require.Equal(t, events[0].rec0, events[2].rec0)
	require.Equal(t, events[0].rec1, events[2].rec1, "heard all along")
	require.True(t, strings.HasSuffix(events[2].clip, "mic1.m4a"))
}

// TestMarkersRefuseBadInput: a marker needs a recording (409), a name on
// one line of at most 64 characters and one of the locator colours (400
// naming the field); nothing else in the body.
func TestMarkersRefuseBadInput(t *testing.T) {
	a, _ := startApp(t, testConfig(t))
	var e struct{ Error, Field string }
	require.Equal(t, http.StatusConflict, api(t, "POST", a.apiURL("/recording/markers"), `{"name":"early"}`, &e))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), `{"program":true,"iso":false}`, nil))
	for body, field := range map[string]string{
		`{"name":""}`:           "name",
		`{"name":"   "}`:        "name",
		`{"name":"two\nlines"}`: "name",
		`{"name":"` + strings.Repeat("x", 65) + `"}`: "name",
		`{"name":"ok","color":"mauve"}`:              "color",
		`{"name":"ok","colour":"red"}`:               "",
		`{"name":"ok"`:                               "",
	} {
		e = struct{ Error, Field string }{}
		require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/recording/markers"), body, &e), body)
		require.NotEmpty(t, e.Error, body)
		if field != "" {
			require.Equal(t, field, e.Field, body)
		}
	}
	var m record.Marker
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/markers"), `{"name":"Ada's entrance ✓"}`, &m))
	require.Equal(t, "red", m.Color)
	require.Len(t, m.Timecode, 11)
	var in record.Info
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &in))
	require.Equal(t, []record.Marker{m}, in.Markers)
}
