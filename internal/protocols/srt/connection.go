package srt

import "time"

// Connection is one connection of the SRT listener as the API lists it
// (GET /api/v1/srt/connections): who, what for, since when, and its link.
type Connection struct {
	// Remote is the caller's address (IP:port).
	Remote string `json:"remote"`
	// StreamID is the caller's stream id in its short form, its key (if
	// any) masked: "publish:cam1:****", "read:program".
	StreamID string `json:"stream_id"`
	// Direction is "publish" (a camera sending in) or "read" (a reader
	// taking a stream out).
	Direction string `json:"direction"`
	// Path is the stream published or read: "live/NAME" for a source,
	// "program" or "preview".
	Path string `json:"path"`
	// Since is when the connection was accepted.
	Since time.Time `json:"since"`
	// SRT is the connection's link now.
	SRT Stats `json:"srt"`
}
