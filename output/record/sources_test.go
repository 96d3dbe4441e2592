package record

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// TestSourcesComeAndGoDuringARecording: the show tells the recorder of the
// sources it adds and removes (internal/show's transaction). A source
// removed during a session that records every camera has its file ended at
// once — everything it sent in, the file completed (its duration written)
// and closed, its track "stopped" — while the session goes on; a source
// added during it is recorded from then on; a name that comes back goes on
// in a part file. A removed camera's file once stayed open, "recording"
// with no duration, until the session stopped, and a camera added during
// a session was not recorded at all.
func TestSourcesComeAndGoDuringARecording(t *testing.T) {
	video, aus := h264Pictures(t, 60)
	epoch := time.Now().Add(-time.Hour)
	var mu sync.Mutex
	var started time.Time
	dir := t.TempDir()
	cam1 := media.NewStream()
	cam1.SetTracks(video)
	rec := New(Options{Dir: dir, FPSNum: 30, FPSDen: 1, MinFreeBytes: 1,
		ProgramEpoch: func() time.Time { return epoch },
		// each camera's time 0 is the session's start
		SourceOffset: func(string) (time.Duration, bool) {
			mu.Lock()
			defer mu.Unlock()
			return started.Sub(epoch), true
		},
		Sources: func() map[string]*media.Stream { return map[string]*media.Stream{"cam1": cam1} }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rec.Close()
	info, err := rec.Start(StartRequest{})
	require.NoError(t, err)
	mu.Lock()
	started = info.StartedAt
	mu.Unlock()
	send := func(st *media.Stream, n int) {
		for k := 0; k < n; k++ {
			pts := time.Duration(k) * time.Second / 30
			st.WriteUnit(&media.Unit{Track: video, PTS: pts, DTS: pts, Key: k%30 == 0, Data: aus[k]})
		}
	}
	trackState := func(name string) (state string, files []partJSON) {
		for _, tr := range readSession(t, filepath.Join(dir, info.ID)).Tracks {
			if tr.Source == name {
				return tr.State, tr.Files
			}
		}
		return "", nil
	}

	// cam1 sends two seconds (timed ahead of now: they wait for their
	// time), then leaves the show: all of it goes in, and the file ends
	send(cam1, 60)
	done := make(chan struct{})
	go func() { rec.RemoveSource("cam1"); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("RemoveSource did not return")
	}
	_, active := rec.Active()
	require.True(t, active, "the session goes on")
	require.NoError(t, rec.AddSource("cam1x", media.NewStream()), "a name the session never had") // waits, records nothing
	rec.RemoveSource("cam1x")
	p := ffprobeOf(t, filepath.Join(dir, info.ID, "cam1.mp4"))
	require.Len(t, p.Streams, 2, "video and timecode")
	require.Equal(t, "60", p.Streams[0].NbReadFrames, "every frame cam1 sent is in its file")
	require.InDelta(t, 2.0, secs(p.Format.Duration), 0.05, "the file is complete while the session runs: its duration is written")
	require.Eventually(t, func() bool { s, _ := trackState("cam1"); return s == "stopped" }, 10*time.Second, 20*time.Millisecond,
		"session.json says cam1's recording stopped")

	// cam2 joins the show and is recorded (until it leaves too: its
	// second, timed ahead, all goes in); cam1 comes back, in a part file
	// that the stop ends (with what was due by then)
	cam2, cam1b := media.NewStream(), media.NewStream()
	cam2.SetTracks(video)
	cam1b.SetTracks(video)
	require.NoError(t, rec.AddSource("cam2", cam2))
	require.NoError(t, rec.AddSource("cam1", cam1b))
	require.NoError(t, rec.AddSource("cam1", cam1b), "recorded already (a session that started after the source came): nothing to do")
	require.Error(t, rec.AddSource("cam1", cam2), "another stream under a name still recorded")
	send(cam2, 30)
	send(cam1b, 30)
	rec.RemoveSource("cam2")
	in, err := rec.Stop()
	require.NoError(t, err)
	require.Equal(t, "30", ffprobeOf(t, filepath.Join(dir, in.ID, "cam2.mp4")).Streams[0].NbReadFrames)
	require.NotEqual(t, "0", ffprobeOf(t, filepath.Join(dir, in.ID, "cam1.part2.mp4")).Streams[0].NbReadFrames)
	_, files := trackState("cam1")
	require.Len(t, files, 2, "cam1's two files, in one track")

	// a session of chosen cameras takes no other; a closed recorder refuses
	_, err = rec.Start(StartRequest{ISO: []string{"cam1"}})
	require.NoError(t, err)
	require.NoError(t, rec.AddSource("cam3", cam2))
	in, err = rec.Stop()
	require.NoError(t, err)
	for _, tr := range in.Sources {
		require.NotEqual(t, "cam3", tr.Name)
	}
	rec.Close()
	require.ErrorIs(t, rec.AddSource("cam4", cam2), ErrClosed)
}

func readSession(t *testing.T, dir string) sessionJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "session.json"))
	require.NoError(t, err)
	var j sessionJSON
	require.NoError(t, json.Unmarshal(b, &j))
	return j
}

// TestSourceGoneBeforeTheSessionTookIt: a source the show removes just as
// a session starts — the recorder told before the session existed, the
// session taking the source from the list a moment later — has its stream
// closed under the session: the camera says "stopped", not "waiting" for
// the rest of the session, and the session goes on.
func TestSourceGoneBeforeTheSessionTookIt(t *testing.T) {
	cam := media.NewStream()
	rec := New(Options{Dir: t.TempDir(), FPSNum: 30, FPSDen: 1, MinFreeBytes: 1,
		ProgramEpoch: func() time.Time { return time.Now() },
		Sources:      func() map[string]*media.Stream { return map[string]*media.Stream{"cam2": cam} }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rec.Close()
	rec.RemoveSource("cam2") // no session yet: nothing to end
	_, err := rec.Start(StartRequest{})
	require.NoError(t, err)
	state := func() string {
		info, ok := rec.Active()
		require.True(t, ok, "the session goes on")
		for _, s := range info.Sources {
			if s.Name == "cam2" {
				return s.State
			}
		}
		return ""
	}
	require.Equal(t, "waiting", state())
	cam.Close() // the registry's removal closes its stream
	for deadline := time.Now().Add(10 * time.Second); state() != "stopped"; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "cam2 still %q after its stream closed", state())
	}
}
