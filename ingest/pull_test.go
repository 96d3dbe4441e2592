package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPullRunsItsSessionUntilClose: a Pull runs the protocol's session
// again after each end, with the source retrying in between, and Close
// stops a session mid-way and waits for it; Close is safe twice and before
// Start.
func TestPullRunsItsSessionUntilClose(t *testing.T) {
	reg := NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, err := reg.Add(SourceConfig{Name: "cam1", URL: "rtsp://127.0.0.1:1/cam"})
	require.NoError(t, err)

	(&Pull{}).Close() // never started

	sessions := make(chan struct{}, 8)
	n := 0 // sessions run: only the pull's goroutine touches it
	ended := make(chan struct{})
	p := &Pull{Registry: reg, Source: "cam1", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BackoffMin: time.Millisecond, BackoffMax: time.Millisecond,
		Session: func(ctx context.Context, cfg SourceConfig) error {
			require.Equal(t, "rtsp://127.0.0.1:1/cam", cfg.URL)
			sessions <- struct{}{}
			n++
			if n == 1 {
				return errors.New("refused")
			}
			<-ctx.Done() // the second session stays up until Close
			close(ended)
			return ctx.Err()
		}}
	p.Start()
	for range 2 {
		select {
		case <-sessions:
		case <-time.After(10 * time.Second):
			t.Fatal("the session was not run again after it ended")
		}
	}
	src, _ := reg.Get("cam1")
	require.Equal(t, 1, src.Status().Attempt, "one failed attempt before the running session")
	p.Close()
	select {
	case <-ended:
	default:
		t.Fatal("Close returned before the session ended")
	}
	p.Close()
}

// TestPullSaysWhetherItConnected: a session refused before it could
// publish (a wrong passphrase, a refused connection) is retried with its
// own error; one that published and then ended with no media is told as
// such.
func TestPullSaysWhetherItConnected(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := NewRegistry(log)
	for _, c := range []struct {
		name      string
		publishes bool
		want      string
	}{
		{"refused", false, "wrong passphrase"},
		{"published", true, "connected, but no media came: feed lost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := reg.Add(SourceConfig{Name: c.name, URL: "srt://127.0.0.1:1"})
			require.NoError(t, err)
			src, _ := reg.Get(c.name)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				runPull(ctx, reg, c.name, time.Hour, time.Hour, log, func(ctx context.Context, cfg SourceConfig) error {
					if !c.publishes {
						return errors.New("wrong passphrase")
					}
					pub, err := reg.Publish(c.name, "", ProtoSRTPull)
					require.NoError(t, err)
					pub.Close()
					return errors.New("feed lost")
				})
			}()
			deadline := time.After(10 * time.Second)
			for src.Status().State != StateRetrying {
				select {
				case <-deadline:
					t.Fatal("the pull did not retry")
				case <-time.After(5 * time.Millisecond):
				}
			}
			require.Equal(t, c.want, src.Status().LastError)
			cancel()
			<-done
		})
	}
}
