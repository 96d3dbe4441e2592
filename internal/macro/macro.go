// Package macro is a macro's shape and its one check: a named list of API
// calls (steps) under /api/v1, each after an optional wait. The API
// (POST /api/v1/macros), show.json and the show file's `macros:` all hold
// Macro values and all check them with Check; which routes a step may call
// is the API's to say (control.CheckMacro hands in its route table), so this
// package imports nothing of the rest.
package macro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"

	"switchyard/internal/fault"
)

// Bounds of a macro.
const (
	// MaxSteps is the most steps a macro has.
	MaxSteps = 100
	// MaxWaitMS is the longest wait before a step, in milliseconds.
	MaxWaitMS = 60_000
	// MaxBodyBytes bounds a step's body: the API's own bound on a request body.
	MaxBodyBytes = 64 << 10
	// MaxMacros is the most macros a show holds.
	MaxMacros = 256
	// Prefix is where every step's path starts.
	Prefix = "/api/v1/"
)

// Step is one API call of a macro: Method and Path (under /api/v1, with
// the names filled in: "/api/v1/keyers/k1/on"), a JSON Body when the call
// takes one, and how long to wait before it (WaitMS).
type Step struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
	WaitMS int             `json:"wait_ms,omitempty"`
}

// Macro is a named list of steps, run in order; a failing step ends the run.
type Macro struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// namePattern is the names of everything in a show.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// segment is what a path segment of a step may hold: the show's names,
// keyer ids, recording sessions and files.
var segment = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Route says whether a step may call method on path (a clean path under
// /api/v1 with its names filled in); its error says why not.
type Route func(method, path string) error

// Check validates m: its name, its bounds, each step's method, path and body,
// and (with route) that each step calls a route the API has and a macro may
// use. A refusal is a *fault.Invalid naming the field ("steps[2].path").
func (m Macro) Check(route Route) error {
	if !namePattern.MatchString(m.Name) {
		return fault.Invalidf("name", "macro name %q must match [a-z0-9][a-z0-9_-]{0,31}", m.Name)
	}
	switch {
	case len(m.Steps) == 0:
		return fault.Invalidf("steps", "macro %q has no steps: give it at least one API call", m.Name)
	case len(m.Steps) > MaxSteps:
		return fault.Invalidf("steps", "macro %q has %d steps; a macro has at most %d", m.Name, len(m.Steps), MaxSteps)
	}
	for i, s := range m.Steps {
		if err := s.check(route); err != nil {
			err.Field = fmt.Sprintf("steps[%d].%s", i, err.Field)
			err.Msg = fmt.Sprintf("step %d (%s %s): %s", i+1, s.Method, s.Path, err.Msg)
			return err
		}
	}
	return nil
}

func (s Step) check(route Route) *fault.Invalid {
	switch s.Method {
	case "POST", "PUT", "PATCH", "DELETE":
	default:
		return fault.Invalidf("method", "method %q is not a step's: a step changes the show with POST, PUT, PATCH or DELETE (in capitals)", s.Method)
	}
	if err := checkPath(s.Path); err != nil {
		return err
	}
	if s.WaitMS < 0 || s.WaitMS > MaxWaitMS {
		return fault.Invalidf("wait_ms", "wait_ms %d must be from 0 to %d", s.WaitMS, MaxWaitMS)
	}
	if len(s.Body) > MaxBodyBytes {
		return fault.Invalidf("body", "the body is %d bytes; a step's body is at most %d", len(s.Body), MaxBodyBytes)
	}
	if b := bytes.TrimSpace(s.Body); len(b) > 0 && !bytes.Equal(b, []byte("null")) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return fault.Invalidf("body", "the body must be a JSON object, as the route takes it")
		}
	}
	if route != nil {
		if err := route(s.Method, s.Path); err != nil {
			return fault.Invalidf("path", "%s", err.Error())
		}
	}
	return nil
}

// checkPath refuses a path that is not a clean one under /api/v1 made of
// names: no query, no escapes, no dot segments.
func checkPath(p string) *fault.Invalid {
	if !strings.HasPrefix(p, Prefix) {
		return fault.Invalidf("path", "path %q must start with %s (the API's route, e.g. /api/v1/cut)", p, Prefix)
	}
	if path.Clean(p) != p {
		return fault.Invalidf("path", "path %q must be clean: no //, . or .. segments, no trailing /", p)
	}
	for _, seg := range strings.Split(strings.TrimPrefix(p, Prefix), "/") {
		if !segment.MatchString(seg) || seg == "." || seg == ".." {
			return fault.Invalidf("path", "path %q: each segment is a route's word or a name (letters, digits, . _ -); no query, no escapes", p)
		}
	}
	return nil
}

// Segments splits a step's path below /api/v1 ("/api/v1/keyers/k1/on" →
// keyers, k1, on).
func Segments(p string) []string {
	return strings.Split(strings.TrimPrefix(p, Prefix), "/")
}
