package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// hostileNumbers are what a client may send for a number: past int64 both
// ways, and past every float both ways (JSON has no NaN or infinity).
var hostileNumbers = []string{"9223372036854775807", "-9223372036854775808", "9223372036854775808", "1e308", "-1e308"}

// The numeric fields added since TestHostileNumbersRefused was written —
// a clip player's position_s, a replay's speed and range, a macro step's
// wait_ms, a tally destination's screen, brightness and port, a source's
// tally_index — each refused with a 400 naming the field, and the program
// still composing after each.
func TestHostileNumbersRefusedNewer(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"})
	cfg.Replay.Enabled = true
	makeCounterClip(t, filepath.Join(cfg.DataDir, "clips", "count.mp4"), 30)
	a, _ := startApp(t, cfg)
	waitPicture(t, a, "cam1")
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"vt","url":"file:count.mp4"}`, nil)
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer sink.Close()
	mustAPI(t, "POST", a.apiURL("/tally/destinations"), fmt.Sprintf(`{"name":"desk","protocol":"tsl5","address":%q}`, sink.LocalAddr()), nil)

	cases := []struct {
		method, path, body, field string
	}{
		{"POST", "/sources/vt/player", `{"action":"seek","position_s":%s}`, "position_s"},
		{"POST", "/replay", `{"source":"cam1","from_s":-2,"to_s":-1,"speed":%s}`, "speed"},
		{"POST", "/replay", `{"source":"cam1","from_s":%s}`, "from_s"},
		{"POST", "/replay", `{"source":"cam1","from_s":-2,"to_s":%s}`, "to_s"},
		{"POST", "/macros", `{"name":"m1","steps":[{"method":"POST","path":"/api/v1/cut","wait_ms":%s}]}`, "steps[0].wait_ms"},
		{"POST", "/tally/destinations", `{"name":"d2","protocol":"tsl5","address":"127.0.0.1:9","screen":%s}`, "screen"},
		{"POST", "/tally/destinations", `{"name":"d2","protocol":"tsl5","address":"127.0.0.1:9","brightness":%s}`, "brightness"},
		{"POST", "/tally/destinations", `{"name":"d2","protocol":"tsl5","address":"127.0.0.1:%s"}`, "address"},
		{"PATCH", "/tally/destinations/desk", `{"screen":%s}`, "screen"},
		{"PATCH", "/tally/destinations/desk", `{"brightness":%s}`, "brightness"},
		{"PATCH", "/sources/cam1", `{"tally_index":%s}`, "tally_index"},
	}
	for _, c := range cases {
		for _, v := range hostileNumbers {
			body := strings.ReplaceAll(c.body, "%s", v)
			frames := a.mixer.Stats().FramesOut
			var e struct{ Error, Field string }
			var raw json.RawMessage
			code := api(t, c.method, a.apiURL(c.path), body, &raw)
			_ = json.Unmarshal(raw, &e)
			require.Equal(t, http.StatusBadRequest, code, "%s %s %s: %s", c.method, c.path, body, raw)
			require.NotEmpty(t, e.Error, "the refusal says why")
			// a number past the type is named by the decoder without its index
			named := e.Field == c.field || strings.HasPrefix(e.Field, c.field+".") || e.Field == strings.ReplaceAll(c.field, "[0]", "")
			require.True(t, named, "%s: the refusal names the field %s: %s", body, c.field, raw)
			waitFor(t, 5*time.Second, "the program still running", func() bool { return a.mixer.Stats().FramesOut > frames })
		}
	}
	var st ingest.Status
	mustAPI(t, "GET", a.apiURL("/sources/vt"), "", &st)
	require.NotNil(t, st.Player, "the clip source still has its player")
}

// The show file's numbers of the newer parts — SRT, HLS, replay, clips,
// tally destinations, macros — past int64 both ways, past every float
// both ways and NaN (YAML has it): each a config error naming its key.
func TestConfigNumbersRefused(t *testing.T) {
	cases := []struct{ yaml, key, ok string }{
		{"srt: { latency: %s }", "srt.latency", "200ms"},
		{"srt: { max_connections: %s }", "srt.max_connections", "10"},
		{"hls: { segment_duration: %s }", "hls.segment_duration", "2s"},
		{"hls: { part_duration: %s }", "hls.part_duration", "200ms"},
		{"hls: { segment_count: %s }", "hls.segment_count", "10"},
		{"hls: { renditions: [{ video_bitrate: %s, height: 180 }] }", "hls.renditions[0].video_bitrate", "300k"},
		{"hls: { renditions: [{ video_bitrate: 300k, height: %s }] }", "hls.renditions[0].height", "180"},
		{"replay: { enabled: true, buffer: %s }", "replay.buffer", "30s"},
		{"replay: { enabled: true, max_bytes: %s }", "replay.max_bytes", "1000000"},
		{"replay: { enabled: true, disk_max_bytes: %s }", "replay.disk_max_bytes", "1000000"},
		{"clips: { max_upload_mb: %s }", "clips.max_upload_mb", "100"},
		{"tally: [{ protocol: tsl5, address: '127.0.0.1:9', screen: %s }]", "tally[0].screen", "2"},
		{"tally: [{ protocol: tsl5, address: '127.0.0.1:9', brightness: %s }]", "tally[0].brightness", "2"},
		{"macros: [{ name: m, steps: [{ method: POST, path: /api/v1/cut, wait_ms: %s }] }]", "macros[0].steps[0].wait_ms", "100"},
		{"sources: [{ name: cam1, tally_index: %s }]", "sources[0].tally_index", "3"},
	}
	for _, c := range cases {
		_, err := LoadConfig(writeShow(t, strings.ReplaceAll(c.yaml, "%s", c.ok)), nil)
		require.NoError(t, err, "%s with %s: a sane value loads", c.key, c.ok)
		for _, v := range append(slices.Clone(hostileNumbers), ".nan", ".inf", "-.inf") {
			yaml := strings.ReplaceAll(c.yaml, "%s", v)
			_, err := LoadConfig(writeShow(t, yaml), nil)
			require.Error(t, err, "%s", yaml)
			require.True(t, strings.HasPrefix(err.Error(), c.key), "%s: the error names %s: %v", yaml, c.key, err)
		}
	}
}
