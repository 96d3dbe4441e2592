package ingest

import "time"

// The registry tells one listener (control's event stream) of its sources'
// changes: the calls that change a source mark it at once, and a goroutine
// of the registry's notices what the clock changes (a source going stale,
// its key frames missing) and what the measurements change (the frame rate
// shown). internal/notify calls the listener outside the registry's locks.

// RecheckEvery is how often the registry re-checks what a source's status
// derives from the clock (stale, the missing key frame) for its listener.
const RecheckEvery = 250 * time.Millisecond

// OnChange sets the listener of the sources' changes, once: a source
// added, removed or changed, a publisher connected or closed, a pull's
// state, the tracks, the warning, the measured frame rate, and (within
// RecheckEvery) a source going stale or its key frames missing. It gets
// the source's name and reads its Status (a removed source is no longer
// in Get). It is called on a goroutine of the registry's, outside the
// registry's locks, one call at a time; Close stops it.
func (r *Registry) OnChange(f func(name string)) {
	if !r.changes.Listen(f) {
		return
	}
	r.quit, r.done = make(chan struct{}), make(chan struct{})
	go r.watchClock()
}

// Close stops the listener's calls and the clock's goroutine, and waits
// for them. Safe twice.
func (r *Registry) Close() {
	r.close.Do(func() {
		if r.quit != nil {
			close(r.quit)
			<-r.done
		}
		r.changes.Close()
	})
}

// watchClock re-checks the sources' derived state every RecheckEvery and
// marks the sources whose status the clock changed.
func (r *Registry) watchClock() {
	defer close(r.done)
	t := time.NewTicker(RecheckEvery)
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case now := <-t.C:
			for _, s := range r.List() {
				s.mu.Lock()
				s.noteLocked(now)
				s.mu.Unlock()
			}
		}
	}
}

// derived is what a live source's status derives from the clock and its
// measurements rather than from a call.
type derived struct {
	stale bool
	noKey time.Duration // how long without a key frame, past NoKeyAfter (else 0)
	fps   float64       // the frame rate shown: declared, or measured
}

func (s *Source) deriveLocked(now time.Time) derived {
	if s.state != StateLive {
		return derived{}
	}
	var d derived
	if !s.lastUnit.IsZero() && now.Sub(s.lastUnit) > StaleAfter || s.lastUnit.IsZero() && now.Sub(s.since) > StaleAfter {
		d.stale = true
	}
	if v := s.video; v != nil {
		from := s.lastKeyAt
		if from.IsZero() {
			from = s.since
		}
		if since := now.Sub(from); since > NoKeyAfter {
			d.noKey = since
		}
		d.fps = v.FPS
		if d.fps == 0 {
			d.fps = s.fps
		}
		d.fps = round2(d.fps)
	}
	return d
}

// noteLocked tells the listener when the derived state changed since it
// was last told (whether the key frame is missing, not for how long).
func (s *Source) noteLocked(now time.Time) {
	d := s.deriveLocked(now)
	if d.stale != s.noted.stale || (d.noKey > 0) != (s.noted.noKey > 0) || d.fps != s.noted.fps {
		s.noted = d
		s.reg.changes.Changed(s.name)
	}
}

// changedLocked tells the listener of a change made by a call.
func (s *Source) changedLocked() {
	s.noted = s.deriveLocked(time.Now())
	s.reg.changes.Changed(s.name)
}
