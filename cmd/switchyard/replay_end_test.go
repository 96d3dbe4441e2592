package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/ingest/replay"
)

// replayOnProgram reads program frames until the replay has shown its
// range's last frame (endN) and returns the counter values it showed, in
// order (repeats folded). With mixes, frames that read as no counter
// amid the replay (a blended slow motion's mixes of two frames) are
// passed over.
func replayOnProgram(t *testing.T, program <-chan bars, endN int, mixes bool) []int {
	t.Helper()
	var seen []int
	timeout := time.After(30 * time.Second)
	for len(seen) == 0 || seen[len(seen)-1] < endN {
		select {
		case b, ok := <-program:
			require.True(t, ok, "the program reader ended")
			n, id, clear := b.read()
			if !clear || id != 1 {
				require.True(t, mixes || len(seen) == 0, "a frame not of cam1 (%v) amid the replay; seen %v", b, seen)
				continue
			}
			if len(seen) == 0 && n > endN {
				continue // the live camera, before the cut to the replay
			}
			if len(seen) == 0 || seen[len(seen)-1] != n {
				seen = append(seen, n)
			}
		case <-timeout:
			t.Fatalf("the replay did not reach frame %d on program within 30 s; seen %v", endN, seen)
		}
	}
	return seen
}

// holdsOnProgram reads the program for 2 s (60 frames) after a replay has
// shown its last frame (endN) and requires that frame on each: held, not
// the one before, not one after, not the slate.
func holdsOnProgram(t *testing.T, program <-chan bars, endN int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for held := 0; held < 60; held++ {
		select {
		case b, ok := <-program:
			require.True(t, ok, "the program reader ended")
			n, id, clear := b.read()
			require.True(t, clear && id == 1 && n == endN, "program frame %d after the replay's end: %v (counter %d), not its last frame %d held", held, b, n, endN)
		case <-timeout:
			t.Fatal("no program frames")
		}
	}
}

// frameOf is the bar camera's frame number at a timestamp: its
// timestamps sit a little after n/30 (the AAC priming shifts them by some
// 21 ms), so rounding would give the next frame's number.
func frameOf(pts float64) int { return int(pts * 30) }

func startProgramReader(t *testing.T, a *app) <-chan bars {
	t.Helper()
	program := readProgramBars(t, a)
	select {
	case _, ok := <-program:
		require.True(t, ok, "the program reader ended")
	case <-time.After(20 * time.Second):
		t.Fatal("no program frame read within 20 s")
	}
	return program
}

// A buffer over its memory share (replay.max_bytes) keeps its older part
// in data_dir/replay; a replay of the oldest seconds, read back from
// there, shows the camera's frames in order on program, from the marked
// frame to the marked-out one — and at its end the program holds that
// last frame (not the slate half a second later, nor the frame after).
func TestReplayFromDiskHoldsItsEnd(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"})
	cfg.Replay.Enabled = true
	cfg.Replay.Buffer = Duration(20 * time.Second)
	cfg.Replay.MaxBytes = 100_000 // about 2 s of the 400 kbit/s camera
	a, _ := startApp(t, cfg)
	run(t, "ffmpeg", append(barCamera(1, "30", 30, false), "-f", "flv", a.rtmpURL("cam1"))...)
	waitPicture(t, a, "cam1")
	waitFor(t, 40*time.Second, "9 s of cam1 in the replay buffer, most on disk", func() bool {
		b := a.replay.Buffer("cam1")
		_, _, span := b.Size()
		spilled, _ := b.Spilled()
		return span >= 9*time.Second && spilled > 0
	})
	units, _ := a.replay.Buffer("cam1").Snapshot()
	oldest, newest, memStart := units[0].PTS, units[0].PTS, time.Duration(-1)
	for _, u := range units {
		newest = max(newest, u.PTS)
		if memStart < 0 && u.Data != nil {
			memStart = u.PTS
		}
	}
	from, to := oldest+500*time.Millisecond, oldest+2500*time.Millisecond
	require.Less(t, to, memStart-500*time.Millisecond, "the range is in the spilled part")
	segs, err := filepath.Glob(filepath.Join(cfg.DataDir, "replay", "*.seg"))
	require.NoError(t, err)
	require.NotEmpty(t, segs, "segment files in data_dir/replay")

	program := startProgramReader(t, a)
	var info replay.Info
	body := fmt.Sprintf(`{"source":"cam1","from_s":%.3f,"to_s":%.3f,"speed":1,"take":true}`, (from - newest).Seconds(), (to - newest).Seconds())
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/replay"), body, &info))
	markN, endN := frameOf(info.MarkPTSS), frameOf(info.EndPTSS)
	require.InDelta(t, 60, endN-markN, 1, "2 s of a 30 fps camera")
	replayedWhole(t, program, markN, endN, false)
}

// replayedWhole: the program shows the replay's frames from markN to endN,
// every one in order (with blend, the mixes between them read as no
// counter), and then holds endN.
func replayedWhole(t *testing.T, program <-chan bars, markN, endN int, blend bool) {
	t.Helper()
	seen := replayOnProgram(t, program, endN, blend)
	require.Equal(t, markN, seen[0], "from the marked frame; seen %v", seen)
	for i := 1; i < len(seen); i++ {
		require.Equal(t, seen[i-1]+1, seen[i], "every frame in order; seen %v", seen)
	}
	holdsOnProgram(t, program, endN)
}

// replay.on_end next: once the replay's last frame has had its time, the
// program goes back to the source before the replay (the live camera).
func TestReplayOnEndNext(t *testing.T) {
	mustHaveTools(t)
	a, _ := replayBarCamera(t, func(cfg *Config) { cfg.Replay.OnEnd = replay.EndNext }, 4*time.Second)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))
	program := startProgramReader(t, a)
	var info replay.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/replay"), `{"source":"cam1","from_s":-3,"to_s":-2,"speed":1,"take":true}`, &info))
	markN, endN := frameOf(info.MarkPTSS), frameOf(info.EndPTSS)
	seen := replayOnProgram(t, program, endN, false)
	require.Equal(t, markN, seen[0], "from the marked frame; seen %v", seen)
	var st struct{ Program string }
	waitFor(t, 10*time.Second, "the program back on cam1", func() bool {
		require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", &st))
		return st.Program == "cam1"
	})
	// and it shows the live camera: well past the replay's frames
	timeout := time.After(20 * time.Second)
	for {
		select {
		case b, ok := <-program:
			require.True(t, ok, "the program reader ended")
			if n, id, clear := b.read(); clear && id == 1 && n > endN+45 {
				return
			}
		case <-timeout:
			t.Fatal("the program did not show the live camera after the replay")
		}
	}
}

// replay.slow blend at 50 %: the program shows the camera's frames from
// the marked one to the marked-out one, in order (between them the mixes
// of two, which read as no counter), and then holds that last frame.
func TestReplayBlendHoldsItsEnd(t *testing.T) {
	mustHaveTools(t)
	a, _ := replayBarCamera(t, func(cfg *Config) { cfg.Replay.Slow = replay.SlowBlend }, 4*time.Second)
	program := startProgramReader(t, a)
	var info replay.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/replay"), `{"source":"cam1","from_s":-3,"to_s":-2,"speed":0.5,"take":true}`, &info))
	require.Equal(t, replay.SlowBlend, info.Slow)
	markN, endN := frameOf(info.MarkPTSS), frameOf(info.EndPTSS)
	require.InDelta(t, 30, endN-markN, 1, "1 s of a 30 fps camera")
	replayedWhole(t, program, markN, endN, true)
}
