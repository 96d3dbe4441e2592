package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"switchyard/internal/backoff"
	"switchyard/internal/redact"
)

// PullSession pulls a camera once, until it or ctx ends the session.
type PullSession func(ctx context.Context, cfg SourceConfig) error

// liveLongEnough resets the backoff: a camera that was up this long and then
// dropped is retried at once, not at the step its earlier failures reached.
const liveLongEnough = 10 * time.Second

// RunPull is the state machine of a pulled camera, for any protocol: the
// source is connecting, then live once media arrives, for as long as a
// session lasts; when it ends the source is retrying (attempt n, next try at
// …, last error) and the next session starts after minD, 2·minD … maxD with
// jitter, forever, until ctx ends or the source is removed. A session that
// connected but brought no media counts as a failure like any other: a
// relay that accepts a play with no publisher behind it is not a live feed.
func RunPull(ctx context.Context, reg *Registry, name string, minD, maxD time.Duration, log *slog.Logger, session PullSession) {
	attempt := 0
	for {
		src, ok := reg.Get(name)
		if !ok {
			return
		}
		src.SetPullState(StateConnecting, attempt, time.Time{}, nil)
		started, units := time.Now(), src.Stream().UnitsWritten()
		err := session(ctx, src.Config())
		if ctx.Err() != nil {
			return
		}
		live := src.Stream().UnitsWritten() > units
		if live && time.Since(started) > liveLongEnough {
			attempt = 0
		}
		if !live && err != nil {
			err = fmt.Errorf("connected, but no media came: %w", err)
		}
		attempt++
		wait := backoff.Delay(attempt, minD, maxD)
		src.SetPullState(StateRetrying, attempt, time.Now().Add(wait), err)
		log.Warn("camera unreachable; retrying", "attempt", attempt, "in", wait.Round(time.Millisecond), "err", redact.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
