package ingest

// SetPlayer gives the source a clip player's state: its status shows it
// (Status.Player) while this publisher is on. f is called outside the
// source's lock.
func (p *Publisher) SetPlayer(f func() any) {
	s := p.src
	s.mu.Lock()
	if s.publisher == p {
		s.player = f
	}
	s.mu.Unlock()
}

// PlayerChanged tells the source's listener (the event stream) that the
// player's state changed.
func (p *Publisher) PlayerChanged() {
	s := p.src
	s.mu.Lock()
	if s.publisher == p {
		s.changedLocked()
	}
	s.mu.Unlock()
}
