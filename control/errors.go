package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/media"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// APIError is the JSON error body: {"error": "...", "field": "..."}.
type APIError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
}

func (e *APIError) Error() string { return e.Msg }

func badRequest(field, format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...), Field: field}
}

func notFound(format string, args ...any) *APIError {
	return &APIError{Status: http.StatusNotFound, Msg: fmt.Sprintf(format, args...)}
}

// fail writes err as a JSON error; it is the only place error bodies are
// written, and the one place the error vocabulary (internal/fault) becomes
// HTTP: a refused value 400 naming its field, not found 404, a conflict 409
// (a cap on the show's contents counted as a refusal), forbidden 403,
// unavailable 503, no space 507; anything else 500.
func fail(c *gin.Context, err error) {
	var ae *APIError
	var inv *fault.Invalid
	var many *fault.TooMany
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &inv):
		ae = &APIError{Status: http.StatusBadRequest, Msg: inv.Msg, Field: inv.Field}
	case errors.Is(err, fault.NotFound):
		ae = &APIError{Status: http.StatusNotFound, Msg: err.Error()}
	case errors.As(err, &many): // the show is full: 409, counted
		c.Set(limitKey, many.Limit)
		ae = &APIError{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, fault.Conflict):
		ae = &APIError{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, fault.Forbidden):
		ae = &APIError{Status: http.StatusForbidden, Msg: err.Error()}
	case errors.Is(err, fault.Unavailable):
		ae = &APIError{Status: http.StatusServiceUnavailable, Msg: err.Error()}
	case errors.Is(err, fault.NoSpace):
		ae = &APIError{Status: http.StatusInsufficientStorage, Msg: err.Error()}
	default:
		ae = &APIError{Status: http.StatusInternalServerError, Msg: err.Error()}
	}
	c.AbortWithStatusJSON(ae.Status, ae)
}

// bind decodes a JSON body strictly into v: size-limited, unknown fields refused.
func bind(c *gin.Context, v any) error {
	body, err := readBody(c, MaxBodyBytes)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

// oversizeDrain is how much of an oversized body is read past the limit, and
// oversizeDrainTime how long that may take, so the client has sent its whole
// request when the 413 answers it.
const (
	oversizeDrain     = 1 << 20
	oversizeDrainTime = 2 * time.Second
)

// readBody reads a request body of at most limit bytes.
//
// A body over the limit is answered 413 and the connection closed. Closing
// it while the client is still sending makes the kernel reset the connection,
// and a client that is still writing then sees "connection reset" instead of
// the 413 (the net/http server does not drain a body whose client said
// Connection: close). So the rest of a moderately oversized body is read and
// thrown away first (bounded in bytes and time), and the limit is reported to
// the net/http server itself (gin's writer hides it from MaxBytesReader) so it
// half-closes and lingers before closing a connection with a larger body.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(rawWriter(c.Writer), c.Request.Body, limit))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		rc := http.NewResponseController(c.Writer)
		_ = rc.SetReadDeadline(time.Now().Add(oversizeDrainTime))
		_, _ = io.CopyN(io.Discard, c.Request.Body, oversizeDrain)
		_ = rc.SetReadDeadline(time.Time{})
		return nil, &APIError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body is larger than %d bytes", limit)}
	case err != nil:
		return nil, badRequest("", "reading the request body: %v", err)
	}
	return b, nil
}

// rawWriter unwraps gin's (and any other) response writer down to the one the
// net/http server made.
func rawWriter(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// describeType says in words what a JSON field of type t takes.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[media.Bitrate]():
		return `a bitrate: bits per second (2500000) or with k or M ("2500k")`
	case t == reflect.TypeFor[ingest.JitterMS]():
		return `milliseconds (0: the program's) or "auto"`
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "a list"
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

// decodeStrict decodes one JSON object from body into v, refusing unknown
// fields; errors name the field at fault.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var synErr *json.SyntaxError
		var typErr *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return badRequest("", "request body is empty; send a JSON object")
		case errors.As(err, &synErr):
			return badRequest("", "request body is not valid JSON (at byte %d)", synErr.Offset)
		case errors.As(err, &typErr):
			f := jsonPath(typErr.Field)
			return badRequest(f, "field %q must be %s", f, describeType(typErr.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest(f, "unknown field %q", f)
		default:
			return badRequest("", "request body: %v", err)
		}
	}
	if dec.More() {
		return badRequest("", "request body must hold one JSON object")
	}
	return nil
}

// jsonPath is a field's path as the client wrote it: encoding/json names a
// field of an embedded struct with the struct's Go name first
// ("Patch.screen"), which no client sends; the API's JSON names are
// lower case, so a segment in upper case is such a Go name and is left out.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && p[0] >= 'A' && p[0] <= 'Z' {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}
