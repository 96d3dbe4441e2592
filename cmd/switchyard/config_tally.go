package main

import (
	"errors"
	"fmt"

	"switchyard/internal/fault"
	"switchyard/output/tally"
)

// tallyConfigs returns the show file's tally destinations as the tally
// and show.json keep them: defaults filled in, and each one without a
// name named by its position (tally1, tally2…), so files written before
// destinations had names keep working.
func (c *Config) tallyConfigs() []tally.Config {
	out := make([]tally.Config, 0, len(c.Tally))
	for i, tc := range c.Tally {
		if tc.Name == "" {
			tc.Name = fmt.Sprintf("tally%d", i+1)
		}
		out = append(out, tc.WithDefaults())
	}
	return out
}

// validateTally checks each destination with the API's own check
// (tally.Config.Validate), that no name is listed twice, and the cap.
func (c *Config) validateTally() error {
	if len(c.Tally) > tally.MaxDestinations {
		return &ConfigError{"tally", fmt.Sprintf("%d tally destinations; a show sends to at most %d", len(c.Tally), tally.MaxDestinations)}
	}
	seen := map[string]bool{}
	for i, tc := range c.tallyConfigs() {
		key := fmt.Sprintf("tally[%d]", i)
		if err := tc.Validate(); err != nil {
			var fe *fault.Invalid
			if errors.As(err, &fe) {
				return &ConfigError{key + "." + fe.Field, fe.Msg}
			}
			return &ConfigError{key, err.Error()}
		}
		if seen[tc.Name] {
			return &ConfigError{key + ".name", fmt.Sprintf("tally destination %q is listed twice (one without a name is named tally and its position, from 1)", tc.Name)}
		}
		seen[tc.Name] = true
	}
	return nil
}
