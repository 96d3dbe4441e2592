package show

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/output/record"
)

// TestRemovingASourceEndsItsCameraFile: a source removed from the show
// during a recording of every camera, through the one transaction, has its
// camera file ended there and then — every picture it sent in, the file
// complete (its duration written, as ffprobe reads it) — while the session
// and the program go on; a source added during the recording is recorded.
// The recorder was outside the transaction: the removed camera's file stayed
// open and "recording" until the session stopped, and a camera added during
// a session was not recorded.
func TestRemovingASourceEndsItsCameraFile(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed (make deps)")
	}
	es, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-frames:v", "45",
		"-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p", "-f", "h264", "-").Output()
	require.NoError(t, err)
	video, err := media.H264TrackFromAnnexB(es, 30)
	require.NoError(t, err)
	var aus [][]byte
	for _, nalu := range media.AnnexBNALUs(es) {
		if typ := h264.NALUType(nalu[0] & 0x1f); typ == h264.NALUTypeIDR || typ == h264.NALUTypeNonIDR {
			aus = append(aus, nalu)
		}
	}
	require.Len(t, aus, 45)

	s := newSetup()
	dir := t.TempDir()
	epoch := time.Now().Add(-time.Minute)
	var mu sync.Mutex
	var started time.Time
	rec := record.New(record.Options{Dir: dir, FPSNum: 30, FPSDen: 1, MinFreeBytes: 1,
		ProgramEpoch: func() time.Time { return epoch },
		// as the mixer times its inputs: each camera's time 0 at the session's start
		SourceOffset: func(string) (time.Duration, bool) {
			mu.Lock()
			defer mu.Unlock()
			return started.Sub(epoch), !started.IsZero()
		},
		Sources: func() map[string]*media.Stream {
			out := map[string]*media.Stream{}
			for _, src := range s.reg.List() {
				out[src.Name()] = src.Stream()
			}
			return out
		}}, slog.New(slog.DiscardHandler))
	defer rec.Close()
	s.ss = NewSources(s.reg, s.inputs, s.paths, rec, Generators{}, slog.New(slog.DiscardHandler))
	defer s.ss.Close()

	_, err = s.ss.Add(ingest.SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	info, err := rec.Start(record.StartRequest{})
	require.NoError(t, err)
	mu.Lock()
	started = info.StartedAt
	mu.Unlock()
	_, err = s.ss.Add(ingest.SourceConfig{Name: "cam2"}) // during the recording
	require.NoError(t, err)
	publish := func(name string) {
		src, ok := s.reg.Get(name)
		require.True(t, ok)
		src.Stream().SetTracks(video)
		for k, au := range aus { // as a publisher that sends in bursts: one and a half seconds at once
			pts := time.Duration(k) * time.Second / 30
			src.Stream().WriteUnit(&media.Unit{Track: video, PTS: pts, DTS: pts, Key: k%30 == 0, Data: [][]byte{au}})
		}
	}
	publish("cam1")
	publish("cam2")

	require.NoError(t, s.ss.Remove("cam1"))
	_, active := rec.Active()
	require.True(t, active, "the recording goes on")
	cam1 := filepath.Join(dir, info.ID, "cam1.mp4")
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
		"-show_entries", "stream=nb_read_frames:format=duration", "-of", "json", cam1).Output()
	require.NoError(t, err, "ffprobe reads cam1.mp4 while the session runs")
	var probe struct {
		Streams []struct {
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	require.NoError(t, json.Unmarshal(out, &probe))
	require.Len(t, probe.Streams, 1)
	require.Equal(t, "45", probe.Streams[0].Frames, "every picture cam1 sent is in its file")
	d, err := strconv.ParseFloat(probe.Format.Duration, 64)
	require.NoError(t, err, "the file is complete: its duration is written")
	require.InDelta(t, 1.5, d, 0.05, "the file is complete: its duration is written")
	state := func(name string) string {
		in, _ := rec.Active()
		for _, src := range in.Sources {
			if src.Name == name {
				return src.State
			}
		}
		return ""
	}
	require.Equal(t, "stopped", state("cam1"))

	in, err := rec.Stop()
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(dir, in.ID, "cam2.mp4"))
	require.NoError(t, err, "cam2, added during the recording, is recorded")
	require.NotZero(t, st.Size())
}
