package push

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// TestManagerTellsItsListener: the listener is told of an output added,
// each state it goes through (connecting, retrying with its error), a
// change, and its removal; it reads the manager from inside the call (it
// is never called under the manager's lock, not even while Patch holds it
// waiting for the output's goroutine to end); Close stops it.
func TestManagerTellsItsListener(t *testing.T) {
	// a destination that takes the connection and says nothing until told
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	program := media.NewStream()
	program.SetTracks(&media.Track{Kind: media.KindVideo, Codec: media.CodecH264, Width: 320, Height: 240})
	m := NewManager(program, Options{BackoffMin: time.Hour, BackoffMax: time.Hour}, slog.New(slog.DiscardHandler))
	type seen struct {
		st   Status
		gone bool
	}
	got := make(chan seen, 64)
	m.OnChange(func(name string) {
		st, err := m.Get(name) // back into the owner
		got <- seen{st: st, gone: err != nil}
	})
	until := func(what string, ok func(seen) bool) seen {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-got:
				if ok(s) {
					return s
				}
			case <-deadline:
				t.Fatalf("not told of %s", what)
			}
		}
	}
	_, err = m.Add(Config{Name: "yt", URL: "rtmp://" + ln.Addr().String() + "/live/key", Enabled: true})
	require.NoError(t, err)
	until("connecting", func(s seen) bool { return s.st.State == StateConnecting })
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the output did not connect")
	}
	conn.Close() // the handshake fails: retrying, for an hour
	s := until("retrying", func(s seen) bool { return s.st.State == StateRetrying })
	require.Equal(t, 1, s.st.Attempt)
	require.Equal(t, uint64(1), s.st.Reconnects)
	require.NotEmpty(t, s.st.LastError)

	_, err = m.Stop("yt") // Patch holds the lock while the goroutine ends
	require.NoError(t, err)
	until("stopped", func(s seen) bool { return !s.st.Enabled && s.st.State == StateIdle })

	_, err = m.Add(Config{Name: "tw", URL: "rtmp://127.0.0.1:1/app/key"})
	require.NoError(t, err)
	until("added idle", func(s seen) bool { return s.st.Name == "tw" && s.st.State == StateIdle })

	require.NoError(t, m.Remove("yt"))
	until("removed", func(s seen) bool { return s.gone })

	m.Close()
	m.Close() // safe twice; the listener's goroutine is gone (the race detector and -count catch a leak)
}
