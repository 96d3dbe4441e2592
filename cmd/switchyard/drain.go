package main

import (
	"time"
)

// The drain on SIGTERM, for an orchestrator replacing a show: readiness
// goes off and new publishers and API changes are refused at once; the
// recording is stopped (its files and edit lists written) and the outputs
// end their streams cleanly (FCUnpublish, deleteStream) while the control
// server still answers /readyz with 503; then everything closes in order.

// shutdown drains the show and closes it; false when that took longer than
// timeout (the caller exits non-zero, leaving the rest unclosed).
func (a *app) shutdown(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.drain()
		a.Close()
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// drain does what must happen first, in this order: the refusals, then
// the recording's and the outputs' clean ends. Close does the rest (each
// part's Close is safe twice).
func (a *app) drain() {
	start := time.Now()
	if a.http != nil {
		a.http.Drain() // /readyz 503, API changes 503
	}
	a.registry.Drain() // new publishers refused on every protocol
	if a.recorder != nil {
		a.recorder.Close() // files end while their sources are still there; edit lists written
	}
	recorded := time.Now()
	if a.outputs != nil {
		a.outputs.Close() // each stream ended cleanly on its connection
	}
	a.log.Info("drained: recording closed, outputs ended", "ms", time.Since(start).Milliseconds(),
		"recording_ms", recorded.Sub(start).Milliseconds(), "outputs_ms", time.Since(recorded).Milliseconds())
}
