package main

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/ingest/replay"
	"switchyard/media"
)

// readProgramBars decodes the program's RTSP stream as it plays and sends
// each program frame's bar code (conform_helpers_test.go) on the channel.
func readProgramBars(t *testing.T, a *app) <-chan bars {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", a.rtspURL("program"),
		"-map", "0:v", "-vf", fmt.Sprintf("scale=%d:%d:flags=area", barW, barH), "-fps_mode", "passthrough",
		"-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	out := make(chan bars, 4096)
	go func() {
		defer close(done)
		defer close(out)
		const size = barW*barH + 2*(barW/2)*(barH/2)
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(stdout, buf); err != nil {
				_ = cmd.Wait()
				return
			}
			var b bars
			copy(b[:], buf)
			out <- b
		}
	}()
	return out
}

// A replay of cam1's recent past at 50 %, cut to program while its marked
// frame stands: the program shows the camera's counter from the marked
// frame, then stepping by one every two program frames to the range's end.
// The replay is saved as a clip whose video samples are the camera's own
// bytes, and ffmpeg plays it.
func TestReplayOnProgram(t *testing.T) {
	mustHaveTools(t)
	a, cfg := replayBarCamera(t, nil, 7*time.Second)
	program := readProgramBars(t, a)
	select { // the reader is under way (it starts at a program key frame)
	case _, ok := <-program:
		require.True(t, ok, "the program reader ended")
	case <-time.After(20 * time.Second):
		t.Fatal("no program frame read within 20 s")
	}

	var info replay.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/replay"), `{"source":"cam1","from_s":-5,"to_s":-3,"speed":0.5,"take":true}`, &info))
	markN, endN := frameOf(info.MarkPTSS), frameOf(info.EndPTSS)
	require.InDelta(t, 60, endN-markN, 1, "2 s of a 30 fps camera")
	var st struct{ Program string }
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", &st))
	require.Equal(t, "replay", st.Program, "take: the replay is on program")

	// the replay's frames on program, as runs of one counter value
	type runOf struct{ n, frames int }
	var runs []runOf
	timeout := time.After(30 * time.Second)
	for len(runs) == 0 || runs[len(runs)-1].n < endN || runs[len(runs)-1].frames < 2 {
		select {
		case b, ok := <-program:
			require.True(t, ok, "the program reader ended")
			n, id, clear := b.read()
			if !clear || id != 1 {
				require.Empty(t, runs, "a frame not of cam1 (%v) amid the replay", b)
				continue
			}
			if len(runs) > 0 && runs[len(runs)-1].n == n {
				runs[len(runs)-1].frames++
			} else {
				runs = append(runs, runOf{n, 1})
			}
		case <-timeout:
			t.Fatalf("the replay did not reach frame %d on program within 30 s; runs %v", endN, runs)
		}
	}
	require.Equal(t, markN, runs[0].n, "the program shows the replay from the marked frame; runs %v", runs)
	require.Equal(t, endN, runs[len(runs)-1].n, "… to the range's last frame; runs %v", runs)
	irregular := 0
	for i := 1; i < len(runs); i++ {
		require.Equal(t, runs[i-1].n+1, runs[i].n, "the counter steps by one; runs %v", runs)
		if i < len(runs)-1 && runs[i].frames != 2 {
			irregular++
		}
	}
	require.LessOrEqual(t, irregular, 1, "each frame of the camera twice on program at 50 %%; runs %v", runs)
	holdsOnProgram(t, program, endN)

	// the saved clip: the camera's own bytes, and it plays
	var list []replay.Info
	waitFor(t, 20*time.Second, "the replay saved", func() bool {
		require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/replays"), "", &list))
		require.Len(t, list, 1)
		return !list[0].Saving
	})
	require.Empty(t, list[0].SaveError)
	require.True(t, strings.HasPrefix(list[0].File, "replay-") && strings.HasSuffix(list[0].File, "-cam1.mp4"), list[0].File)
	file := filepath.Join(cfg.DataDir, "clips", list[0].File)
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_packets", "-show_data_hash", "MD5",
		"-show_entries", "packet=data_hash", "-of", "csv=p=0", file).Output()
	require.NoError(t, err, file)
	got := strings.Fields(string(bytes.ReplaceAll(out, []byte("MD5:"), nil)))
	units, _ := a.replay.Buffer("cam1").Snapshot()
	var want []string
	for _, u := range units {
		if u.Track.Kind == media.KindVideo && u.PTS >= time.Duration(info.KeyPTSS*1e9)-time.Millisecond &&
			u.PTS <= time.Duration(info.EndPTSS*1e9)+time.Millisecond {
			want = append(want, sampleMD5(u))
		}
	}
	require.NotEmpty(t, want)
	require.Equal(t, want, got, "the clip's video samples are the camera's units, byte for byte")
	decoded, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-map", "0:v", "-f", "framecrc", "-").Output()
	require.NoError(t, err, "ffmpeg decodes the clip")
	require.Equal(t, len(want), bytes.Count(decoded, []byte("\n0,")), "every frame decodes")
}

// sampleMD5 is the MD5 of a unit as an MP4 sample: its NAL units with
// 4-byte lengths, the parameter sets the ingest put in front left out.
func sampleMD5(u *media.Unit) string {
	nalus := u.Data
	if len(nalus) > 2 && bytes.Equal(nalus[0], u.Track.SPS) && bytes.Equal(nalus[1], u.Track.PPS) {
		nalus = nalus[2:]
	}
	var b []byte
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// Bad replay requests through the API each get a clear error, and the
// program stays on what it showed; the replay keys come from the show
// file and the environment.
func TestReplayAPIBadInput(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"}, ingest.SourceConfig{Name: "cam2"})
	cfg.Replay.Enabled = true
	cfg.Replay.Buffer = Duration(3 * time.Second)
	a, _ := startApp(t, cfg)
	waitPicture(t, a, "cam1")
	waitFor(t, 30*time.Second, "2 s of cam1 in the replay buffer", func() bool {
		_, _, span := a.replay.Buffer("cam1").Size()
		return span >= 2*time.Second
	})
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	for _, c := range []struct {
		body   string
		status int
		field  string
		says   string
	}{
		{`{"source":"cam1","from_s":-30,"speed":0.5}`, http.StatusBadRequest, "from_s", "older than the buffer"},
		{`{"source":"cam1","from_s":-1,"speed":0.3}`, http.StatusBadRequest, "speed", "0.25, 0.5, 0.75, 1"},
		{`{"source":"cam1","from_s":-1,"speed":0.5,"slow":"smooth"}`, http.StatusBadRequest, "slow", "repeat or blend"},
		{`{"source":"cam1","from_s":2}`, http.StatusBadRequest, "from_s", "seconds before now"},
		{`{"source":"cam1","from_s":-1,"to_s":-2}`, http.StatusBadRequest, "to_s", "after from_s"},
		{`{"source":"cam9","from_s":-1}`, http.StatusNotFound, "", "no source"},
		{`{"source":"cam2","from_s":-1}`, http.StatusConflict, "", "offline"},
		{`{"source":"replay","from_s":-1}`, http.StatusBadRequest, "source", "cannot be replayed"},
		{`{"speed":1}`, http.StatusBadRequest, "from_s", "mark-in"},
		{`{"source":"cam1","from_s":-1,"sped":1}`, http.StatusBadRequest, "sped", "sped"},
	} {
		t.Run(c.body, func(t *testing.T) {
			var e struct{ Error, Field string }
			require.Equal(t, c.status, api(t, "POST", a.apiURL("/replay"), c.body, &e))
			require.Contains(t, e.Error, c.says)
			require.Equal(t, c.field, e.Field)
			var st struct{ Program string }
			require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", &st))
			require.Equal(t, "cam1", st.Program, "the program is not disturbed")
		})
	}
	var list []replay.Info
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/replays"), "", &list))
	require.Empty(t, list, "nothing played")

	// the replay source is the replayer's: not changed, removed or saved through the API
	var e struct{ Error, Field string }
	require.Equal(t, http.StatusBadRequest, api(t, "DELETE", a.apiURL("/sources/replay"), "", &e))
	require.Contains(t, e.Error, "instant replay")
	require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL("/sources/replay"), `{"publish_key":"mine"}`, &e))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"cam3"}`, nil))
	saved, err := os.ReadFile(filepath.Join(cfg.DataDir, "show.json"))
	require.NoError(t, err)
	var kept struct{ Sources []struct{ Name string } }
	require.NoError(t, json.Unmarshal(saved, &kept))
	var names []string
	for _, s := range kept.Sources {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"cam1", "cam2", "cam3"}, names, "show.json does not keep the replay source")

	// a replay while one plays replaces it; marks; the program stays
	var first, second replay.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/replay"), `{"source":"cam1","from_s":-1,"speed":0.25}`, &first))
	var m replay.Mark
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/replay/mark-in"), "", &m), "mark-in on the program's source")
	require.Equal(t, "cam1", m.Source)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/replay/mark-out"), `{"source":"cam1"}`, &m))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/replay"), `{"speed":1}`, &e), "from the marks: %s", e.Error)
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/replays"), "", &list))
	second = list[0]
	require.NotEqual(t, first.ID, second.ID)
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/replays"), "", &list))
	require.Len(t, list, 2)
	require.Equal(t, second.ID, list[0].ID, "newest first")
	var st struct{ Program string }
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", &st))
	require.Equal(t, "cam1", st.Program)
}

func TestReplayConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("replay: { enabled: true, buffer: 30s, max_bytes: 1000000 }\n"))
	require.NoError(t, err)
	require.NoError(t, cfg.applyEnv([]string{"SWITCHYARD_REPLAY_BUFFER=20s"}))
	require.NoError(t, cfg.Validate())
	require.Equal(t, Duration(20*time.Second), cfg.Replay.Buffer)
	require.Equal(t, int64(1000000), cfg.Replay.MaxBytes)
	require.True(t, cfg.Replay.Enabled)

	cfg, err = ParseConfig([]byte("replay: { enabled: true }\nsources: [ { name: replay } ]\n"))
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Validate(), "sources[0].name")
	cfg, err = ParseConfig([]byte("replay: { buffer: 11m }\n"))
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Validate(), "replay.buffer")

	// slow and on_end: the file, the environment; anything else refused by name
	require.Equal(t, replay.EndHold, defaults().Replay.OnEnd, "a replay holds its last frame by default")
	cfg, err = ParseConfig([]byte("replay: { enabled: true, slow: blend, on_end: next, disk_max_bytes: 5000000 }\n"))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, replay.SlowBlend, cfg.Replay.Slow)
	require.Equal(t, replay.EndNext, cfg.Replay.OnEnd)
	require.Equal(t, int64(5000000), cfg.Replay.DiskMaxBytes)
	require.NoError(t, cfg.applyEnv([]string{"SWITCHYARD_REPLAY_SLOW=repeat", "SWITCHYARD_REPLAY_ON_END=hold", "SWITCHYARD_REPLAY_DISK_MAX_BYTES=-1"}))
	require.NoError(t, cfg.Validate())
	require.Equal(t, replay.SlowRepeat, cfg.Replay.Slow)
	require.Equal(t, replay.EndHold, cfg.Replay.OnEnd)
	require.Equal(t, int64(-1), cfg.Replay.DiskMaxBytes)
	for _, c := range []struct{ yaml, key string }{
		{"replay: { slow: fast }\n", "replay.slow"},
		{"replay: { on_end: black }\n", "replay.on_end"},
		{"replay: { on_end: slate }\n", "replay.on_end"},
		{"replay: { disk_max_bytes: -2 }\n", "replay.disk_max_bytes"},
	} {
		cfg, err = ParseConfig([]byte(c.yaml))
		require.NoError(t, err)
		require.ErrorContains(t, cfg.Validate(), c.key, c.yaml)
	}
}

// replayBarCamera starts a show with replay on (a 20 s buffer; set changes
// cfg first), the bar-code camera cam1 pushed over RTMP, and waits for span
// of it in the replay buffer. It returns the show and its config.
func replayBarCamera(t *testing.T, set func(*Config), span time.Duration) (*app, *Config) {
	t.Helper()
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"})
	cfg.Replay.Enabled = true
	cfg.Replay.Buffer = Duration(20 * time.Second)
	if set != nil {
		set(cfg)
	}
	a, _ := startApp(t, cfg)
	run(t, "ffmpeg", append(barCamera(1, "30", 30, false), "-f", "flv", a.rtmpURL("cam1"))...)
	waitPicture(t, a, "cam1")
	waitFor(t, 30*time.Second, fmt.Sprintf("%v of cam1 in the replay buffer", span), func() bool {
		_, _, got := a.replay.Buffer("cam1").Size()
		return got >= span
	})
	return a, cfg
}
