package media

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Bitrate is a rate in bits per second. Wherever one is taken — the show
// file, the environment, the API — it may be written as a number of bits
// per second (4500000) or with a k or M suffix ("4500k", "4.5M").
type Bitrate int

// ParseBitrate reads "4500k", "4.5M" or "4500000"; it refuses anything that
// is not a positive rate below 10 Gbit/s.
func ParseBitrate(s string) (Bitrate, error) {
	s = strings.TrimSpace(s)
	num, mul := s, 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mul, num = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mul, num = 1e6, s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*mul >= 1e10 {
		return 0, fmt.Errorf("bitrate %q: use bits per second, or a number with k or M, like 4500k", s)
	}
	return Bitrate(math.Round(f * mul)), nil
}

// UnmarshalText reads a bitrate from the show file or the environment.
func (b *Bitrate) UnmarshalText(text []byte) error {
	v, err := ParseBitrate(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// UnmarshalJSON reads a bitrate from the API: a number or a string. A bad
// value is a *json.UnmarshalTypeError, so the decoder names the field.
func (b *Bitrate) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	text, kind := data, "number"
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		text, kind = []byte(s), "string"
	}
	if err := b.UnmarshalText(text); err != nil {
		return &json.UnmarshalTypeError{Value: kind + " " + string(data), Type: reflect.TypeFor[Bitrate]()}
	}
	return nil
}

// String writes the rate as the API and the docs do: 4500000 → "4500k".
func (b Bitrate) String() string {
	switch {
	case b != 0 && b%1_000_000 == 0:
		return strconv.Itoa(int(b/1_000_000)) + "M"
	case b != 0 && b%1000 == 0:
		return strconv.Itoa(int(b/1000)) + "k"
	}
	return strconv.Itoa(int(b))
}
