package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/output/record"
)

// TestSourcesAddedAndRemovedWhileRecording, through the API: a source
// added during a recording of every camera is recorded; one removed during
// it has its camera file ended there and then — complete, its duration
// written, as ffprobe reads it — and says "stopped", while the session
// goes on and records the others. The recorder once stood outside the
// show's transaction: the added source had no file, the removed one's
// stayed open and "recording" until the stop.
func TestSourcesAddedAndRemovedWhileRecording(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"}))
	waitLive(t, a, "bars")
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), `{"program":true}`, &in))
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"late","url":"gen://color?c=blue"}`, nil))
	waitLive(t, a, "late")
	state := func(name string) (string, bool) {
		var list []record.Info
		require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/recordings"), "", &list))
		var cur record.Info
		for _, r := range list {
			if r.ID == in.ID {
				cur = r
			}
		}
		for _, s := range cur.Sources {
			if s.Name == name {
				return s.State, cur.State == "recording"
			}
		}
		return "", cur.State == "recording"
	}
	waitFor(t, 20*time.Second, "the added source recorded", func() bool { s, _ := state("late"); return s == "recording" })
	n := a.mixer.Stats().FramesOut
	waitFor(t, 20*time.Second, "a second of program", func() bool { return a.mixer.Stats().FramesOut >= n+30 })

	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/sources/late"), "", nil))
	s, recording := state("late")
	require.Equal(t, "stopped", s, "the removed source's file ended with the removal")
	require.True(t, recording, "the session goes on")
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json",
		filepath.Join(a.recorder.Dir(), in.ID, "late.mp4")).Output()
	require.NoError(t, err, "ffprobe reads late.mp4 while the session runs")
	var probe struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	require.NoError(t, json.Unmarshal(out, &probe))
	d, err := strconv.ParseFloat(probe.Format.Duration, 64)
	require.NoError(t, err, "late.mp4 is complete: its duration is written (%s)", out)
	require.Greater(t, d, 0.5)

	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), "", &in))
	names := map[string]int64{}
	for _, f := range in.Files {
		names[f.Name] = f.Bytes
	}
	for _, f := range []string{"program.mp4", "bars.mp4", "late.mp4"} {
		require.Greater(t, names[f], int64(0), f)
	}
}
