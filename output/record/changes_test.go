package record

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// TestRecorderTellsItsListener: the listener is told of a session started,
// stopped (with its files complete: "stopped"), and stopped on its own
// (its reason at once); it reads the recorder from inside the call (never
// called under the recorder's lock); Close stops it.
func TestRecorderTellsItsListener(t *testing.T) {
	rec := New(Options{Dir: t.TempDir(), FPSNum: 30, FPSDen: 1, MinFreeBytes: 1,
		Sources: func() map[string]*media.Stream { return map[string]*media.Stream{"cam1": media.NewStream()} },
		Program: media.NewStream()}, slog.New(slog.DiscardHandler))
	type seen struct {
		active bool
		state  string // of the newest session
	}
	got := make(chan seen, 16)
	rec.OnChange(func() {
		var s seen
		in, ok := rec.Active() // back into the owner
		s.active = ok
		if list, err := rec.List(); err == nil && len(list) > 0 {
			s.state = list[0].State
		}
		if ok {
			s.state = in.State
		}
		got <- s
	})
	next := func(what string) seen {
		t.Helper()
		select {
		case s := <-got:
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("not told of %s", what)
			return seen{}
		}
	}

	_, err := rec.Start(StartRequest{Program: true})
	require.NoError(t, err)
	require.Equal(t, seen{active: true, state: "recording"}, next("the start"))
	_, err = rec.Stop()
	require.NoError(t, err)
	require.Equal(t, seen{state: "stopped"}, next("the stop"))

	time.Sleep(time.Millisecond) // session ids are by the millisecond
	_, err = rec.Start(StartRequest{Program: true})
	require.NoError(t, err)
	require.True(t, next("the second start").active)
	rec.mu.Lock()
	s := rec.session
	rec.mu.Unlock()
	rec.stopFor(s, "stopped: disk full")
	require.Equal(t, seen{state: "stopped: disk full"}, next("the stop on its own"))

	rec.Close()
	rec.Close()
}
