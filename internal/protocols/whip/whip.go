// Package whip holds what WHIP (RFC 9725) and WHEP signalling passes
// between the HTTP routes (control) and the WebRTC server
// (internal/servers/webrtc), with no WebRTC stack or cgo behind it, so
// control links neither.
package whip

import "sync/atomic"

// MaxOfferBytes bounds an SDP offer.
const MaxOfferBytes = 64 << 10

// ICEServer is a STUN or TURN server handed to clients (the answer's Link
// headers) and used by the server's own ICE agent.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Answer is what an offer gets back.
type Answer struct {
	// ID names the session: its resource is /whip/{source}/{ID} (or /whep/…).
	ID string
	// SDP is the answer, with every candidate of the server (no trickle).
	SDP string
	// ICEServers are the STUN/TURN servers the client may use.
	ICEServers []ICEServer
}

// Counts are a WebRTC server's counters since it started.
type Counts struct {
	// Sessions were answered; Refused were not (bad SDP, key, busy).
	Sessions, Refused atomic.Uint64
	// Abandoned sessions never connected within the handshake timeout;
	// Failed ones lost their peer (ICE failed) after connecting.
	Abandoned, Failed atomic.Uint64
}
