// Package fault is Switchyard's one error vocabulary: what went wrong with a
// request, in words a caller branches on, whichever package refused it.
//
// A refused value is an *Invalid that names the field at fault; a cap on the
// show's contents is a *TooMany that names the cap; everything else is an
// error of a kind — NotFound, Conflict, Forbidden, Unavailable, NoSpace —
// made with New or Errorf and told apart with errors.Is. Packages keep their
// own sentinels (ingest.ErrUnknownSource, record.ErrActive) so callers can
// branch on them precisely; those sentinels are made here, so they are also
// of their kind. The API maps the vocabulary to HTTP in one place
// (control/errors.go).
package fault

import (
	"errors"
	"fmt"
)

// The kinds of error. Each is matched with errors.Is; their own messages are
// never shown (an error of a kind says its own).
var (
	// NotFound: the thing named does not exist (HTTP 404).
	NotFound = errors.New("not found")
	// Conflict: the request contradicts the show as it is (HTTP 409).
	Conflict = errors.New("conflict")
	// Forbidden: the caller may not do this (HTTP 403).
	Forbidden = errors.New("forbidden")
	// Unavailable: not possible now, perhaps later (HTTP 503).
	Unavailable = errors.New("unavailable")
	// NoSpace: the disk is too full to do it (HTTP 507).
	NoSpace = errors.New("no space")
)

// Error is an error of a kind with its own message.
type Error struct {
	Kind error  // NotFound, Conflict, Forbidden, Unavailable or NoSpace
	Msg  string // what is said
}

// New returns an error of kind that says msg.
func New(kind error, msg string) *Error { return &Error{Kind: kind, Msg: msg} }

// Errorf returns an error of kind that says the formatted message.
func Errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Msg }

// Is makes an Error match its kind (and itself: a sentinel stays one).
func (e *Error) Is(target error) bool { return target == e.Kind }

// Invalid is a refused value: Field names it as the request or the show file
// spells it ("url", "border.width"; empty when no one field is at fault).
type Invalid struct {
	Field string
	Msg   string
	Err   error // the cause, when there is one
}

// Invalidf returns an Invalid for field with the formatted message.
func Invalidf(field, format string, args ...any) *Invalid {
	return &Invalid{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (e *Invalid) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Invalid) Unwrap() error { return e.Err }

// TooMany refuses something past a cap on the show's contents; Limit names
// the cap ("sources", "generators", "keyers") for the refusal counters. It is
// also a Conflict.
type TooMany struct {
	Limit string
	Msg   string
}

func (e *TooMany) Error() string { return e.Msg }

// Is makes a TooMany a Conflict.
func (e *TooMany) Is(target error) bool { return target == Conflict }
