package record

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// TestStopEndsFilesAtTheStop: an operator's stop ends the files at its
// moment on the session's timebase, not with whatever had arrived: frames
// from before the stop that were still on their way (a camera's network,
// the program's last ticks) go in, a frame from after it does not, and a
// source that has gone silent does not hold the stop up beyond endGrace.
// The files once ended with the last unit that had reached the recorder,
// so a camera's file ended up to two frames before the program's.
func TestStopEndsFilesAtTheStop(t *testing.T) {
	video, aus := h264Pictures(t, 120)
	program, silent := media.NewStream(), media.NewStream()
	program.SetTracks(video)
	silent.SetTracks(video)

	// the program's clock starts with the session: frame k is at k/30 s
	var epochMu sync.Mutex
	var epoch time.Time
	dir := t.TempDir()
	rec := New(Options{Dir: dir, FPSNum: 30, FPSDen: 1, MinFreeBytes: 1,
		ProgramEpoch: func() time.Time { epochMu.Lock(); defer epochMu.Unlock(); return epoch },
		Sources:      func() map[string]*media.Stream { return map[string]*media.Stream{"cam1": silent} },
		Program:      program}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rec.Close()
	info, err := rec.Start(StartRequest{Program: true})
	if err != nil {
		t.Fatal(err)
	}
	epochMu.Lock()
	epoch = info.StartedAt
	epochMu.Unlock()
	frame := time.Second / 30
	send := func(k int) {
		pts := time.Duration(k) * frame
		program.WriteUnit(&media.Unit{Track: video, PTS: pts, DTS: pts, Key: k%30 == 0, Data: aus[k]})
	}

	// frames 0–5 come live; 6–9 are late, still on their way at the stop
	tick := time.NewTicker(frame)
	defer tick.Stop()
	for k := 0; k < 6; k++ {
		send(k)
		<-tick.C
	}
	for time.Since(info.StartedAt) <= 10*frame {
		<-tick.C
	}
	called := time.Since(info.StartedAt)
	stopped := make(chan Info, 1)
	go func() {
		in, err := rec.Stop()
		if err != nil {
			t.Error(err)
		}
		stopped <- in
	}()
	for deadline := time.Now().Add(10 * time.Second); ; <-tick.C {
		if _, active := rec.Active(); !active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the recording did not stop")
		}
	}
	seen := time.Since(info.StartedAt) // the stop's moment is between called and seen
	for k := 6; k < 10; k++ {
		send(k)
	}
	after := int((seen+3*frame)/frame) + 1 // surely after the stop
	if after >= len(aus) {
		t.Fatalf("the stop took %v to show; the clip is too short for the test", seen-called)
	}
	send(after)
	var in Info
	select {
	case in = <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("Stop did not return: the silent camera held it up")
	}
	if in.StoppedAt == nil {
		t.Fatal("no stopped_at")
	}
	if end := in.StoppedAt.Sub(in.StartedAt); end < called || end > seen {
		t.Errorf("stopped %v after the start, want the moment of the call (%v..%v)", end, called, seen)
	}
	if _, err := os.Stat(filepath.Join(dir, in.ID, "cam1.mp4")); err == nil {
		t.Error("the silent camera has a file")
	}

	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", filepath.Join(dir, in.ID, "program.mp4")).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var got []string
	for _, l := range strings.Fields(string(out)) {
		got = append(got, strings.Trim(l, ","))
	}
	if len(got) != 10 {
		t.Fatalf("program.mp4 has %d frames (%v), want frames 0–9: the ones on their way at the stop in, frame %d from after it out", len(got), got, after)
	}
	for k, s := range got {
		if v, _ := strconv.ParseFloat(s, 64); v < float64(k)/30-0.002 || v > float64(k)/30+0.002 {
			t.Errorf("frame %d at %s s, want %.3f", k, s, float64(k)/30)
		}
	}
}

// TestStopCompletesBFrames: a camera with B-frames sends its frames in
// decode order, so at a stop the frames shown before the end are not all
// in when the first frame after it is: the file goes on until they are
// (the frames it needs after the end are shown too: every frame written
// is shown), so it ends without a hole. It was cut in decode order: its
// last B-frames were missing, the picture jumped over them.
func TestStopCompletesBFrames(t *testing.T) {
	video, audio, units := flvUnits(t, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-t", "3",
		"-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-b_strategy", "0", "-g", "30", "-an")
	require.Nil(t, audio)
	cam := media.NewStream()
	cam.SetTracks(video)
	epoch := time.Now().Add(-time.Hour)
	var mu sync.Mutex
	var started time.Time
	dir := t.TempDir()
	rec := New(Options{Dir: dir, FPSNum: 30, FPSDen: 1, MinFreeBytes: 1,
		ProgramEpoch: func() time.Time { return epoch },
		// the camera's time 0 is 0.9 s before the session
		SourceOffset: func(string) (time.Duration, bool) {
			mu.Lock()
			defer mu.Unlock()
			return started.Sub(epoch) - 900*time.Millisecond, true
		},
		Sources: func() map[string]*media.Stream { return map[string]*media.Stream{"cam1": cam} }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rec.Close()
	info, err := rec.Start(StartRequest{})
	require.NoError(t, err)
	mu.Lock()
	started = info.StartedAt
	mu.Unlock()
	// frames to 0.9 s into the session at once: those timed before now
	// are written, the rest wait for their time, and the stop finds them
	// waiting
	var bframes int
	for _, u := range units {
		if u.DTS >= 1800*time.Millisecond {
			break
		}
		if u.PTS < u.DTS+time.Second/30 && !u.Key {
			bframes++
		}
		cam.WriteUnit(u)
	}
	require.Positive(t, bframes)
	in, err := rec.Stop()
	require.NoError(t, err)
	end := in.StoppedAt.Sub(in.StartedAt)

	var startS float64
	for _, f := range in.Files {
		if f.Name == "cam1.mp4" {
			startS = f.StartS
		}
	}
	file := filepath.Join(dir, in.ID, "cam1.mp4")
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
		"-of", "csv=p=0", file).Output()
	require.NoError(t, err)
	var pts []float64
	for _, l := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.Trim(l, ","), 64)
		require.NoError(t, err)
		pts = append(pts, v)
	}
	require.NotEmpty(t, pts)
	for i := 1; i < len(pts); i++ {
		require.InDelta(t, 1.0/30, pts[i]-pts[i-1], 0.002, "frame %d of %d follows the one before: no frame missing", i, len(pts))
	}
	last := startS + pts[len(pts)-1]
	t.Logf("stop at %.3f s; %d frames from %.3f to %.3f s on the session's timebase", end.Seconds(), len(pts), startS, last)
	require.GreaterOrEqual(t, last, end.Seconds()-1.0/30-0.002, "every frame shown before the stop is in")
	require.Less(t, last, end.Seconds()+4.0/30, "and no more than the frames they need")
	playsCleanly(t, file)
}

// TestSourcesTheSessionCannotRecordAreSaid: a session's status says how
// each source is doing — a microphone (sound only) recorded into its own
// file, a camera that is not there yet waiting, one whose codec cannot go
// into a file failed with the reason — where a sound-only source was once
// held in memory for a video frame that never came, and the session said
// nothing but "files": [].
func TestSourcesTheSessionCannotRecordAreSaid(t *testing.T) {
	_, aac, units := flvUnits(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1.5", "-c:a", "aac")
	mic, offline, vp8 := media.NewStream(), media.NewStream(), media.NewStream()
	mic.SetTracks(aac)
	vp8.SetTracks(&media.Track{Kind: media.KindVideo, Codec: "vp8", Width: 320, Height: 240})
	epoch := time.Now().Add(-time.Hour)
	var mu sync.Mutex
	var started time.Time
	dir := t.TempDir()
	rec := New(Options{Dir: dir, FPSNum: 30, FPSDen: 1, MinFreeBytes: 1, ProgramEpoch: func() time.Time { return epoch },
		SourceOffset: func(string) (time.Duration, bool) { // the microphone's time 0 is 0.6 s before the session
			mu.Lock()
			defer mu.Unlock()
			return started.Sub(epoch) - 600*time.Millisecond, true
		},
		Sources: func() map[string]*media.Stream {
			return map[string]*media.Stream{"mic1": mic, "cam1": offline, "cam2": vp8}
		}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rec.Close()
	info, err := rec.Start(StartRequest{})
	require.NoError(t, err)
	mu.Lock()
	started = info.StartedAt
	mu.Unlock()
	state := func(in Info) map[string]string {
		m := map[string]string{}
		for _, s := range in.Sources {
			m[s.Name] = s.State
		}
		return m
	}
	require.Equal(t, map[string]string{"mic1": "waiting", "cam1": "waiting", "cam2": "failed"}, state(info))
	require.Len(t, info.Errors, 1)
	require.Contains(t, info.Errors[0], "cam2: none of its tracks can be recorded (video vp8)")
	for _, u := range units {
		if u.DTS < 1400*time.Millisecond { // to 0.8 s into the session
			mic.WriteUnit(u)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for in, _ := rec.Active(); state(in)["mic1"] != "recording"; in, _ = rec.Active() {
		require.True(t, time.Now().Before(deadline), "the microphone is recorded: %+v", in.Sources)
		time.Sleep(10 * time.Millisecond)
	}
	for time.Since(started) < 900*time.Millisecond { // the session's clock past the sound sent (timed to 0.8 s)
		time.Sleep(10 * time.Millisecond)
	}
	in, err := rec.Stop()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"mic1": "stopped", "cam1": "stopped", "cam2": "failed"}, state(in))
	var names []string
	for _, f := range in.Files {
		names = append(names, f.Name)
	}
	require.Contains(t, names, "mic1.m4a")

	file := filepath.Join(dir, in.ID, "mic1.m4a")
	p := ffprobeOf(t, file)
	kinds := ""
	for _, s := range p.Streams {
		kinds += s.CodecType + " "
	}
	require.Equal(t, "audio data ", kinds, "sound and its timecode")
	require.InDelta(t, 1.4, secs(p.Format.Duration), 0.05, "from its pre-roll (0.6 s before the session) to the last sound written")
	gstDecodes(t, file, false, true)
	playsCleanly(t, file)
}
