package control

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/output/push"
	"switchyard/output/record"
)

// TestEventHistoryBounded: the events kept for clients that reconnect stay
// within their count and their bytes however many a show makes; a client
// whose last event is still kept gets what it missed, one whose last event
// is gone gets the full state.
func TestEventHistoryBounded(t *testing.T) {
	h := newHub(100, 10<<10)
	big := strings.Repeat("x", 1000) // ~1 KiB an event: the bytes bind first
	for i := range 5000 {
		h.publish("keyer", map[string]any{"i": i, "text": big})
		require.LessOrEqual(t, h.bytes, 10<<10)
		require.LessOrEqual(t, len(h.ring), 100)
	}
	sum := 0
	for i, ev := range h.ring {
		sum += len(ev.Data)
		if i > 0 {
			require.Equal(t, h.ring[i-1].ID+1, ev.ID, "kept events are consecutive")
		}
	}
	require.Equal(t, sum, h.bytes, "the byte count is the kept events' bytes")
	require.Equal(t, uint64(5000), h.ring[len(h.ring)-1].ID, "the newest is kept")
	require.Greater(t, len(h.ring), 5, "as many as fit are kept")
	require.LessOrEqual(t, cap(h.ring), 2*100+16, "the array does not grow with the events made")

	oldest := h.ring[0].ID
	replay, full, _, s := h.subscribe(oldest-1, true)
	require.False(t, full)
	require.Len(t, replay, len(h.ring), "everything after the client's last event")
	h.unsubscribe(s)
	_, full, snap, s := h.subscribe(oldest-2, true)
	require.True(t, full, "its last event is gone: the full state")
	require.Equal(t, uint64(5000), snap)
	h.unsubscribe(s)

	small := newHub(100, 1<<20) // small events: the count binds
	for i := range 500 {
		small.publish("tally", i)
	}
	require.Len(t, small.ring, 100)
	require.Equal(t, uint64(401), small.ring[0].ID)

	lone := newHub(100, 10) // an event larger than the bound is still kept, alone
	lone.publish("big", big)
	require.Len(t, lone.ring, 1)
}

// TestEventsFromTheOwners: what the owners change on their own reaches the
// event stream as they tell it (the registry's sources, the outputs, the
// recorder; the fakes tell as the real owners do), in the order it
// happened, and a change that says nothing new makes no event.
func TestEventsFromTheOwners(t *testing.T) {
	s := newTestServer(t, io.Discard, nil)
	reg := s.Registry.(*ingest.Registry)
	base := "http://" + s.Addr().String()
	resp, err := http.Get(base + "/api/v1/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	type event struct{ typ, data string }
	events := make(chan event, 256)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var typ string
		for sc.Scan() {
			l := sc.Text()
			if v, ok := strings.CutPrefix(l, "event: "); ok {
				typ = v
			} else if v, ok := strings.CutPrefix(l, "data: "); ok && typ != "levels" && typ != "buses" && typ != "tally" {
				events <- event{typ, v}
			}
		}
	}()
	next := func(typ string, want ...string) {
		t.Helper()
		select {
		case ev, ok := <-events:
			require.True(t, ok, "the stream ended before %s", typ)
			require.Equal(t, typ, ev.typ, "the next event (%s)", ev.data)
			for _, w := range want {
				require.Contains(t, ev.data, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event", typ)
		}
	}
	call := func(method, path, body string, status int) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		r.Body.Close()
		require.Equal(t, status, r.StatusCode, "%s %s", method, path)
	}
	next("state")

	call("POST", "/api/v1/sources", `{"name":"cam1"}`, 201)
	// The registry tells of the source before the mixer has its input: that
	// news is held back, and the add's one event has the mixer's view —
	// the buffer in use, never a 0 a panel would show for an instant.
	next("source", `"name":"cam1"`, `"state":"offline"`, `"jitter_buffer_ms":66`)
	p, err := reg.Publish("cam1", "", "rtmp")
	require.NoError(t, err)
	next("source", `"state":"connecting"`, `"protocol":"rtmp"`)
	vt := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, Width: 640, Height: 360, FPS: 25}
	p.WriteUnit(&media.Unit{Track: vt, Key: true, Data: [][]byte{{0x65}}})
	next("source", `"state":"live"`, `"width":640`)
	p.WriteUnit(&media.Unit{Track: vt, Data: [][]byte{{0x41}}}) // nothing new
	p.SetWarning("an Opus track is ignored")
	next("source", `"warning":"an Opus track is ignored"`)
	// what of its status is the mixer's changes without the registry's
	// news (a decoder behind off air): the watcher's once-a-second look
	// publishes it, without its running figure
	mix := s.Mixer.(*fakeMixer)
	setBehind := func(d time.Duration) {
		mix.mu.Lock()
		mix.inputs["cam1"].behind = d
		mix.mu.Unlock()
	}
	setBehind(700 * time.Millisecond)
	next("source", `"warning":"an Opus track is ignored; off air its decoder is behind its media`)
	setBehind(0)
	next("source", `"warning":"an Opus track is ignored"`)
	p.Close()
	next("source", `"state":"offline"`)

	call("POST", "/api/v1/outputs", `{"name":"yt","url":"rtmp://127.0.0.1:1/live/key","enabled":true}`, 201)
	next("output", `"name":"yt"`, `"state":"connecting"`)
	call("POST", "/api/v1/outputs/yt/stop", "", 200)
	next("output", `"state":"idle"`, `"enabled":false`)
	call("DELETE", "/api/v1/outputs/yt", "", 204)
	next("output_removed", `{"name":"yt"}`)

	call("POST", "/api/v1/recording/start", `{}`, 201)
	next("recording", `"active":true`, `"id":"s1"`, `"state":"recording"`)
	call("POST", "/api/v1/recording/stop", "", 200)
	next("recording", `"active":false`, `"id":"s1"`, `"state":"complete"`)

	// each change as the owner tells it, not as a scan finds the show: an
	// output added and removed at once, a recording started and stopped
	_, err = s.Outputs.Add(push.Config{Name: "tw", URL: "rtmp://127.0.0.1:1/app/key"})
	require.NoError(t, err)
	require.NoError(t, s.Outputs.Remove("tw"))
	_, err = s.Recorder.Start(record.StartRequest{Program: true})
	require.NoError(t, err)
	_, err = s.Recorder.Stop()
	require.NoError(t, err)
	next("output", `"name":"tw"`, `"state":"idle"`)
	next("output_removed", `{"name":"tw"}`)
	next("recording", `"active":true`, `"id":"s2"`)
	next("recording", `"active":false`, `"id":"s2"`, `"state":"complete"`)

	call("DELETE", "/api/v1/sources/cam1", "", 204)
	next("source_removed", `{"name":"cam1"}`)
	select {
	case ev := <-events:
		t.Fatalf("an event no change made: %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestNewSourceWaitsForTheMixer: a source the registry has and the mixer
// not yet (internal/show adds it to the registry first) makes no event —
// a panel would show it with no jitter buffer for an instant; once the
// mixer has its input, its news is published with the buffer in use.
func TestNewSourceWaitsForTheMixer(t *testing.T) {
	s := newTestServer(t, io.Discard, nil)
	mix := s.Mixer.(*fakeMixer)
	reg := s.Registry.(*ingest.Registry)
	_, err := reg.Add(ingest.SourceConfig{Name: "cam9"})
	require.NoError(t, err)
	w := s.watch
	w.sourceChanged("cam9")
	w.mu.Lock()
	_, published := w.sources["cam9"]
	w.mu.Unlock()
	require.False(t, published, "a source the mixer does not have yet is not published")

	mix.addInput("cam9", 0)
	w.sourceChanged("cam9")
	w.mu.Lock()
	ev, published := w.sources["cam9"]
	w.mu.Unlock()
	require.True(t, published, "once the mixer has it, its news is published")
	require.Equal(t, int(fakeDefaultJitter/time.Millisecond), ev.JitterBufferMS)
}

// TestSourceEventWithoutRunningFigures: a warning's running figures (how
// long without a key frame, how far behind off air) do not make a new event
// each time they move.
func TestSourceEventWithoutRunningFigures(t *testing.T) {
	ev := func(w string) sourceEvent {
		return sourceEventOf(ingest.Status{Name: "cam1", State: ingest.StateLive, Warning: w})
	}
	require.True(t, ev("no key frame for 4 s; off air its decoder is 700 ms behind its media").same(
		ev("no key frame for 5 s; off air its decoder is 812 ms behind its media")))
	require.Equal(t, "no key frame; off air its decoder is behind its media", ev("no key frame for 4 s; off air its decoder is 700 ms behind its media").Warning)
	require.False(t, ev("an Opus track is ignored").same(ev("an Opus track is ignored; off air its decoder is 700 ms behind its media")))
}
