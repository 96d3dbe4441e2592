package media

// Publisher is what a protocol's session publishes a source's units into
// (the ingest registry's publisher). It is declared in this leaf so that
// the protocol packages (internal/protocols/rtmp, rtsp, and those to come)
// share one contract and need not import ingest.
type Publisher interface {
	// SetTracks announces the tracks the units come on.
	SetTracks(tracks ...*Track)
	// WriteUnit publishes a unit; it never blocks.
	WriteUnit(u *Unit)
	// SetWarning names what the sender sends that is not taken.
	SetWarning(msg string)
	// Malformed counts a message that could not be read.
	Malformed()
	// OnKick sets what ends the session when the publisher is taken over
	// or its source removed.
	OnKick(f func())
	// Close ends the publish.
	Close()
}
