package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/output/record"
)

// switchyardProc is the switchyard executable run by a test as an operator runs it.
type switchyardProc struct {
	cmd        *exec.Cmd
	logs       *logBuf
	done       chan error
	api, rtmp  string // http://HOST:PORT/api/v1, rtmp://HOST:PORT/live/
	exitStatus error
}

var runningLine = regexp.MustCompile(`panel=(\S+) rtmp=(\S+)NAME`)

// startBinary runs bin with a config file and waits until it listens.
func startBinary(t *testing.T, bin, config string) *switchyardProc {
	t.Helper()
	b := &switchyardProc{cmd: exec.Command(bin, "-config", config), logs: &logBuf{}, done: make(chan error, 1)}
	b.cmd.Stderr = b.logs
	require.NoError(t, b.cmd.Start())
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			_ = b.cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("switchyard log:\n%s", b.logs.String())
		}
	})
	var m []string
	waitFor(t, 30*time.Second, "switchyard running", func() bool {
		m = runningLine.FindStringSubmatch(b.logs.String())
		return m != nil
	})
	b.api, b.rtmp = m[1]+"/api/v1", m[2]
	return b
}

// stop signals the process and waits for it to end.
func (b *switchyardProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, b.cmd.Process.Signal(sig))
	select {
	case b.exitStatus = <-b.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("switchyard still running 30s after %s", sig)
	}
}

// playsCleanly decodes a whole file and fails on any error ffmpeg reports.
// The frames keep the file's own time base (-enc_time_base -1): rounded to
// the frame rate, two frames a tick under half a frame apart apiece could
// land on one slot, which says nothing about the file.
func playsCleanly(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", file, "-enc_time_base", "-1", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "%s: %s", file, out)
	require.Empty(t, strings.TrimSpace(string(out)), "%s decodes without errors", file)
}

func TestRecordingSurvivesSIGKILL(t *testing.T) {
	mustHaveTools(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "show.yaml")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`
http:    { listen: "127.0.0.1:0" }
rtmp:    { listen: "127.0.0.1:0" }
rtsp:    { listen: "127.0.0.1:0", udp_rtp: "", udp_rtcp: "" }
srt:     { listen: "127.0.0.1:0" }
program: { width: 320, height: 240, fps: 30, video_bitrate: 600k, audio_bitrate: 96k, keyint: 1s }
data_dir: %s
record:  { program: true, iso: true, fragment: 500ms, min_free_mb: 1 }
sources:
  - { name: cam1 }
  - { name: cam2 }
`, filepath.Join(dir, "data"))), 0o644))

	sw := startBinary(t, bin, config)
	run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "flv", sw.rtmp+"cam1")...)
	run(t, "ffmpeg", append(lavfiInput("blue", "320x240", 30), "-f", "flv", sw.rtmp+"cam2")...)
	for _, cam := range []string{"cam1", "cam2"} {
		waitFor(t, 20*time.Second, cam+" live", func() bool {
			var st ingest.Status
			return api(t, "GET", sw.api+"/sources/"+cam, "", &st) == http.StatusOK && st.State == ingest.StateLive && st.Video != nil
		})
	}
	require.Equal(t, http.StatusOK, api(t, "POST", sw.api+"/program", `{"source":"cam1"}`, nil))
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", sw.api+"/recording/start", ``, &in))
	recorded := func(sec float64) {
		waitFor(t, 30*time.Second, fmt.Sprintf("%.0f s recorded", sec), func() bool {
			var list []record.Info
			mustAPI(t, "GET", sw.api+"/recordings", "", &list)
			return len(list) == 1 && list[0].DurationS >= sec
		})
	}
	recorded(3)
	require.Equal(t, http.StatusOK, api(t, "POST", sw.api+"/program", `{"source":"cam2"}`, nil))
	recorded(6.5)

	killedAt := time.Now()
	sw.stop(t, syscall.SIGKILL)
	var sj struct {
		StartedAt time.Time `json:"started_at"`
		State     string
		Events    []struct{ Kind, To string }
		Tracks    []struct {
			Files []struct {
				File   string  `json:"file"`
				StartS float64 `json:"start_s"`
			} `json:"files"`
		} `json:"tracks"`
	}
	session := filepath.Join(dir, "data", "recordings", in.ID)
	b, err := os.ReadFile(filepath.Join(session, "session.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sj))
	require.Equal(t, "recording", sj.State, "nobody had the chance to say otherwise")
	killedS := killedAt.Sub(sj.StartedAt).Seconds()
	startS := map[string]float64{} // each file's start on the session's timebase (a camera's before it: its pre-roll)
	for _, tr := range sj.Tracks {
		for _, f := range tr.Files {
			startS[f.File] = f.StartS
		}
	}

	// Every file plays as it is on disk, to within a second of the kill.
	for _, name := range []string{"program.mp4", "cam1.mp4", "cam2.mp4"} {
		file := filepath.Join(session, name)
		playsCleanly(t, file)
		p := probeFile(t, file)
		require.Len(t, p.Streams, 3, "%s has video, audio and timecode", name)
		require.Contains(t, startS, name)
		for _, st := range []string{"v", "a"} {
			pts := packetTimes(t, file, st)
			end := startS[name] + pts[len(pts)-1]
			t.Logf("%s %s: ends %.3f s into the session, killed at %.3f s: %.3f s lost", name, st, end, killedS, killedS-end)
			require.Less(t, killedS-end, 1.0, "%s %s plays to within 1 s of the kill", name, st)
		}
	}
	edl, err := os.ReadFile(filepath.Join(session, "cuts.edl"))
	require.NoError(t, err)
	_, all, _ := readEDL(t, string(edl), 30)
	events := takes(t, videoEvents(all))
	require.Len(t, events, 2, "cam1 then cam2: %s", edl)
	require.Equal(t, "CAM2", events[1].reel)
	progTC := tcFrames(t, fileTimecode(t, filepath.Join(session, "program.mp4")), 30)
	require.Greater(t, float64(events[1].rec1-progTC)/30, killedS-3, "the edit list is rewritten as the show goes, not only at the end:\n%s", edl)

	// Started again, the session is listed as interrupted with its files.
	sw = startBinary(t, bin, config)
	var list []record.Info
	require.Equal(t, http.StatusOK, api(t, "GET", sw.api+"/recordings", "", &list))
	require.Len(t, list, 1)
	require.Equal(t, "interrupted", list[0].State)
	var names []string
	for _, f := range list[0].Files {
		names = append(names, f.Name)
	}
	for _, n := range []string{"program.mp4", "cam1.mp4", "cam2.mp4", "cuts.edl", "cuts.otio", "session.json"} {
		require.Contains(t, names, n)
	}
	sw.stop(t, syscall.SIGINT)
	require.NoError(t, sw.exitStatus)
}

func TestRecordingDropoutLeavesGap(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	cam := pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	after := func(frames uint64) {
		n := a.mixer.Stats().FramesOut
		waitFor(t, 20*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut >= n+frames })
	}
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), `{"program":false,"iso":["cam1"]}`, &in))
	after(90)

	cam.kill()
	waitFor(t, 10*time.Second, "cam1 offline", func() bool { return sourceStatus(t, a, "cam1").State == ingest.StateOffline })
	lost := time.Now()
	after(90) // three seconds without the camera
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	away := time.Since(lost).Seconds()
	after(90)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &in))

	var names []string
	for _, f := range in.Files {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	require.Equal(t, []string{"cam1.mp4", "cuts.edl", "cuts.otio", "cuts.xml", "session.json"}, names, "one file for the camera, across its dropout")
	file := filepath.Join(a.recorder.Dir(), in.ID, "cam1.mp4")
	playsCleanly(t, file)
	var startS float64 // on the session's timebase: before 0 by its pre-roll
	for _, f := range in.Files {
		if f.Name == "cam1.mp4" {
			startS = f.StartS
		}
	}
	require.Less(t, startS, 0.1, "the file starts with the session (or before, its pre-roll)")
	for _, st := range []string{"v", "a"} {
		pts := packetTimes(t, file, st)
		for i := range pts {
			pts[i] += startS
		}
		gap, at := 0.0, 0.0
		for i := 1; i < len(pts); i++ {
			if d := pts[i] - pts[i-1]; d > gap {
				gap, at = d, pts[i-1]
			}
		}
		t.Logf("cam1 %s: %d packets from %.2f to %.2f s, gap of %.2f s after %.2f s (camera away %.2f s)",
			st, len(pts), pts[0], pts[len(pts)-1], gap, at, away)
		require.Less(t, pts[0], 0.1, "%s: the file starts with the session", st)
		require.Greater(t, gap, 2.5, "%s: the dropout is a gap in the same file", st)
		require.Less(t, gap, away+1.5, "%s: the gap is as long as the camera was away", st)
		require.InDelta(t, in.DurationS, pts[len(pts)-1], 1.0, "%s: the file covers the whole session", st)
	}
	require.True(t, frameAt(t, file, 1-startS).is("red"))
	require.True(t, frameAt(t, file, in.DurationS-1-startS).is("red"))
}

// TestRecordingStopsWhenDiskFull records onto a 4 MiB tmpfs and fills it.
func TestRecordingStopsWhenDiskFull(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"})
	cfg.Record.MinFreeMB = 1
	recDir := filepath.Join(cfg.DataDir, "recordings")
	require.NoError(t, os.MkdirAll(recDir, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", recDir).CombinedOutput(); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("mounting a tmpfs needs root: %s", out)
		}
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", recDir).Run() })

	a, _ := startApp(t, cfg)
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	events, _ := sseClient(t, a.apiURL("/events"), "")
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, &in))
	n := a.mixer.Stats().FramesOut
	waitFor(t, 20*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut >= n+30 })

	// Something else takes the disk: leave 64 KiB above the threshold
	// (a few seconds of this small show).
	free, err := record.FreeBytes(recDir)
	require.NoError(t, err)
	require.Greater(t, free, uint64(1<<20+512<<10))
	require.NoError(t, os.WriteFile(filepath.Join(recDir, "filler"), make([]byte, free-(1<<20+64<<10)), 0o644))

	t0 := time.Now()
	for {
		ev := next(t, events, 30*time.Second, "recording")
		if strings.Contains(ev.data, "disk full") {
			t.Logf("%s %s %s after the disk filled", ev.typ, ev.data, time.Since(t0))
			break
		}
	}
	var list []record.Info
	waitFor(t, 10*time.Second, "the recording's files closed", func() bool {
		mustAPI(t, "GET", a.apiURL("/recordings"), "", &list)
		return len(list) == 1 && list[0].StoppedAt != nil
	})
	require.Equal(t, "stopped: disk full", list[0].State)
	session := filepath.Join(recDir, in.ID)
	for _, name := range []string{"program.mp4", "cam1.mp4"} {
		playsCleanly(t, filepath.Join(session, name))
		pts := packetTimes(t, filepath.Join(session, name), "v")
		require.Greater(t, pts[len(pts)-1], 0.5, name)
	}
	b, err := os.ReadFile(filepath.Join(session, "session.json"))
	require.NoError(t, err)
	require.Contains(t, string(b), `"state": "stopped: disk full"`)

	// The program goes on, and a new recording is refused with the reason.
	st := a.mixer.Stats()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", a.rtspURL("program"),
		"-frames:v", "30", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "the program is still served: %s", out)
	onTime(t, a, st)
	var e struct{ Error string }
	require.Equal(t, http.StatusInsufficientStorage, api(t, "POST", a.apiURL("/recording/start"), ``, &e))
	require.Contains(t, e.Error, "free")
}
