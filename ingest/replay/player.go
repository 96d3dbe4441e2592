package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/media"
)

// start claims the replay source and plays units on it from the mark,
// then next (nil: none), which pushes the last picture out of the decoder.
func (r *Replayer) start(name string, units []*media.Unit, mark int, next *media.Unit, speed float64) (Info, error) {
	pub, err := r.claim()
	if err != nil {
		return Info{}, err
	}
	now := time.Now()
	markPTS := units[mark].PTS
	var end time.Duration
	frames := 0
	for _, u := range units {
		if u.Track.Kind == media.KindVideo {
			end = max(end, u.PTS)
			if u.PTS >= markPTS {
				frames++
			}
		}
	}
	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		pub.Close()
		return Info{}, fault.New(fault.Unavailable, "the show is closing")
	}
	r.seq++
	info := Info{
		ID: fmt.Sprintf("r%d", r.seq), Source: name, Speed: speed,
		KeyPTSS: units[0].PTS.Seconds(), MarkPTSS: markPTS.Seconds(), EndPTSS: end.Seconds(),
		DurationS: float64(end-markPTS) / speed / float64(time.Second), StartedAt: now,
		OnAirAt: now.Add(r.cfg.Lead), RollsAt: now.Add(r.cfg.Hold), Frames: frames, Playing: true,
	}
	ctx, cancel := context.WithCancel(r.ctx)
	p := &play{info: info, cancel: cancel, done: make(chan struct{})}
	prev := r.playing
	r.playing = p
	base := now.Sub(r.epoch)
	r.mu.Unlock()
	if prev != nil { // replaced: it stops before this one publishes
		prev.cancel()
		<-prev.done
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(p.done)
		defer pub.Close()
		played := units
		if next != nil {
			played = append(slices.Clip(units), next)
		}
		r.run(ctx, pub, played, mark, speed, now, base)
		r.mu.Lock()
		if r.playing == p {
			r.playing.info.Playing = false
		}
		r.mu.Unlock()
	}()
	r.mu.Lock()
	saved := r.save(info, units)
	p.info.File, p.info.SaveError = saved.File, saved.SaveError
	r.saved = append(r.saved, saved)
	info = p.info
	r.mu.Unlock()
	return info, nil
}

// claim takes the replay source as its publisher (the one playing is
// replaced: the source takes over).
func (r *Replayer) claim() (*ingest.Publisher, error) {
	if _, ok := r.reg.Get(Source); !ok {
		return nil, fmt.Errorf("source %q: %w", Source, ingest.ErrUnknownSource)
	}
	for range 2 {
		pub, err := r.reg.Publish(Source, r.cfg.Key, "replay")
		if !errors.Is(err, ingest.ErrBusy) {
			return pub, err
		}
		r.mu.Lock()
		prev := r.playing
		r.mu.Unlock()
		if prev == nil {
			return nil, err
		}
		prev.cancel()
		<-prev.done
	}
	return nil, fmt.Errorf("source %q: %w", Source, ingest.ErrBusy)
}

// run publishes the replay: the units from the key frame to the mark at
// once, all stamped with the marked frame's time (the mixer decodes them
// and, as they are all due together, shows the last: the mark); the mark
// stands for Hold, then the rest follows, paced, with timestamps
// stretched by 1/speed. Sound only at 100 %.
func (r *Replayer) run(ctx context.Context, pub *ingest.Publisher, units []*media.Unit, mark int, speed float64, t0 time.Time, base time.Duration) {
	hold := r.cfg.Hold
	markPTS, markDTS := units[mark].PTS, units[mark].DTS
	tracks := map[*media.Track]*media.Track{}
	retrack := func(t *media.Track) *media.Track {
		if speed == 1 || t.Kind != media.KindVideo || t.FPS == 0 {
			return t
		}
		if n, ok := tracks[t]; ok {
			return n
		}
		n := *t
		n.FPS = t.FPS * speed
		tracks[t] = &n
		return &n
	}
	shownAt := base // the mark's timestamp on the replay source
	var prevAt time.Duration
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i, u := range units {
		video := u.Track.Kind == media.KindVideo
		if !video && speed != 1 {
			continue // muted below 100 %
		}
		pts := shownAt
		var at time.Duration // after t0
		if i > mark && (u.PTS > markPTS || !video) {
			d := time.Duration(float64(onGrid(u.PTS-markPTS, u.Track)) / speed)
			pts = shownAt + hold + d
			at = hold + time.Duration(float64(u.DTS-markDTS)/speed)
		}
		if !video && i <= mark {
			continue
		}
		dts := min(pts, shownAt+max(at, 0))
		if i <= mark {
			dts = pts
		}
		// Each unit goes out when the picture before it is due: the mixer's
		// decoder gives a picture out when the next unit comes in, so the
		// mark comes out with the burst and each picture in time.
		sendAt := prevAt
		if video {
			prevAt = max(prevAt, at)
		}
		if wait := time.Until(t0.Add(sendAt)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		pub.WriteUnit(&media.Unit{Track: retrack(u.Track), PTS: pts, DTS: dts, Key: u.Key, Data: u.Data})
	}
	// The last frame stays on: the publisher stays until the next replay
	// (or the end of the show), so the source does not go offline under it.
	<-ctx.Done()
}

// onGrid puts d, a video timestamp's distance from the mark, on the
// frame grid of the track's rate when it is within 2 ms of it: RTMP
// carries whole milliseconds, and stretched by 1/speed that rounding
// would move a picture across a program frame's boundary now and then,
// so the program would step 1, 3, 2 frames instead of 2, 2, 2.
func onGrid(d time.Duration, t *media.Track) time.Duration {
	if t.Kind != media.KindVideo || t.FPS <= 0 {
		return d
	}
	n := math.Round(d.Seconds() * t.FPS)
	g := time.Duration(n / t.FPS * float64(time.Second))
	if (d - g).Abs() <= 2*time.Millisecond {
		return g
	}
	return d
}

// Playing returns the replay playing now, if any.
func (r *Replayer) Playing() (Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.playing == nil {
		return Info{}, false
	}
	return r.playing.info, r.playing.info.Playing
}

// List returns the replays of this run, newest first.
func (r *Replayer) List() []Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.saved)
	slices.Reverse(out)
	return out
}

// save writes the replay's units at 100 % (as the camera sent them) to
// ClipDir/replay-<time>-<source>.mp4, in the background: the replay's
// entry in the list says Saving until the file is whole, then has File,
// or SaveError. It returns the entry's first state.
func (r *Replayer) save(info Info, units []*media.Unit) Info {
	out := info
	out.Playing = false
	if r.cfg.Save == nil || r.cfg.ClipDir == "" {
		out.SaveError = "replays are not saved (no clip directory)"
		return out
	}
	out.File = fmt.Sprintf("replay-%s-%s.mp4", info.StartedAt.UTC().Format("20060102T150405.000Z"), info.Source)
	out.Saving = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := os.MkdirAll(r.cfg.ClipDir, 0o750)
		if err == nil {
			err = r.cfg.Save(filepath.Join(r.cfg.ClipDir, out.File), units)
		}
		if err != nil {
			r.log.Warn("replay not saved", "file", out.File, "err", err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := range r.saved {
			if e := &r.saved[i]; e.ID == out.ID {
				e.Saving = false
				if err != nil {
					e.File, e.SaveError = "", err.Error()
				}
			}
		}
	}()
	return out
}
