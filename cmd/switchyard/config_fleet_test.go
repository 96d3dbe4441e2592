package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFleetKeys: log, show and shutdown_timeout from the show file and the
// environment, their defaults, and their refusals naming the key.
func TestFleetKeys(t *testing.T) {
	cfg, err := ParseConfig([]byte("log: { format: json, level: warn }\nshow: { name: stage-a }\nshutdown_timeout: 45s\n"))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.Equal(t, LogConfig{Format: "json", Level: "warn"}, cfg.Log)
	require.Equal(t, "stage-a", cfg.showName())
	require.Equal(t, 45*time.Second, timeDuration(cfg.ShutdownTimeout))

	def := defaults()
	require.NoError(t, def.Validate())
	require.Equal(t, LogConfig{Format: "text", Level: "info"}, def.Log)
	require.Equal(t, 20*time.Second, timeDuration(def.ShutdownTimeout))
	host, _ := os.Hostname()
	require.Equal(t, host, def.showName(), "the show is named after the host by default")

	require.NoError(t, def.applyEnv([]string{"SWITCHYARD_LOG_FORMAT=json", "SWITCHYARD_LOG_LEVEL=debug",
		"SWITCHYARD_SHOW_NAME=pod-7", "SWITCHYARD_SHUTDOWN_TIMEOUT=5s"}))
	require.NoError(t, def.Validate())
	require.Equal(t, LogConfig{Format: "json", Level: "debug"}, def.Log)
	require.Equal(t, "pod-7", def.showName())
	require.Equal(t, 5*time.Second, timeDuration(def.ShutdownTimeout))

	for _, c := range []struct{ yaml, key string }{
		{"log: { format: xml }", "log.format"},
		{"log: { level: loud }", "log.level"},
		{"show: { name: \"a b\" }", "show.name"},
		{"show: { name: \"-x\" }", "show.name"},
		{"shutdown_timeout: 100ms", "shutdown_timeout"},
		{"shutdown_timeout: 2h", "shutdown_timeout"},
	} {
		cfg, err := ParseConfig([]byte(c.yaml))
		if err == nil {
			err = cfg.Validate()
		}
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, c.yaml)
		require.Equal(t, c.key, ce.Key, c.yaml)
	}
}

// TestJSONLogsNameTheShow: log.format json writes one JSON object a line,
// each with the show's name; a -log-level given wins over log.level.
func TestJSONLogsNameTheShow(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, LogConfig{Format: "json", Level: "warn"}, "", "stage-a")
	require.NoError(t, err)
	log.Info("hidden")
	log.With("component", "mixer").Warn("shown", "n", 1)
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		lines = append(lines, m)
	}
	require.Len(t, lines, 1)
	require.Equal(t, "stage-a", lines[0]["show"])
	require.Equal(t, "shown", lines[0]["msg"])
	require.Equal(t, "mixer", lines[0]["component"])

	buf.Reset()
	log, err = newLogger(&buf, LogConfig{Format: "text", Level: "warn"}, "debug", "stage-b")
	require.NoError(t, err)
	log.Debug("seen")
	require.True(t, strings.Contains(buf.String(), "msg=seen") && strings.Contains(buf.String(), "show=stage-b"), buf.String())
	_, err = newLogger(&buf, LogConfig{Format: "text", Level: "info"}, "loud", "x")
	require.Error(t, err)
}
