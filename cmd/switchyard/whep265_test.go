package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/servers/webrtc/whiptest"
)

// TestWHEPH265: a camera that comes in with H.265 (over RTSP, from ffmpeg)
// is watched over WHEP in H.265, passed through: a viewer that offers
// H.265 gets it (the RTP, depacketised, decodes with ffmpeg), and one that
// offers only H.264 is told why it cannot watch.
func TestWHEPH265(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=30:bframes=0", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/cam1"))
	st := waitLive(t, a, "cam1")
	require.Equal(t, "h265", st.Video.Codec)
	url := "http://" + a.http.Addr().String() + "/whep/cam1"

	res, body := whipPost(t, "POST", url, "application/sdp", "", "", whiptest.NewViewerOf(t, webrtc.MimeTypeH264).Offer(t))
	require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
	require.Contains(t, body, "H.265", "the viewer is told why")

	v := whiptest.NewViewer(t)
	res, answer := whipPost(t, "POST", url, "application/sdp", "", "", v.Offer(t))
	require.Equal(t, http.StatusCreated, res.StatusCode, answer)
	require.Contains(t, answer, "H265")
	v.Answered(t, answer)
	waitFor(t, 20*time.Second, "H.265 and Opus at the viewer", func() bool { return v.Video.Load() > 400 && v.Audio.Load() > 50 })
	require.Equal(t, webrtc.MimeTypeH265, v.VideoCodec())

	// the pictures, depacketised (RFC 7798) and decoded
	f := &format.H265{PayloadTyp: 116}
	dec, err := f.CreateDecoder()
	require.NoError(t, err)
	var annexB []byte
	aus := 0
	for len(v.VideoPackets) > 0 {
		au, err := dec.Decode(<-v.VideoPackets)
		if err != nil {
			continue // more packets needed (or the first, cut)
		}
		key := false
		for _, n := range au {
			key = key || len(n) > 0 && (n[0]>>1)&0x3f >= 16 && (n[0]>>1)&0x3f <= 21 // IRAP (RFC 7798 1.1.4)
		}
		if aus == 0 && !key {
			continue // a viewer's decoder starts at a key frame
		}
		for _, n := range au {
			annexB = append(append(annexB, 0, 0, 0, 1), n...)
		}
		aus++
	}
	require.Greater(t, aus, 30, "access units received")
	file := filepath.Join(t.TempDir(), "got.h265")
	require.NoError(t, os.WriteFile(file, annexB, 0o600))
	probe := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,nb_read_frames", "-of", "csv=p=0", file)
	var errs strings.Builder
	probe.Stderr = &errs
	out, err := probe.Output()
	require.NoError(t, err, "%s", errs.String())
	require.Empty(t, errs.String(), "the pictures decode without an error")
	fields := strings.Split(strings.TrimSpace(string(out)), ",")
	require.Len(t, fields, 3, "%s", out)
	require.Equal(t, "hevc", fields[0])
	require.Equal(t, "320", fields[1])
	frames, err := strconv.Atoi(fields[2])
	require.NoError(t, err, "%s", out)
	t.Logf("H.265 over WHEP: %d video packets, %d access units, %d pictures decoded", v.Video.Load(), aus, frames)
	require.Greater(t, frames, 20, "pictures decode")
}
