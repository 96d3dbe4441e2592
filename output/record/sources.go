package record

import (
	"errors"
	"fmt"

	"switchyard/media"
)

// ErrClosed refuses a change to a recorder that has been closed.
var ErrClosed = errors.New("the recorder is closed (the switcher is shutting down)")

// AddSource is told of a source added to the show (internal/show's
// transaction): a running session that records every camera (a StartRequest
// without ISO) records it too, from its pre-roll, in <source>.mp4 — or, for
// a name whose source was removed earlier in the session, in its next part
// file (<source>.partN.mp4). A session recording chosen cameras, or none,
// leaves it out. A session that records st already (it started between the
// source's registration and this call) is left as it is. It fails only
// when the recorder is closed, or when the session still records another
// stream under that name (the show's names are unique: a bug elsewhere).
func (r *Recorder) AddSource(name string, st *media.Stream) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	s := r.session // while it is r's, its stop has not begun: its WaitGroups may grow
	if s == nil || s.req.ISO != nil {
		return nil
	}
	s.mu.Lock()
	var t *track
	for _, x := range s.tracks {
		if !x.program && x.name == name {
			t = x
		}
	}
	s.mu.Unlock()
	rd, n := st.NewReaderFromPreroll(2048)
	if t == nil {
		t = &track{s: s, name: name, stream: st, reader: rd, state: "waiting", prerollLeft: n}
		s.mu.Lock()
		s.tracks = append(s.tracks, t)
		s.mu.Unlock()
	} else {
		select {
		case <-t.done:
		default:
			rd.Close()
			if t.stream == st {
				return nil // recorded already: the session started after the source joined the registry
			}
			return fmt.Errorf("source %s: the recording still writes a camera of that name", name)
		}
		// the source came back: its track goes on in a new part file, on
		// the new publisher's clock (the old goroutine has returned)
		t.stream, t.reader, t.prerollLeft = st, rd, n
		t.anchor, t.anchored, t.failedFor = 0, false, ""
		t.removed.Store(false)
		t.mu.Lock()
		t.state, t.err = "waiting", ""
		t.mu.Unlock()
	}
	t.check()
	s.startTrack(t)
	s.wake()
	r.log.Info("recording a source added to the show", "session", s.id, "source", name)
	return nil
}

// RemoveSource is told of a source removed from the show: its camera file
// in a running session ends cleanly at once — what the source sent goes
// in, the file is completed and closed, and the track says "stopped" —
// while the session and its other files go on. It returns when the file is
// closed.
func (r *Recorder) RemoveSource(name string) {
	r.mu.Lock() // AddSource changes a track's reader under it
	s := r.session
	var t *track
	if s != nil {
		s.mu.Lock()
		for _, x := range s.tracks {
			if !x.program && x.name == name {
				t = x
			}
		}
		s.mu.Unlock()
	}
	if t == nil || t.done == nil {
		r.mu.Unlock()
		return
	}
	rd, done := t.reader, t.done
	t.removed.Store(true)
	r.mu.Unlock() // not held while the file closes: a write error there stops the session (stopFor takes it)
	rd.Close()    // its Next returns once drained: the goroutine writes the rest and closes the file
	<-done
	t.markStopped()
	s.wake()
	r.log.Info("a source left the show: its recording ended", "session", s.id, "source", name)
}
