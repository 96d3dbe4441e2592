package media

import "time"

// The longest jitter buffer, the program's or a source's: the one bound
// the mixer holds pictures and sound for, and the show file's
// jitter_buffer_ms and program.jitter_buffer and the API's source settings
// are checked against (mixer.MaxJitterBuffer, ingest.MaxJitterBufferMS).
// Here, in the leaf both import, so that ingest need not import the mixer.
const (
	MaxJitterBufferMS = 1000 // milliseconds, untyped: for settings in ms
	MaxJitterBuffer   = MaxJitterBufferMS * time.Millisecond
)
