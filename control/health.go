package control

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/ingest"
)

// Health for an orchestrator (systemd, Kubernetes, a load balancer):
//
//   - GET /healthz: alive — the process answers HTTP. 200 always.
//   - GET /readyz: ready to take a show's traffic — every listener is bound
//     (the HTTP listener is the last one the app opens, so answering at all
//     says the media ports are bound), the program clock runs (a program
//     frame left the encoders within ProgramStallAfter), and the show is not
//     draining. 503 with the reason otherwise.
//
// Both are public (no token) and cheap: no lock but the mixer's counters',
// no allocation past the answer. They are counted in /metrics like every
// route, but not logged per request (a probe every few seconds is noise).
//
// Drain (SIGTERM) turns /readyz to 503 at once and refuses every change
// asked of the API with 503 "draining: the show is shutting down".

// ProgramStallAfter is how long the program may go without a frame before
// /readyz reports its clock stalled: many frames at any rate, and more than
// a busy machine's late frame.
const ProgramStallAfter = 2 * time.Second

// Readiness is the /readyz body: ready, or the reason not.
type Readiness struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// Drain puts the server in the drain before a shutdown: /readyz answers 503
// from now on and every change asked of the API is refused with 503. It
// cannot be undone; reading (state, events, metrics, downloads) goes on.
func (s *Server) Drain() {
	if s.draining.CompareAndSwap(false, true) {
		s.Log.Info("draining: readiness off, API changes refused")
	}
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// readiness says whether the show is ready, and why not.
func (s *Server) readiness() Readiness {
	if s.draining.Load() {
		return Readiness{Reason: ingest.ErrDraining.Error()}
	}
	last := s.Mixer.Stats().LastFrameAt
	switch {
	case last.IsZero():
		return Readiness{Reason: "program clock not started: no program frame yet"}
	case time.Since(last) > ProgramStallAfter:
		return Readiness{Reason: fmt.Sprintf("program clock stalled: no program frame for %s", time.Since(last).Round(time.Millisecond))}
	}
	return Readiness{Ready: true}
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, healthBody{OK: true}) }

func (s *Server) readyz(c *gin.Context) {
	r := s.readiness()
	status := http.StatusOK
	if !r.Ready {
		status = http.StatusServiceUnavailable
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, r)
}

// refuseWhileDraining refuses every change asked of the API while the show
// drains (503); reads go through.
func (s *Server) refuseWhileDraining(c *gin.Context) {
	if changes(c.Request.Method) && s.draining.Load() {
		fail(c, ingest.ErrDraining)
		return
	}
	c.Next()
}

// probeRoutes are answered without a log line per request.
var probeRoutes = map[string]bool{"/healthz": true, "/readyz": true}
