package main

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// The show file's keys: the strict walk of the YAML (an unknown key or a
// value of the wrong kind named with its full path) and the SWITCHYARD_*
// environment over the decoded config.

// checkKeys walks a YAML node against the type it decodes into and reports
// the first key the type does not have, or the first value it cannot take,
// with the key's full path.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	custom := reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil // an empty value leaves the default
	case custom:
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return &ConfigError{Key: orRoot(path), Msg: fmt.Sprintf("must be a mapping of keys (line %d)", n.Line)}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			f, ok := fieldByTag(t, k)
			key := joinKey(path, k)
			if !ok {
				return &ConfigError{Key: key, Msg: fmt.Sprintf("unknown key (line %d)", n.Content[i].Line)}
			}
			if err := checkKeys(n.Content[i+1], f.Type, key); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return &ConfigError{Key: orRoot(path), Msg: fmt.Sprintf("must be a list (line %d)", n.Line)}
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	// a value: decoding it alone tells whether the key's type takes it
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		var te *yaml.TypeError
		msg := err.Error()
		if errors.As(err, &te) {
			msg = fmt.Sprintf("%q is not %s (line %d)", n.Value, describeKind(t), n.Line)
		}
		return &ConfigError{Key: orRoot(path), Msg: msg}
	}
	return nil
}

// describeKind says in words what a key of type t takes.
func describeKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Map:
		return "a mapping"
	}
	return "a " + t.String()
}

func orRoot(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// applyEnv sets scalar keys from SWITCHYARD_* variables: SWITCHYARD_HTTP_LISTEN
// sets http.listen, SWITCHYARD_PROGRAM_VIDEO_BITRATE sets program.video_bitrate.
// A list of words takes "a,b" or "[a, b]"; a list of entries (sources,
// http.tokens) is set in the config file only.
func (c *Config) applyEnv(environ []string) error {
	fields := map[string]reflect.Value{}
	collectScalars(reflect.ValueOf(c).Elem(), "SWITCHYARD", fields)
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "SWITCHYARD_") {
			continue
		}
		f, ok := fields[k]
		if !ok {
			return &ConfigError{Key: k, Msg: "unknown environment variable (keys: " + strings.Join(sortedKeys(fields), ", ") + ")"}
		}
		if f.Kind() == reflect.Slice && f.Type().Elem().Kind() != reflect.String {
			msg := "a list of entries: set it in the config file (the environment sets single values and lists of words)"
			if k == "SWITCHYARD_HTTP_TOKENS" {
				msg += "; SWITCHYARD_HTTP_TOKEN sets one admin token"
			}
			return &ConfigError{Key: k, Msg: msg}
		}
		if f.Kind() == reflect.Bool { // 1/0, true/false, yes/no, on/off
			b, ok := parseBool(v)
			if !ok {
				return &ConfigError{Key: k, Msg: fmt.Sprintf("%q is not true or false (1/0, yes/no, on/off)", v)}
			}
			f.SetBool(b)
			continue
		}
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(v), &node); err != nil || len(node.Content) == 0 {
			// an empty value is the empty string (rtsp.udp_rtp= turns UDP off), not null
			node = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		} else {
			node = *node.Content[0]
		}
		if f.Kind() == reflect.Slice && node.Kind == yaml.ScalarNode { // "a, b": a list of words
			words := node
			node = yaml.Node{Kind: yaml.SequenceNode}
			for _, w := range strings.Split(words.Value, ",") {
				if w = strings.TrimSpace(w); w != "" {
					node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: w})
				}
			}
		}
		if err := checkKeys(&node, f.Type(), k); err != nil {
			return err
		}
		if err := node.Decode(f.Addr().Interface()); err != nil {
			return &ConfigError{Key: k, Msg: err.Error()}
		}
	}
	return nil
}

// parseBool reads the ways a switch is written in an environment variable.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on", "y", "t":
		return true, true
	case "0", "false", "no", "off", "n", "f":
		return false, true
	}
	return false, false
}

func collectScalars(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		key := prefix + "_" + strings.ToUpper(name)
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			collectScalars(fv, key, out)
		case reflect.Map:
		default: // scalars and lists (applyEnv takes lists of words only)
			out[key] = fv
		}
	}
}

func sortedKeys(m map[string]reflect.Value) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		if v.Kind() != reflect.Slice || v.Type().Elem().Kind() == reflect.String {
			out = append(out, k)
		}
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
