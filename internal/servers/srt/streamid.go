package srt

import (
	"errors"
	"fmt"
	"strings"
)

// Mode is what a connection asks to do.
type Mode string

// Modes of a stream id.
const (
	ModePublish Mode = "publish"
	ModeRead    Mode = "read"
)

// StreamID is what a caller's stream id asks for.
type StreamID struct {
	Mode Mode
	// Name is a source (publish), or program, preview or a source (read).
	Name string
	// Key is the publish key or the read key given, "" when none.
	Key string
}

// ErrBadStreamID refuses a stream id in none of the forms taken.
var ErrBadStreamID = errors.New("stream id not understood: use publish:NAME, publish:NAME:KEY, read:NAME, read:NAME:KEY or #!::r=NAME,m=publish,s=KEY")

// MaxStreamIDLen is the longest stream id SRT carries (the SRT handshake's
// extension holds 512 bytes).
const MaxStreamIDLen = 512

// ParseStreamID reads a stream id in the forms MediaMTX takes —
// "publish:NAME", "publish:NAME:KEY", "read:NAME", "read:NAME:KEY" (the key
// is everything after the second colon) — or SRT's access-control form
// "#!::r=NAME,m=publish,s=KEY" (m is request, the default, or publish;
// other keys such as u are ignored). Spec of the latter:
// https://github.com/Haivision/srt/blob/master/docs/features/access-control.md
func ParseStreamID(s string) (StreamID, error) {
	if len(s) > MaxStreamIDLen {
		return StreamID{}, fmt.Errorf("%w (it is %d bytes long)", ErrBadStreamID, len(s))
	}
	if rest, ok := strings.CutPrefix(s, "#!::"); ok {
		return parseAccessControl(rest)
	}
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 {
		return StreamID{}, ErrBadStreamID
	}
	id := StreamID{Name: parts[1]}
	switch parts[0] {
	case "publish":
		id.Mode = ModePublish
	case "read":
		id.Mode = ModeRead
	default:
		return StreamID{}, fmt.Errorf("%w (%q is not publish or read)", ErrBadStreamID, parts[0])
	}
	if len(parts) == 3 {
		id.Key = parts[2]
	}
	return id, id.check()
}

func parseAccessControl(s string) (StreamID, error) {
	id := StreamID{Mode: ModeRead}
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return StreamID{}, fmt.Errorf("%w (%q is not key=value)", ErrBadStreamID, k)
		}
		if seen[k] {
			return StreamID{}, fmt.Errorf("%w (%s given twice)", ErrBadStreamID, k)
		}
		seen[k] = true
		switch k {
		case "r":
			id.Name = v
		case "s":
			id.Key = v
		case "m":
			switch v {
			case "publish":
				id.Mode = ModePublish
			case "request":
				id.Mode = ModeRead
			default:
				return StreamID{}, fmt.Errorf("%w (m=%q: use m=publish or m=request)", ErrBadStreamID, v)
			}
		}
	}
	return id, id.check()
}

func (id StreamID) check() error {
	if id.Name == "" {
		return fmt.Errorf("%w (no name)", ErrBadStreamID)
	}
	for _, c := range id.Name {
		if c < 0x21 || c > 0x7e || c == '/' || c == ':' {
			return fmt.Errorf("%w (the name has a character a source name cannot have)", ErrBadStreamID)
		}
	}
	return nil
}

// Redacted is the stream id for logs: the key, if any, masked.
func (id StreamID) Redacted() string {
	s := string(id.Mode) + ":" + id.Name
	if id.Key != "" {
		s += ":****"
	}
	return s
}

// redactRaw masks what may be a key in a stream id that could not be
// parsed: everything after the second colon, or s= of the access-control
// form; it is cut to 64 bytes and quoted by the caller.
func redactRaw(s string) string {
	if rest, ok := strings.CutPrefix(s, "#!::"); ok {
		kvs := strings.Split(rest, ",")
		for i, kv := range kvs {
			if k, _, ok := strings.Cut(kv, "="); ok && k == "s" {
				kvs[i] = "s=****"
			}
		}
		s = "#!::" + strings.Join(kvs, ",")
	} else if p := strings.SplitN(s, ":", 3); len(p) == 3 {
		s = p[0] + ":" + p[1] + ":****"
	}
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return s
}
