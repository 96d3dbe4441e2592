package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/internal/fault"
	"switchyard/internal/macro"
)

// Macros: named lists of API calls, run one step after the other through
// the same handler chain as an HTTP request (guard, authorize with the role
// of whoever started the run, body type, the route's handler), so a macro
// can do nothing its runner could not do by hand. A run is reported on the
// event stream as "macro" events: its progress (step i of n) and its end
// (done, or failed: which step, and the API's answer).

// CheckMacro is the one check of a macro, whichever door it comes through
// (the API, show.json, the show file): its shape and bounds, and that each
// step calls a route of this API that a macro may call.
func CheckMacro(m macro.Macro) error { return m.Check(stepRoute) }

// stepRoute says whether a step may call method on p: a route of the API
// (the operations table, which the OpenAPI description is made from) that
// changes the show, takes JSON, and is not a macro's own, the session's or
// the event stream.
func stepRoute(method, p string) error {
	segs := macro.Segments(p)
	switch segs[0] {
	case "macros":
		return fmt.Errorf("a macro may not call /api/v1/macros: a macro does not run, change or remove macros")
	case "session", "events":
		return fmt.Errorf("a macro may not call /api/v1/%s", segs[0])
	}
	var methods []string
	for _, op := range operations {
		if !strings.HasPrefix(op.path, macro.Prefix) || !templateMatches(macro.Segments(op.path), segs) {
			continue
		}
		if op.method == method {
			if op.bodyBinary != nil {
				return fmt.Errorf("%s %s takes %s, not JSON: a macro cannot send it", op.method, op.path, strings.Join(op.bodyBinary, " or "))
			}
			return nil
		}
		methods = append(methods, op.method)
	}
	if methods != nil {
		return fmt.Errorf("the API's %s takes %s, not %s", p, strings.Join(methods, ", "), method)
	}
	return fmt.Errorf("the API has no route %s (see GET /api/v1/openapi.json)", p)
}

// templateMatches reports whether a path's segments fit a route's ({name}
// fits any one segment).
func templateMatches(tmpl, segs []string) bool {
	if len(tmpl) != len(segs) {
		return false
	}
	for i, t := range tmpl {
		if t != segs[i] && !(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}")) {
			return false
		}
	}
	return true
}

// MacroStatus is a macro as GET /api/v1/macros lists it.
type MacroStatus struct {
	macro.Macro
	// Running is true while a run of it is under way.
	Running bool `json:"running"`
}

// MacroRun is a run's "macro" event and POST …/run's answer.
type MacroRun struct {
	Run  uint64 `json:"run"`
	Name string `json:"name"`
	// State is running, done or failed.
	State string `json:"state"`
	// Step is the step under way (running) or at fault (failed), from 1;
	// Steps how many the macro has.
	Step  int `json:"step"`
	Steps int `json:"steps"`
	// Method and Path of the step; Status and Error the API's answer to a
	// step that failed.
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// By is the token whose role each step ran with.
	By string `json:"by,omitempty"`
}

// Run states.
const (
	RunRunning = "running"
	RunDone    = "done"
	RunFailed  = "failed"
)

// macroSet holds the show's macros (in the order they were added) and
// which of them are running; its runs are the server's goroutines, waited
// for by Close.
type macroSet struct {
	mu      sync.Mutex
	list    []macro.Macro
	running map[string]bool
	lastRun uint64
	wg      sync.WaitGroup
}

func (m *macroSet) statuses() []MacroStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MacroStatus, 0, len(m.list))
	for _, mc := range m.list {
		out = append(out, MacroStatus{Macro: mc, Running: m.running[mc.Name]})
	}
	return out
}

// macrosList returns the show's macros, for show.json ([] when none: a choice too).
func (s *Server) macrosList() []macro.Macro {
	s.macros.mu.Lock()
	defer s.macros.mu.Unlock()
	return append([]macro.Macro{}, s.macros.list...)
}

// loadMacros takes the macros the show starts with; one that fails the
// check (show.json from an older Switchyard, whose route has gone) is left
// out with a warning.
func (s *Server) loadMacros() {
	s.macros = &macroSet{running: map[string]bool{}}
	for _, mc := range s.Macros {
		if err := CheckMacro(mc); err != nil {
			s.Log.Warn("macro not loaded; the next change of the show drops it from show.json: fix it and save it again",
				"macro", mc.Name, "err", err)
			continue
		}
		if i := s.macroIndex(mc.Name); i >= 0 {
			s.macros.list[i] = mc
			continue
		}
		s.macros.list = append(s.macros.list, mc)
	}
}

func (s *Server) macroIndex(name string) int {
	return slices.IndexFunc(s.macros.list, func(m macro.Macro) bool { return m.Name == name })
}

func (s *Server) macroRoutes(api *gin.RouterGroup) {
	api.GET("/macros", s.listMacros)
	api.POST("/macros", s.putMacro)
	api.DELETE("/macros/:name", s.deleteMacro)
	api.POST("/macros/:name/run", s.runMacro)
}

func (s *Server) listMacros(c *gin.Context) { c.JSON(http.StatusOK, s.macros.statuses()) }

func (s *Server) putMacro(c *gin.Context) {
	var mc macro.Macro
	if err := bind(c, &mc); err != nil {
		fail(c, err)
		return
	}
	if err := CheckMacro(mc); err != nil {
		fail(c, err)
		return
	}
	s.macros.mu.Lock()
	status := http.StatusOK
	if i := s.macroIndex(mc.Name); i >= 0 {
		s.macros.list[i] = mc
	} else if len(s.macros.list) >= macro.MaxMacros {
		s.macros.mu.Unlock()
		fail(c, &fault.TooMany{Limit: "macros", Msg: fmt.Sprintf("the show has %d macros, the most it holds; remove one first", macro.MaxMacros)})
		return
	} else {
		s.macros.list = append(s.macros.list, mc)
		status = http.StatusCreated
	}
	running := s.macros.running[mc.Name]
	s.macros.mu.Unlock()
	s.saveShow()
	s.events.publish("macros", s.macros.statuses())
	c.JSON(status, MacroStatus{Macro: mc, Running: running})
}

func (s *Server) deleteMacro(c *gin.Context) {
	name := c.Param("name")
	s.macros.mu.Lock()
	i := s.macroIndex(name)
	if i < 0 {
		s.macros.mu.Unlock()
		fail(c, notFound("no macro named %q", name))
		return
	}
	s.macros.list = slices.Delete(s.macros.list, i, i+1)
	s.macros.mu.Unlock()
	s.saveShow()
	s.events.publish("macros", s.macros.statuses())
	c.Status(http.StatusNoContent)
}

// runMacro starts a run and answers 202 at once; the run goes on in the
// background with the caller's credential, and ends when a step fails, the
// last step is done, or the server closes.
func (s *Server) runMacro(c *gin.Context) {
	name := c.Param("name")
	caller, _ := c.Get(credKey)
	cred, _ := caller.(credential)
	s.macros.mu.Lock()
	i := s.macroIndex(name)
	if i < 0 {
		s.macros.mu.Unlock()
		fail(c, notFound("no macro named %q", name))
		return
	}
	if s.macros.running[name] {
		s.macros.mu.Unlock()
		fail(c, fault.Errorf(fault.Conflict, "macro %q is running; a macro runs once at a time: wait for its end (a \"macro\" event)", name))
		return
	}
	mc := s.macros.list[i]
	s.macros.running[name] = true
	s.macros.lastRun++
	run := MacroRun{Run: s.macros.lastRun, Name: name, State: RunRunning, Steps: len(mc.Steps), By: cred.name}
	s.macros.wg.Add(1)
	s.macros.mu.Unlock()
	go func() {
		defer s.macros.wg.Done()
		end := s.execute(mc, cred, run)
		s.macros.mu.Lock()
		delete(s.macros.running, name)
		s.macros.mu.Unlock()
		s.events.publish("macro", end)
	}()
	c.JSON(http.StatusAccepted, run)
}

// execute runs mc's steps in order, each after its wait, and returns the
// run's end; each step's start is published as progress.
func (s *Server) execute(mc macro.Macro, cred credential, run MacroRun) MacroRun {
	for i, st := range mc.Steps {
		run.Step, run.Method, run.Path = i+1, st.Method, st.Path
		if st.WaitMS > 0 {
			t := time.NewTimer(time.Duration(st.WaitMS) * time.Millisecond)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				run.State, run.Error = RunFailed, "the server is shutting down: the run stopped before this step"
				return run
			}
		}
		if s.ctx.Err() != nil {
			run.State, run.Error = RunFailed, "the server is shutting down: the run stopped before this step"
			return run
		}
		s.events.publish("macro", run)
		status, msg := s.step(mc.Name, cred, st)
		if status >= 300 {
			run.State, run.Status, run.Error = RunFailed, status, msg
			s.Log.Info("macro failed", "macro", mc.Name, "step", i+1, "method", st.Method, "path", st.Path, "status", status, "err", msg)
			return run
		}
	}
	run.State, run.Method, run.Path = RunDone, "", ""
	return run
}

// stepKey carries, in a step's request context, the macro's runner.
type stepKey struct{}

// stepCaller is who a step runs as: the credential of the run's starter.
type stepCaller struct {
	cred  credential
	macro string
}

// step sends one step through the server's handler chain and returns the
// status and, for an error, the API's sentence.
func (s *Server) step(name string, cred credential, st macro.Step) (int, string) {
	ctx := context.WithValue(s.ctx, stepKey{}, stepCaller{cred: cred, macro: name})
	req, err := http.NewRequestWithContext(ctx, st.Method, st.Path, bytes.NewReader(st.Body))
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	req.Host = "localhost" // a loopback server answers to it; one on another address checks no Host
	req.RemoteAddr = "macro:" + name
	req.Header.Set("Content-Type", "application/json")
	w := &stepWriter{header: http.Header{}}
	s.engine.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status < 300 {
		return w.status, ""
	}
	var e APIError
	if json.Unmarshal(w.body.Bytes(), &e) != nil || e.Msg == "" {
		e.Msg = http.StatusText(w.status)
	}
	return w.status, e.Msg
}

// stepWriter keeps a step's answer: its status and the start of its body.
type stepWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *stepWriter) Header() http.Header { return w.header }

func (w *stepWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *stepWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := 4096 - w.body.Len(); room > 0 {
		w.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// fromStep returns the caller of a macro's step, when c is one.
func fromStep(c *gin.Context) (stepCaller, bool) {
	sc, ok := c.Request.Context().Value(stepKey{}).(stepCaller)
	return sc, ok
}
