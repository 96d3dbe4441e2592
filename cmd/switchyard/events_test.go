package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/mixer/bus"
)

type sseEvent struct {
	id   uint64
	typ  string
	data string
	at   time.Time
}

// sseClient reads an event stream into a channel until its context ends.
func sseClient(t *testing.T, url, lastID string) (<-chan sseEvent, context.CancelFunc) {
	t.Helper()
	return sseClientWith(t, url, lastID)
}

// sseClientWith is sseClient with changes to its request (a credential).
func sseClientWith(t *testing.T, url, lastID string, set ...func(*http.Request)) (<-chan sseEvent, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(t, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	for _, f := range set {
		f(req)
	}
	resp, err := (&http.Client{}).Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	out := make(chan sseEvent, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.typ != "" {
					ev.at = time.Now()
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	t.Cleanup(cancel)
	return out, cancel
}

// next returns the next event of one of the given types (others are skipped).
func next(t *testing.T, ch <-chan sseEvent, within time.Duration, types ...string) sseEvent {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-ch:
			require.True(t, ok, "event stream ended")
			if slices.Contains(types, ev.typ) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event within %s", types, within)
		}
	}
}

func TestEvents(t *testing.T) {
	mustHaveTools(t)
	hole := testpeer.BlackHole(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"}, ingest.SourceConfig{Name: "color", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "cam1"})
	a, _ := startApp(t, cfg)
	url := a.apiURL("/events")

	ch, stop := sseClient(t, url, "")
	first := next(t, ch, 5*time.Second, "state", "buses", "source", "output")
	require.Equal(t, "state", first.typ, "a new client gets the full state first")
	var st struct {
		Program string
		Sources []ingest.Status
	}
	require.NoError(t, json.Unmarshal([]byte(first.data), &st))
	require.Len(t, st.Sources, 3)

	// A cut reaches a connected client at once (published by the request itself).
	var (
		lat  []time.Duration
		last sseEvent
	)
	for i := range 10 {
		src := []string{"bars", "color"}[i%2]
		t0 := time.Now()
		require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"`+src+`"}`, nil))
		ev := next(t, ch, 2*time.Second, "buses")
		require.Contains(t, ev.data, `"program":"`+src+`"`)
		lat = append(lat, ev.at.Sub(t0))
		last = ev
	}
	slices.Sort(lat)
	t.Logf("cut → event: median %s, worst %s", lat[len(lat)/2], lat[len(lat)-1])
	require.Less(t, lat[len(lat)/2], 100*time.Millisecond)

	// A client that reconnects with its last id misses nothing.
	stop()
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/preview"), `{"source":"bars"}`, nil))
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/cut"), ``, nil))
	var added struct{ Name string }
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/outputs"), `{"name":"hole","url":"rtmp://`+hole+`/live/k"}`, &added))
	ch2, _ := sseClient(t, url, strconv.FormatUint(last.id, 10))
	ev := next(t, ch2, 2*time.Second, "state", "buses")
	require.Equal(t, "buses", ev.typ, "resuming replays instead of a full state")
	require.Contains(t, ev.data, `"preview":"bars"`)
	ev = next(t, ch2, 2*time.Second, "state", "buses")
	require.Contains(t, ev.data, `"program":"bars"`, "the cut after the preview")
	ev = next(t, ch2, 5*time.Second, "output")
	require.Contains(t, ev.data, `"name":"hole"`)

	// Source and output changes arrive as they happen.
	pushRTMP(t, a, "cam1", "blue", "320x240", 30)
	for {
		ev = next(t, ch2, 20*time.Second, "source")
		if strings.Contains(ev.data, `"name":"cam1"`) && strings.Contains(ev.data, `"state":"live"`) {
			break
		}
	}
	for {
		ev = next(t, ch2, 20*time.Second, "output")
		if strings.Contains(ev.data, `"state":"retrying"`) {
			break
		}
	}
	require.NotContains(t, ev.data, "/live/k\"", "stream keys stay masked in events")

	// An id the server no longer has (or never had) gets a fresh full state.
	for _, id := range []string{"999999999", "not-a-number"} {
		ch3, _ := sseClient(t, url, id)
		require.Equal(t, "state", next(t, ch3, 5*time.Second, "state", "buses", "source", "output").typ, id)
	}
}

// TestAutoTransitionEvents: an automatic transition's progress reaches the
// event stream as the mixer moves it (about ten times a second, its
// position rising), and its end — program and preview swapped — at once,
// with nobody polling.
func TestAutoTransitionEvents(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"}, ingest.SourceConfig{Name: "color", URL: "gen://color?c=red"})
	a, _ := startApp(t, cfg)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"bars"}`, nil)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"color"}`, nil)
	ch, stop := sseClient(t, a.apiURL("/events"), "")
	defer stop()
	require.Equal(t, "state", next(t, ch, 5*time.Second, "state").typ)
	mustAPI(t, "POST", a.apiURL("/auto"), `{"type":"mix","duration_ms":1000}`, nil)
	var positions []float64
	for {
		ev := next(t, ch, 3*time.Second, "buses")
		var st bus.State
		require.NoError(t, json.Unmarshal([]byte(ev.data), &st))
		if !st.Transition.Active {
			require.Equal(t, "color", st.Program, "the end: preview taken to program")
			require.Equal(t, "bars", st.Preview)
			break
		}
		positions = append(positions, st.Transition.Position)
	}
	t.Logf("positions told: %v", positions)
	require.GreaterOrEqual(t, len(positions), 5, "a 1 s transition's progress told several times")
	require.True(t, slices.IsSorted(positions), "its position only rises")
	require.Less(t, positions[len(positions)-1]-positions[0], 1.0)
}
