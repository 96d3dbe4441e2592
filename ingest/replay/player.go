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

// start claims the replay source and plays units on it from the mark.
func (r *Replayer) start(name string, units []*media.Unit, mark int, speed float64, slow string) (Info, error) {
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
		ID: fmt.Sprintf("r%d", r.seq), Source: name, Speed: speed, Slow: slow,
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
		r.run(ctx, pub, units, mark, speed, slow, now, base)
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
// stretched by 1/speed — or, slow with Slow blend, pictures of its own at
// the camera's rate, each in between a mix of the two around it. Sound
// only at 100 %. The range's last video unit is marked End: the mixer's
// decoder gives out its picture at once (a decoder with delay gives a
// picture out when the next unit comes in, and none does). Then that
// picture is held (hold): the Still a frame apart, until the next replay;
// with OnEnd next, Ended is called once the last picture has had its
// time.
func (r *Replayer) run(ctx context.Context, pub *ingest.Publisher, units []*media.Unit, mark int, speed float64, slow string, t0 time.Time, base time.Duration) {
	hold := r.cfg.Hold
	markPTS, markDTS := units[mark].PTS, units[mark].DTS
	vtrack := units[mark].Track
	fps := vtrack.FPS
	if fps <= 0 || fps > 240 {
		fps = 30
	}
	fd := time.Duration(float64(time.Second) / fps)
	blendOn := slow == SlowBlend && speed < 1

	// the held picture, decoded and encoded while the replay plays
	var still [][]byte
	var stillTrack *media.Track
	stillErr := errors.New("no Still given")
	stillDone := make(chan struct{})
	if r.cfg.Still != nil {
		go func() {
			defer close(stillDone)
			stillTrack, still, stillErr = r.cfg.Still.Still(units, fps)
		}()
		defer func() { <-stillDone }()
	} else {
		close(stillDone)
	}

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
	timer := time.NewTimer(0)
	defer timer.Stop()
	wait := func(at time.Time) bool {
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return false
			case <-timer.C:
			}
		}
		return ctx.Err() == nil
	}
	shownAt := base // the mark's timestamp on the replay source
	wallOf := func(pts time.Duration) time.Time { return t0.Add(pts - shownAt) }
	var prevAt time.Duration
	lastPTS := shownAt
	step := time.Duration(float64(fd) / speed) // a frame at the replay's speed; how long the last picture stands before the hold
	lastVideo := -1                            // the range's last video unit: marked End
	for i, u := range units {
		if u.Track.Kind == media.KindVideo {
			lastVideo = i
		}
	}
	emit := func(i int, u *media.Unit) bool {
		video := u.Track.Kind == media.KindVideo
		if !video && speed != 1 {
			return true // muted below 100 %
		}
		pts := shownAt
		var at time.Duration // after t0
		if i > mark && (u.PTS > markPTS || !video) {
			d := time.Duration(float64(onGrid(u.PTS-markPTS, u.Track)) / speed)
			pts = shownAt + hold + d
			at = hold + time.Duration(float64(u.DTS-markDTS)/speed)
		}
		if !video && i <= mark {
			return true
		}
		dts := min(pts, shownAt+max(at, 0))
		if i <= mark {
			dts = pts
		}
		// Each unit goes out when the picture before it is due — a frame
		// ahead of its time, as a camera's come — and not sooner: the mixer
		// maps a source's timestamps to its clock by their earliest
		// arrival, so the unit after the mark sent at once, Hold ahead of
		// its time, would pull the whole replay early, its picture in over
		// the mark. (The mark comes out of the mixer's decoder with the
		// burst: without reordering, a picture comes out as it is decoded.)
		sendAt := prevAt
		if i > mark {
			sendAt = max(sendAt, at-step)
		}
		if video {
			prevAt = max(prevAt, at)
			lastPTS = max(lastPTS, pts)
		}
		if !wait(t0.Add(sendAt)) {
			return false
		}
		pub.WriteUnit(&media.Unit{Track: retrack(u.Track), PTS: pts, DTS: dts, Key: u.Key, Data: u.Data, End: i == lastVideo && !blendOn})
		return true
	}
	for i, u := range units {
		if blendOn && i > mark {
			break
		}
		if !emit(i, u) {
			return
		}
	}
	if blendOn {
		last, err := r.blendRun(ctx, pub, units, mark, speed, fps, shownAt+hold, wait, wallOf)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.log.Warn("replay: the blended slow motion stopped", "err", err)
		}
		lastPTS, step = max(lastPTS, last), fd
	}

	select {
	case <-stillDone:
	case <-ctx.Done():
		return
	}
	endAt := wallOf(lastPTS + step)
	if r.cfg.EndDelay != nil {
		endAt = endAt.Add(r.cfg.EndDelay())
	}
	ended := r.cfg.OnEnd != EndNext || r.cfg.Ended == nil
	if stillErr != nil {
		// the real last picture stands until stale_after, then the slate
		r.log.Warn("replay: its last picture cannot be held; the replay source shows the slate after it", "err", stillErr)
		if !ended && wait(endAt) {
			r.cfg.Ended()
		}
		<-ctx.Done()
		return
	}
	// The last picture stays on, the Still a frame apart, each sent when
	// the picture before it is due (like every unit), so the source never
	// goes stale; the publisher stays until the next replay or the end of
	// the show.
	for k, prev := 0, lastPTS; ; k++ {
		pts := lastPTS + step + time.Duration(k)*fd
		if !wait(wallOf(prev)) {
			return
		}
		prev = pts
		pub.WriteUnit(&media.Unit{Track: stillTrack, PTS: pts, DTS: pts, Key: true, Data: still})
		if !ended && !time.Now().Before(endAt) {
			ended = true
			r.cfg.Ended()
		}
	}
}

// blendRun publishes the replay from the mark on as pictures of its own
// (slow with Slow blend), made by the Slowmo main gave the Replayer:
// picture j, at start + j frames, stands for the camera at j×speed frames
// past the mark, each going out when the one before it is due (the first
// at start, when the mark stops standing: not sooner, see run). Each is
// sent once the next is made, so the last goes out marked End (the
// mixer's decoder gives it out at once). It returns the last picture's
// timestamp.
func (r *Replayer) blendRun(ctx context.Context, pub *ingest.Publisher, units []*media.Unit, mark int, speed, fps float64,
	start time.Duration, wait func(time.Time) bool, wallOf func(time.Duration) time.Time) (last time.Duration, err error) {
	if r.cfg.Slowmo == nil {
		return 0, errors.New("replay.slow: blend has nothing to blend with here (no Slowmo given): the replay went on repeating")
	}
	fd := time.Duration(float64(time.Second) / fps)
	var pending *media.Unit // made, not sent yet
	prev := start           // the timestamp of the picture before pending
	send := func(end bool) bool {
		if pending == nil {
			return true
		}
		if !wait(wallOf(prev)) {
			return false
		}
		pending.End = end
		pub.WriteUnit(pending)
		prev, last, pending = pending.PTS, pending.PTS, nil
		return true
	}
	j := 0
	err = r.cfg.Slowmo.Pictures(units, mark, speed, fps, func(track *media.Track, nalus [][]byte, key bool) bool {
		if !send(false) {
			return false
		}
		j++
		pts := start + time.Duration(j)*fd
		pending = &media.Unit{Track: track, PTS: pts, DTS: pts, Key: key, Data: nalus}
		return true
	})
	if ctx.Err() == nil {
		send(true) // (after an error too: what was made)
	}
	if err == nil {
		err = ctx.Err()
	}
	return last, err
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
