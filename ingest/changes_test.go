package ingest

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// TestRegistryTellsItsListener: the listener is told of every kind of
// change — added, publisher connected, live, tracks, warning, measured
// frame rate, stale and back, the missing key frame, closed, pull state,
// removed — and reads the registry from inside the call (it is never
// called under the registry's locks). The clock's goroutine ends with Close.
func TestRegistryTellsItsListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewRegistry(slog.New(slog.DiscardHandler))
		var mu sync.Mutex
		var seen []Status // what the listener read, "gone" as State for a removed source
		r.OnChange(func(name string) {
			st := Status{Name: name, State: "gone"}
			if s, ok := r.Get(name); ok { // back into the owner: no deadlock
				st = s.Status()
			}
			mu.Lock()
			seen = append(seen, st)
			mu.Unlock()
		})
		defer r.Close()
		take := func() []Status {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			out := seen
			seen = nil
			return out
		}
		last := func(what string) Status {
			t.Helper()
			got := take()
			require.NotEmpty(t, got, "told of %s", what)
			return got[len(got)-1]
		}

		_, err := r.Add(SourceConfig{Name: "cam1"})
		require.NoError(t, err)
		require.Equal(t, StateOffline, last("the source added").State)

		p, err := r.Publish("cam1", "", "rtmp")
		require.NoError(t, err)
		st := last("the publisher")
		require.Equal(t, StateConnecting, st.State)
		require.Equal(t, "rtmp", st.Protocol)

		vt := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, Width: 640, Height: 360}
		p.WriteUnit(&media.Unit{Track: vt, Key: true, Data: [][]byte{{0x65}}})
		st = last("live")
		require.Equal(t, StateLive, st.State)
		require.NotNil(t, st.Video)

		at := &media.Track{Kind: media.KindAudio, Codec: media.CodecAAC, SampleRate: 48000, Channels: 2}
		p.WriteUnit(&media.Unit{Track: at, Data: [][]byte{{1}}})
		require.NotNil(t, last("the audio track").Audio)
		p.WriteUnit(&media.Unit{Track: at, Data: [][]byte{{1}}})
		require.Empty(t, take(), "a unit that changes nothing tells nothing")

		p.SetWarning("an Opus track is ignored")
		require.Equal(t, "an Opus track is ignored", last("the warning").Warning)

		// a second of 10 pictures a second: the measured rate
		for range 11 {
			time.Sleep(100 * time.Millisecond)
			p.WriteUnit(&media.Unit{Track: vt, Data: [][]byte{{0x41}}})
		}
		require.InDelta(t, 10, last("the measured rate").Video.FPS, 1)

		time.Sleep(StaleAfter + RecheckEvery)
		require.Equal(t, StateStale, last("stale").State)
		p.WriteUnit(&media.Unit{Track: vt, Data: [][]byte{{0x41}}})
		require.Equal(t, StateLive, last("back from stale").State)

		for range 12 { // pictures without a key frame past NoKeyAfter
			time.Sleep(time.Second)
			p.WriteUnit(&media.Unit{Track: vt, Data: [][]byte{{0x41}}})
		}
		got := take()
		require.NotEmpty(t, got)
		require.Contains(t, got[len(got)-1].Warning, "no key frame")
		told := 0
		for _, st := range got {
			if strings.Contains(st.Warning, "no key frame") {
				told++
			}
		}
		require.Equal(t, 1, told, "the missing key frame once, not once a second (its count of seconds is not a change)")

		p.Close()
		require.Equal(t, StateOffline, last("the publisher closed").State)

		_, err = r.Add(SourceConfig{Name: "ipcam", URL: "rtsp://10.0.0.9/main"})
		require.NoError(t, err)
		take()
		src, _ := r.Get("ipcam")
		src.SetPullState(StateRetrying, 1, time.Now().Add(time.Second), errors.New("connection refused"))
		st = last("the pull's state")
		require.Equal(t, StateRetrying, st.State)
		require.Equal(t, 1, st.Attempt)

		require.NoError(t, r.Remove("cam1"))
		require.Equal(t, Status{Name: "cam1", State: "gone"}, last("removed"))

		r.Close()
		r.Close()
		_, err = r.Add(SourceConfig{Name: "late"})
		require.NoError(t, err)
		require.Empty(t, take(), "nothing after Close")
	})
}
