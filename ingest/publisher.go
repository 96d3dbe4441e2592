package ingest

import (
	"time"

	"switchyard/internal/protocols/srt"
	"switchyard/media"
)

// Publisher is the claim of one connection on a source.
type Publisher struct {
	src    *Source
	closed bool
	onKick func() // disconnects the publisher's connection
}

// OnKick sets how the registry disconnects this publisher (a takeover, the
// source removed).
func (p *Publisher) OnKick(f func()) {
	p.src.mu.Lock()
	p.onKick = f
	p.src.mu.Unlock()
}

func (p *Publisher) kick() {
	p.src.mu.Lock()
	f := p.onKick
	p.src.mu.Unlock()
	if f != nil {
		f()
	}
}

// WriteUnit publishes a unit and updates the source's statistics.
func (p *Publisher) WriteUnit(u *media.Unit) {
	s := p.src
	now := time.Now()
	s.mu.Lock()
	if p.closed {
		s.mu.Unlock()
		return
	}
	s.lastUnit = now
	changed := false
	if s.state == StateConnecting {
		s.state = StateLive
		changed = true
	}
	if u.Track.Kind == media.KindVideo {
		changed = changed || s.video != u.Track
		s.video = u.Track
		s.win.frames++
		if u.Key {
			if d := u.DTS - s.lastKey; s.lastKey >= 0 && d > 0 && d < time.Minute {
				s.keyint = d
			}
			s.lastKey, s.lastKeyAt = u.DTS, now
		}
	} else {
		changed = changed || s.audio != u.Track
		s.audio = u.Track
	}
	s.win.bytes += u.Size()
	if d := now.Sub(s.win.start); d >= time.Second {
		s.fps = float64(s.win.frames) / d.Seconds()
		s.kbps = round2(float64(s.win.bytes) * 8 / 1000 / d.Seconds())
		s.win = window{start: now}
	}
	if changed {
		s.changedLocked()
	} else {
		s.noteLocked(now) // back from stale, the key frame come, the rate measured
	}
	s.mu.Unlock()
	s.stream.WriteUnit(u)
}

// Refuse counts a publisher turned away before it could ask to publish
// (an RTSP publisher whose key was wrong or missing in its handshake).
func (s *Source) Refuse() {
	s.mu.Lock()
	s.refused++
	s.mu.Unlock()
}

// SetWarning says what of the publisher's media the source cannot take (a
// track it ignores, and why): the source's status shows it while this
// publisher is on. The publisher's protocol logs it.
func (p *Publisher) SetWarning(msg string) {
	s := p.src
	s.mu.Lock()
	if s.publisher == p && s.tracksWarning != msg {
		s.tracksWarning = msg
		s.changedLocked()
	}
	s.mu.Unlock()
}

// SetLink gives the source the publisher's SRT link: its status shows it
// (Status.SRT) while this publisher is on. f is called outside the
// source's lock, from the API and /metrics.
func (p *Publisher) SetLink(f func() srt.Stats) {
	s := p.src
	s.mu.Lock()
	if s.publisher == p {
		s.link = f
	}
	s.mu.Unlock()
}

// Malformed counts a media message the publisher sent that could not be read.
func (p *Publisher) Malformed() {
	p.src.mu.Lock()
	p.src.malformed++
	p.src.mu.Unlock()
}

// SetTracks announces the publisher's tracks on the source's stream (nil
// tracks are left out).
func (p *Publisher) SetTracks(tracks ...*media.Track) {
	var ts []*media.Track
	for _, t := range tracks {
		if t != nil {
			ts = append(ts, t)
		}
	}
	p.src.stream.SetTracks(ts...)
}

// Close releases the source; it goes offline. Safe to call twice.
func (p *Publisher) Close() {
	s := p.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if s.publisher == p {
		s.publisher = nil
		s.state = StateOffline
		s.pull.Attempt, s.pull.NextTryAt = 0, nil
		s.video, s.audio = nil, nil
		s.tracksWarning = ""
		s.link, s.rtc, s.player = nil, nil, nil
		s.sessions++
		s.changedLocked()
	}
}
