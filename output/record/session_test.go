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
