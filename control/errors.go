package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"switchyard/ingest"
	"switchyard/mixer"
	"switchyard/output/push"
	"switchyard/output/record"
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

// fail writes err as a JSON error; it is the only place error bodies are written.
func fail(c *gin.Context, err error) {
	var ae *APIError
	var fe *ingest.FieldError
	var pe *push.FieldError
	var me *mixer.FieldError
	switch {
	case errors.As(err, &me):
		ae = &APIError{Status: http.StatusBadRequest, Msg: me.Msg, Field: me.Field}
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		ae = &APIError{Status: http.StatusBadRequest, Msg: fe.Msg, Field: fe.Field}
	case errors.As(err, &pe):
		ae = &APIError{Status: http.StatusBadRequest, Msg: pe.Msg, Field: pe.Field}
	case errors.Is(err, mixer.ErrUnknownSource), errors.Is(err, ingest.ErrUnknownSource), errors.Is(err, push.ErrNotFound),
		errors.Is(err, mixer.ErrUnknownKeyer):
		ae = &APIError{Status: http.StatusNotFound, Msg: err.Error()}
	case errors.Is(err, mixer.ErrNoPicture):
		ae = &APIError{Status: http.StatusServiceUnavailable, Msg: err.Error() + "; try again when it is live"}
	case errors.Is(err, record.ErrBadName):
		ae = &APIError{Status: http.StatusBadRequest, Msg: err.Error()}
	case errors.Is(err, record.ErrNotFound):
		ae = &APIError{Status: http.StatusNotFound, Msg: err.Error()}
	case errors.Is(err, record.ErrRecording), errors.Is(err, record.ErrNotRecording), errors.Is(err, record.ErrActive):
		ae = &APIError{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, record.ErrDiskFull):
		ae = &APIError{Status: http.StatusInsufficientStorage, Msg: err.Error()}
	case errors.Is(err, ingest.ErrExists), errors.Is(err, push.ErrExists), errors.Is(err, mixer.ErrKeyerExists),
		errors.Is(err, mixer.ErrTooManyKeyer):
		ae = &APIError{Status: http.StatusConflict, Msg: err.Error()}
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

// readBody reads a request body of at most limit bytes.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, &APIError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body is larger than %d bytes", limit)}
	case err != nil:
		return nil, badRequest("", "reading the request body: %v", err)
	}
	return b, nil
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
			return badRequest(typErr.Field, "field %q must be a %s", typErr.Field, typErr.Type)
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
