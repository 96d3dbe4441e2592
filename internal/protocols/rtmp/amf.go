package rtmp

import (
	"bytes"
	"errors"
	"io"

	amf0 "github.com/yutopp/go-amf0"
)

// AMF0 helpers (Action Message Format 0, the encoding of RTMP commands and
// data messages, spec 7.1).

// StatusOf returns the code and description of an onStatus command.
func StatusOf(args []any) (code, desc string) {
	for _, a := range args {
		if m, ok := a.(map[string]any); ok {
			code, _ = m["code"].(string)
			desc, _ = m["description"].(string)
			return
		}
	}
	return
}

// DecodeAMF0 decodes every AMF0 value of a command or data message body.
func DecodeAMF0(b []byte) ([]any, error) {
	dec := amf0.NewDecoder(bytes.NewReader(b))
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, v)
	}
}

// SetDataFrame builds the @setDataFrame data message that publishes metadata.
func SetDataFrame(meta map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := amf0.NewEncoder(&b)
	for _, x := range []any{"@setDataFrame", "onMetaData", amf0.ECMAArray(meta)} {
		if err := enc.Encode(x); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}
