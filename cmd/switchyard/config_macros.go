package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"switchyard/control"
	"switchyard/internal/fault"
	"switchyard/internal/macro"
)

// MacroConfig is a macro of the show file (macros:), the same as POST
// /api/v1/macros takes, checked by the same check (control.CheckMacro).
type MacroConfig struct {
	Name  string       `yaml:"name"`
	Steps []StepConfig `yaml:"steps"`
}

// StepConfig is one step of a macro: an API call under /api/v1, after
// wait_ms; body is the call's JSON body, written as YAML.
type StepConfig struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	Body   any    `yaml:"body"`
	WaitMS int    `yaml:"wait_ms"`
}

// macro returns the macro as the API keeps it (the body as JSON).
func (m MacroConfig) macro() (macro.Macro, error) {
	out := macro.Macro{Name: m.Name, Steps: make([]macro.Step, 0, len(m.Steps))}
	for i, s := range m.Steps {
		st := macro.Step{Method: s.Method, Path: s.Path, WaitMS: s.WaitMS}
		if s.Body != nil {
			b, err := json.Marshal(s.Body)
			if err != nil {
				return macro.Macro{}, fault.Invalidf(fmt.Sprintf("steps[%d].body", i), "the body must be a mapping with text keys, as the route's JSON takes it")
			}
			st.Body = b
		}
		out.Steps = append(out.Steps, st)
	}
	return out, nil
}

// macros returns the show file's macros as the API keeps them (Validate
// has checked them).
func (c *Config) macros() []macro.Macro {
	out := make([]macro.Macro, 0, len(c.Macros))
	for _, m := range c.Macros {
		if mc, err := m.macro(); err == nil {
			out = append(out, mc)
		}
	}
	return out
}

// validateMacros checks each macro as the API does, and that no name is
// listed twice.
func (c *Config) validateMacros() error {
	if len(c.Macros) > macro.MaxMacros {
		return &ConfigError{"macros", fmt.Sprintf("%d macros; a show holds at most %d", len(c.Macros), macro.MaxMacros)}
	}
	seen := map[string]bool{}
	for i, m := range c.Macros {
		key := fmt.Sprintf("macros[%d]", i)
		mc, err := m.macro()
		if err == nil {
			err = control.CheckMacro(mc)
		}
		if err != nil {
			var fe *fault.Invalid
			if errors.As(err, &fe) {
				return &ConfigError{key + "." + fe.Field, fe.Msg}
			}
			return &ConfigError{key, err.Error()}
		}
		if seen[m.Name] {
			return &ConfigError{key + ".name", fmt.Sprintf("macro %q is listed twice", m.Name)}
		}
		seen[m.Name] = true
	}
	return nil
}
