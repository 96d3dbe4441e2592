package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/ingest/clip"
	"switchyard/media/av"
	"switchyard/mixer/bus"
	"switchyard/mixer/sting"
	"switchyard/output/tally"
)

// described are the defaults docs/config.md states in words, not as a
// value: derived at start from something else, so defaults() leaves them
// zero.
var described = map[string]string{
	"program.hw_device": "the first GPU",
	"show.name":         "the host name",
	"assets_dir":        "`data_dir/assets`",
}

// zeroMeans are the keys the show file leaves at zero for the part that
// takes them to fill in; the test checks the doc's value against what that
// part fills in (checkZeroMeans).
var zeroMeans = map[string]bool{
	"hls.segment_duration": true, "hls.part_duration": true, "hls.segment_count": true,
	"clips.max_upload_mb": true, "clips.stinger_max_mb": true, "program.encoder": true, "program.decode": true,
	"program.preset": true,
	"buses.program":  true, "buses.preview": true,
}

// checkZeroMeans: what the part that takes key makes of its zero value,
// against the doc's default v.
func checkZeroMeans(t *testing.T, cfg *Config, key, v string) {
	t.Helper()
	o := cfg.HLS.origin()
	o.Defaults()
	switch key {
	case "hls.segment_duration":
		require.Equal(t, v, o.SegmentDuration.String())
	case "hls.part_duration":
		require.Equal(t, v, o.PartDuration.String())
	case "hls.segment_count":
		require.Equal(t, v, strconv.Itoa(o.SegmentCount))
	case "clips.max_upload_mb":
		require.Equal(t, v, strconv.Itoa(clip.DefaultMaxUpload>>20))
	case "clips.stinger_max_mb":
		require.Equal(t, v, strconv.Itoa(sting.DefaultMaxBytes>>20))
	case "program.encoder", "program.decode":
		// "" is the software codec: the first of the names the key takes
		require.Contains(t, []string{"x264", "cpu"}, v)
	case "buses.program", "buses.preview":
		require.Equal(t, bus.Black, v)
	case "program.preset":
		require.Equal(t, av.DefaultX264Preset, v)
	}
}

var backticked = regexp.MustCompile("`([^`]*)`")

// configField is the field of cfg a key of the show file names
// ("srt.latency"), by the yaml tags.
func configField(cfg reflect.Value, key string) (reflect.Value, bool) {
	v := cfg
	for _, part := range strings.Split(key, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		found := false
		for i := 0; i < v.NumField(); i++ {
			if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); name == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, false
		}
	}
	return v, true
}

// yamlFor is a show file setting key to the value v as written in the doc.
func yamlFor(key, v string) string {
	if strings.HasPrefix(v, ":") || strings.HasPrefix(v, ".") {
		v = `"` + v + `"`
	}
	parts := strings.Split(key, ".")
	out := parts[len(parts)-1] + ": " + v
	for i := len(parts) - 2; i >= 0; i-- {
		out = parts[i] + ": { " + out + " }"
	}
	return out + "\n"
}

// Each key's default as docs/config.md states it is the default the show
// gets: a value is loaded through the real loader and compared with what
// an empty show file loads to (defaults() and what loading fills in);
// "empty" and "none" are zero there; a default said in words (derived at
// start) is zero there too. And the keys of
// list items — tokens, tally destinations, macros and their steps — are
// named, with the tally's defaults as stated.
func TestConfigDocStatesEachDefault(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	require.NoError(t, err)
	// the defaults a show gets: defaults() and what loading fills in (an
	// empty show file, through the real loader)
	base, err := LoadConfig(writeShow(t, "{}\n"), nil)
	require.NoError(t, err)
	def := reflect.ValueOf(*base)
	rows := 0
	var wrong []string
	for _, line := range strings.Split(string(doc), "\n") {
		cols := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `") || len(cols) < 6 { // | key | default | env | what |
			continue
		}
		var keys []string
		for _, m := range backticked.FindAllStringSubmatch(cols[1], -1) {
			keys = append(keys, m[1])
		}
		cell := strings.TrimSpace(cols[2])
		var vals []string
		for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
			vals = append(vals, m[1])
		}
		for i, key := range keys {
			rows++
			field, ok := configField(def, key)
			require.True(t, ok, "docs/config.md's row %q names no key of the show file", key)
			switch {
			case described[key] != "":
				require.Equal(t, described[key], cell, "%s: the default as the doc says it", key)
				require.True(t, field.IsZero(), "%s: derived at start, so zero in the loaded defaults: %v", key, field.Interface())
			case strings.HasPrefix(cell, "empty") || strings.HasPrefix(cell, "none"):
				require.True(t, field.IsZero(), "%s: docs/config.md says %q, the defaults have %v", key, cell, field.Interface())
			default:
				if len(vals) == 1 { // one value for the row's keys
					vals = slices.Repeat(vals, len(keys))
				}
				require.Len(t, vals, len(keys), "%s: one default value per key in %q", key, cell)
				cfg, err := LoadConfig(writeShow(t, yamlFor(key, vals[i])), nil)
				require.NoError(t, err, "%s: the doc's default %q loads", key, vals[i])
				got, _ := configField(reflect.ValueOf(*cfg), key)
				if zeroMeans[key] && field.IsZero() {
					checkZeroMeans(t, base, key, vals[i])
					continue
				}
				if !reflect.DeepEqual(field.Interface(), got.Interface()) {
					wrong = append(wrong, fmt.Sprintf("%s: docs/config.md says %q (%v); the defaults have %v", key, vals[i], got.Interface(), field.Interface()))
				}
			}
		}
	}
	require.Greater(t, rows, 50, "the key table was read")
	require.Empty(t, wrong, "each default as docs/config.md states it")

	// list items: each key named where its list is described
	for _, item := range []struct {
		list string
		typ  reflect.Type
	}{
		{"http.tokens", reflect.TypeFor[TokenConfig]()},
		{"tally", reflect.TypeFor[tally.Config]()},
		{"macros", reflect.TypeFor[MacroConfig]()},
		{"macros", reflect.TypeFor[StepConfig]()},
	} {
		row := docRow(string(doc), item.list)
		require.NotEmpty(t, row, "docs/config.md has a row for %s", item.list)
		for i := 0; i < item.typ.NumField(); i++ {
			name, _, _ := strings.Cut(item.typ.Field(i).Tag.Get("yaml"), ",")
			require.Contains(t, row, name, "the %s row names the item key %s", item.list, name)
		}
	}
	// the tally's item defaults, as its row states them
	row := docRow(string(doc), "tally")
	require.Contains(t, row, "brightness` (0–3, default 3)")
	d := tally.Config{}.WithDefaults()
	require.Equal(t, 3, *d.Brightness)
	require.Contains(t, row, "transport` (`udp`, `tcp`)")
	require.Equal(t, tally.UDP, d.Transport, "the first transport listed is the default")
}

// docRow is the table row of docs/config.md for key.
func docRow(doc, key string) string {
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "| `"+key+"` |") {
			return line
		}
	}
	return ""
}
