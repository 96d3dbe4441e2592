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

	mu        sync.Mutex
	connected bool
	stopped   bool
	timer     *time.Timer
}

// follow watches pc's state and starts the handshake timer.
func (l *link) follow(pc *webrtc.PeerConnection) {
	pc.OnConnectionStateChange(l.onState)
	l.mu.Lock()
	if !l.stopped {
		l.timer = time.AfterFunc(l.srv.HandshakeTimeout, l.handshakeTimeout)
	}
	l.mu.Unlock()
}

// stop stops the handshake timer (the session is ending).
func (l *link) stop() {
	l.mu.Lock()
	l.stopped = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
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
		go l.end("ICE failed: " + l.peer + " is gone")
	case webrtc.PeerConnectionStateClosed:
		go l.end("peer connection closed")
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
