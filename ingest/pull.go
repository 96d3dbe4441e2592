package ingest

import (
	"context"
	"log/slog"
	"time"

	"switchyard/internal/backoff"
)

// PullSession pulls a camera once, until it or ctx ends the session; live
// reports whether the source went live.
type PullSession func(ctx context.Context, cfg SourceConfig) (live bool, err error)

// liveLongEnough resets the backoff: a camera that was up this long and then
// dropped is retried at once, not at the step its earlier failures reached.
const liveLongEnough = 10 * time.Second

// RunPull is the state machine of a pulled camera, for any protocol: the
// source is connecting, then live for as long as a session lasts; when it
// ends the source is retrying (attempt n, next try at …, last error) and
// the next session starts after minD, 2·minD … maxD with jitter, forever,
// until ctx ends or the source is removed.
func RunPull(ctx context.Context, reg *Registry, name string, minD, maxD time.Duration, log *slog.Logger, session PullSession) {
	attempt := 0
	for {
		src, ok := reg.Get(name)
		if !ok {
			return
		}
		src.SetPullState(StateConnecting, attempt, time.Time{}, nil)
		started := time.Now()
		live, err := session(ctx, src.Config())
		if ctx.Err() != nil {
			return
		}
		if live && time.Since(started) > liveLongEnough {
			attempt = 0
		}
		attempt++
		wait := backoff.Delay(attempt, minD, maxD)
		src.SetPullState(StateRetrying, attempt, time.Now().Add(wait), err)
		log.Warn("camera unreachable; retrying", "attempt", attempt, "in", wait.Round(time.Millisecond), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
