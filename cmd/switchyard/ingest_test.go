package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/mixer"
)

// TestRTMPTimestampsPastExtendedBoundary pushes with ffmpeg from timestamps
// past 0xFFFFFF ms (4 h 39 min), where every RTMP chunk header carries an
// Extended Timestamp, also on type-3 continuation chunks, and from just
// before the boundary so that the stream crosses it.
func TestRTMPTimestampsPastExtendedBoundary(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "late"}, ingest.SourceConfig{Name: "crossing"}))
	push := func(name, color string, offsetS float64) {
		args := lavfiInput(color, "640x360", 30) // key frames larger than a chunk: type-3 continuations
		args = append(args, "-vf", fmt.Sprintf("setpts=PTS+%g/TB", offsetS), "-af", fmt.Sprintf("asetpts=PTS+%g/TB", offsetS),
			"-f", "flv", a.rtmpURL(name))
		run(t, "ffmpeg", args...)
	}
	push("late", "red", 20000)        // 5 h 33 min
	push("crossing", "blue", 16776.2) // 0xFFFFFF ms is 16777.215 s: crossed a second in
	for _, name := range []string{"late", "crossing"} {
		st := waitLive(t, a, name)
		require.Equal(t, 640, st.Video.Width)
	}

	// Both stay live with their frames arriving, on their own timestamps.
	src, ok := a.registry.Get("late")
	require.True(t, ok)
	r := src.Stream().NewReader(256)
	defer r.Close()
	var last time.Duration
	frames := 0
	deadline := time.Now().Add(20 * time.Second)
	for frames < 90 {
		require.True(t, time.Now().Before(deadline), "90 frames from the late source within 20 s; got %d", frames)
		u, err := r.Next(t.Context())
		require.NoError(t, err)
		if u.Track.Kind != media.KindVideo {
			continue
		}
		require.Greater(t, u.DTS, 20000*time.Second-time.Second, "timestamps are the publisher's, past 0xFFFFFF ms")
		require.GreaterOrEqual(t, u.DTS, last, "monotonic")
		last = u.DTS
		frames++
	}
	for _, name := range []string{"late", "crossing"} {
		st := sourceStatus(t, a, name)
		require.Equal(t, ingest.StateLive, st.State, name)
		require.Zero(t, st.Sessions, "%s: the publisher was never dropped", name)
		require.InDelta(t, 30, st.Video.FPS, 5, name)
	}
	require.NotContains(t, logs.String(), "publisher disconnected")

	// And they go to the program.
	prog := decodeProgram(t, a)
	prog.started(t)
	for _, c := range []struct{ source, colour string }{{"late", "red"}, {"crossing", "blue"}} {
		var st mixer.State
		require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"`+c.source+`"}`, &st))
		got := average(prog.frame(t, st.Frame+1))
		require.True(t, got.is(c.colour), "the program shows %s: %s", c.source, got)
	}
}
