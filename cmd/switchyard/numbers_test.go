package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestHostileNumbersRefused: every number a client gives the API, at the
// ends of what JSON can say, is refused with a 400 that names its field —
// none sizes an allocation, wraps around or stops the show, which keeps
// composing program frames throughout.
func TestHostileNumbersRefused(t *testing.T) {
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"}))
	waitPicture(t, a, "cam1")
	var k struct{ ID string }
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/keyers"), `{"type":"text","text":"x"}`, &k))

	const big, small, huge = "9223372036854775807", "-9223372036854775808", "1e308"
	cases := []struct {
		method, path, body, field string
	}{
		{"POST", "/keyers", `{"type":"text","text":"x","z":%s}`, "z"},
		{"POST", "/keyers", `{"type":"text","text":"x","fade_ms":%s}`, "fade_ms"},
		{"POST", "/keyers", `{"type":"text","text":"x","opacity":%s}`, "opacity"},
		{"POST", "/keyers", `{"type":"text","text":"x","size":%s}`, "size"},
		{"POST", "/keyers", `{"type":"text","text":"x","background":"black","background_opacity":%s}`, "background_opacity"},
		{"POST", "/keyers", `{"type":"clock","mode":"countdown","duration_s":%s}`, "duration_s"},
		{"POST", "/keyers", `{"type":"pip","source":"cam1","border":{"width":%s}}`, "border.width"},
		{"POST", "/keyers", `{"type":"image","rect":{"x":%[1]s,"y":0,"w":%[1]s,"h":2}}`, "rect"},
		{"PATCH", "/keyers/" + k.ID, `{"fade_ms":%s}`, "fade_ms"},
		{"PUT", "/transition", `{"type":"mix","duration_ms":%s}`, "duration_ms"},
		{"PUT", "/transition", `{"type":"wipe","duration_ms":500,"softness_px":%s}`, "softness_px"},
		{"POST", "/transition/position", `{"position":%s}`, "position"},
		{"PATCH", "/audio/master", `{"gain_db":%s}`, "gain_db"},
		{"PATCH", "/audio/cam1", `{"gain_db":%s}`, "gain_db"},
		{"PATCH", "/sources/cam1", `{"jitter_buffer_ms":%s}`, "jitter_buffer_ms"},
		{"POST", "/outputs", `{"name":"o","url":"rtmp://127.0.0.1:9/live/x","enabled":false,"video_bitrate":%s}`, "video_bitrate"},
	}
	for _, c := range cases {
		for _, v := range []string{big, small, huge, "-" + huge} {
			body := strings.ReplaceAll(c.body, "%[1]s", v)
			body = strings.ReplaceAll(body, "%s", v)
			frames := a.mixer.Stats().FramesOut
			var e struct{ Error, Field string }
			var raw json.RawMessage
			code := api(t, c.method, a.apiURL(c.path), body, &raw)
			_ = json.Unmarshal(raw, &e)
			t.Logf("%s %s %s → %d %s", c.method, c.path, body, code, raw)
			require.Equal(t, http.StatusBadRequest, code, "%s %s %s: %s", c.method, c.path, body, raw)
			require.NotEmpty(t, e.Error, "the refusal says why")
			require.True(t, e.Field == c.field || strings.HasPrefix(e.Field, c.field+"."), "%s: the refusal names the field %s: %s", body, c.field, raw)
			waitFor(t, 5*time.Second, "the program still running", func() bool { return a.mixer.Stats().FramesOut > frames })
		}
	}
	for _, q := range []string{"width=" + big, "width=-1", "width=" + huge} {
		require.Equal(t, http.StatusBadRequest, api(t, "GET", a.apiURL("/sources/cam1/snapshot.jpg?"+q), "", nil), q)
	}
}
