package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
)

// Pulled RTSP and SRT feeds are live only once media arrived, as the RTMP
// pull is (TestPullIsLiveOnlyWithMedia): a peer that accepts the pull and
// sends nothing leaves the source connecting, then retrying with a reason.
// Every state the source goes through is read from the event stream (each
// change of the registry, as it happens), so a brief "live" is not missed
// between two looks. Then media flows and the same stream shows it live:
// the watch can see a live state.
func TestPullsAreLiveOnlyWithMedia(t *testing.T) {
	mustHaveTools(t)
	for _, c := range []struct {
		kind  string
		setup func(t *testing.T) (url string, feed func())
	}{
		{"rtsp", silentRTSPCamera},
		{"srt", silentSRTListener},
	} {
		t.Run(c.kind, func(t *testing.T) {
			// side by side: each waits out the pull's read timeout and
			// backoff twice, with its own show and peer
			t.Parallel()
			a, _ := startApp(t, testConfig(t))
			url, feed := c.setup(t)
			events, _ := sseClient(t, a.apiURL("/events"), "")
			mustAPI(t, "POST", a.apiURL("/sources"), fmt.Sprintf(`{"name":"feed","url":%q}`, url), nil)
			st := waitState(t, a, "feed", 40*time.Second, ingest.StateRetrying)
			require.True(t, strings.Contains(st.LastError, "no media") || strings.Contains(st.LastError, "nothing came"),
				"the reason says what is missing: %q", st.LastError)
			// a second attempt too: retrying, connecting again, retrying
			seen := feedStates(t, events, 15*time.Second, func(s []string) bool { return strings.Count(strings.Join(s, " "), "retrying") >= 2 })
			for _, s := range seen {
				require.Contains(t, []string{"offline", "connecting", "retrying"}, s, "states seen: %v", seen)
			}
			feed()
			feedStates(t, events, 40*time.Second, func(s []string) bool { return len(s) > 0 && s[len(s)-1] == "live" })
		})
	}
}

// feedStates collects the states of the source "feed" from the event
// stream until done holds of them.
func feedStates(t *testing.T, events <-chan sseEvent, within time.Duration, done func([]string) bool) []string {
	t.Helper()
	var states []string
	deadline := time.After(within)
	for !done(states) {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "the event stream ended")
			if ev.typ != "source" {
				continue
			}
			var s struct{ Name, State string }
			require.NoError(t, json.Unmarshal([]byte(ev.data), &s), ev.data)
			if s.Name == "feed" && (len(states) == 0 || states[len(states)-1] != s.State) {
				states = append(states, s.State)
			}
		case <-deadline:
			t.Fatalf("within %s the feed went through %v only", within, states)
		}
	}
	return states
}

// silentRTSPCamera is an IP camera whose stream is announced (DESCRIBE,
// SETUP and PLAY succeed) by a publisher that sends no packet; feed
// replaces that publisher by one that sends pictures.
func silentRTSPCamera(t *testing.T) (string, func()) {
	cam := testpeer.StartCamera(t, "", "")
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}}}}
	silent := &gortsplib.Client{}
	require.NoError(t, silent.StartRecording(cam.PublishURL(), desc))
	t.Cleanup(silent.Close)
	waitFor(t, 10*time.Second, "the camera's stream announced", cam.Fed)
	return cam.URL(), func() {
		silent.Close()
		waitFor(t, 10*time.Second, "the silent publisher gone", func() bool { return !cam.Fed() })
		run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "rtsp", "-rtsp_transport", "tcp", cam.PublishURL())...)
	}
}

// silentSRTListener is srt-live-transmit listening for SRT callers as the
// receiving end (its source is the SRT listener, its target a UDP port):
// it accepts the pull and never sends; feed replaces it on the same port
// by an ffmpeg listener that sends MPEG-TS.
func silentSRTListener(t *testing.T) (string, func()) {
	port, sink := freeUDPPort(t), freeUDPPort(t)
	silent := run(t, "srt-live-transmit", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener", port), fmt.Sprintf("udp://127.0.0.1:%d", sink))
	waitUDPBound(t, port)
	return fmt.Sprintf("srt://127.0.0.1:%d", port), func() {
		silent.kill()
		_ = silent.wait(t, 10*time.Second)
		remoteSRT(t, port, "red")
	}
}
