package webrtc

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// link follows one peer connection (a WHIP publisher's or a WHEP
// viewer's) from its answer: it ends the session when ICE and DTLS do not
// connect in time or the peer goes away, and counts which it was.
type link struct {
	srv  *Server
	what string // "whip session", "whep viewer": the log's word for it
	peer string // who went away when ICE fails: "the peer", "the viewer"
	log  *slog.Logger
	end  func(why string)

	// ending takes why the peer connection ended (its state callback must
	// not close it from inside): the link's goroutine (wait), which the
	// server's Close waits for, ends the session with it.
	ending chan string
	done   chan struct{} // closed by stop

	mu        sync.Mutex
	connected bool
	stopped   bool
	timer     *time.Timer
}

func newLink(srv *Server, what, peer string, log *slog.Logger, end func(string)) link {
	return link{srv: srv, what: what, peer: peer, log: log, end: end, ending: make(chan string, 1), done: make(chan struct{})}
}

// follow watches pc's state, starts the handshake timer and the goroutine
// that ends the session when the peer connection does.
func (l *link) follow(pc *webrtc.PeerConnection) {
	pc.OnConnectionStateChange(l.onState)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.timer = time.AfterFunc(l.srv.HandshakeTimeout, l.handshakeTimeout)
	l.srv.mu.Lock()
	defer l.srv.mu.Unlock()
	if l.srv.closed { // Close has its list: it ends this session itself
		return
	}
	l.srv.wg.Add(1) // before Close's Wait: closed is set under the same lock first
	go l.wait()
}

// wait ends the session when its peer connection ended, or returns when
// the session stopped otherwise.
func (l *link) wait() {
	defer l.srv.wg.Done()
	select {
	case why := <-l.ending:
		l.end(why)
	case <-l.done:
	}
}

// stop stops the handshake timer and the link's goroutine (the session is
// ending).
func (l *link) stop() {
	l.mu.Lock()
	if !l.stopped {
		close(l.done)
	}
	l.stopped = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
}

// tell hands why the peer connection ended to the link's goroutine (the
// first reason wins).
func (l *link) tell(why string) {
	select {
	case l.ending <- why:
	default:
	}
}

func (l *link) isConnected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connected
}

// handshakeTimeout ends a session that has not connected in time.
func (l *link) handshakeTimeout() {
	if l.isConnected() {
		return
	}
	l.srv.counts.Abandoned.Add(1)
	l.end(fmt.Sprintf("abandoned: ICE and DTLS did not connect within %s", l.srv.HandshakeTimeout))
}

// onState: connected is noted (the timer then ends nothing); failed (ICE
// lost the peer) ends the session, counted as failed when it had
// connected and abandoned when it never did.
func (l *link) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		l.mu.Lock()
		l.connected = true
		l.mu.Unlock()
		l.log.Info(l.what + " connected")
	case webrtc.PeerConnectionStateFailed:
		if l.isConnected() {
			l.srv.counts.Failed.Add(1)
		} else {
			l.srv.counts.Abandoned.Add(1)
		}
		l.tell("ICE failed: " + l.peer + " is gone")
	case webrtc.PeerConnectionStateClosed:
		l.tell("peer connection closed")
	}
}

// counted counts a WHIP or WHEP answer: a session, or a refusal.
func (s *Server) counted(a *Answer, err error) (*Answer, error) {
	if err != nil {
		if isRefusal(err) {
			s.counts.Refused.Add(1)
		}
		return nil, err
	}
	s.counts.Sessions.Add(1)
	return a, nil
}
