package ingest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// JitterMS is a source's jitter_buffer_ms: milliseconds, 0 for the
// program's, or JitterAuto ("auto" in YAML and JSON) for an adaptive buffer
// that follows the source's measured lateness (transit jitter plus decode
// time).
type JitterMS int

// JitterAuto is jitter_buffer_ms: auto.
const JitterAuto JitterMS = -1

// Duration is the setting as the mixer takes it: 0 (the program's), a
// duration, or -1 (mixer.AutoJitter) for auto.
func (j JitterMS) Duration() time.Duration {
	if j == JitterAuto {
		return -1
	}
	return time.Duration(j) * time.Millisecond
}

// String is "auto" or the milliseconds.
func (j JitterMS) String() string {
	if j == JitterAuto {
		return "auto"
	}
	return strconv.Itoa(int(j))
}

func (j *JitterMS) parse(s string) error {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		*j = JitterAuto
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("jitter_buffer_ms %q: use milliseconds from 0 (the program's) to %d, or auto", s, MaxJitterBufferMS)
	}
	*j = JitterMS(n)
	return nil
}

// UnmarshalYAML takes milliseconds or auto.
func (j *JitterMS) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("jitter_buffer_ms: use milliseconds or auto")
	}
	return j.parse(n.Value)
}

// MarshalYAML writes milliseconds or auto.
func (j JitterMS) MarshalYAML() (any, error) {
	if j == JitterAuto {
		return "auto", nil
	}
	return int(j), nil
}

// UnmarshalJSON takes a number of milliseconds or "auto"; anything else
// is a *json.UnmarshalTypeError (encoding/json adds the field's name).
func (j *JitterMS) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if !strings.EqualFold(strings.TrimSpace(s), "auto") {
			return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: reflect.TypeFor[JitterMS]()}
		}
		*j = JitterAuto
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil || n < 0 { // -1 is auto's own mark, not a way to say it
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[JitterMS]()}
	}
	*j = JitterMS(n)
	return nil
}

// MarshalJSON writes a number of milliseconds or "auto".
func (j JitterMS) MarshalJSON() ([]byte, error) {
	if j == JitterAuto {
		return []byte(`"auto"`), nil
	}
	return strconv.AppendInt(nil, int64(j), 10), nil
}
