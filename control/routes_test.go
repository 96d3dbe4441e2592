package control

import (
	"bufio"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// routeStep is one request of a show driven through the router, and what it
// must answer: the status and words the body holds.
type routeStep struct {
	method, path, body string
	status             int
	has                []string
	ctype              string // application/json unless set
}

// runSteps sends each step through h in order.
func runSteps(t *testing.T, h http.Handler, steps []routeStep) {
	t.Helper()
	for _, st := range steps {
		var body io.Reader
		if st.body != "" {
			body = strings.NewReader(st.body)
		}
		req := httptest.NewRequest(st.method, st.path, body)
		if changes(st.method) {
			ct := st.ctype
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		visits.add(st.method, st.path, w.Code)
		require.Equal(t, st.status, w.Code, "%s %s %s: %s", st.method, st.path, st.body, w.Body)
		for _, s := range st.has {
			require.Contains(t, w.Body.String(), s, "%s %s %s", st.method, st.path, st.body)
		}
	}
}

// TestRoutes drives every route of the API through the real router (guard,
// roles, strict decoding, the error mapping) over fake owners — no FFmpeg —
// each with its happy path and its main refusals, with the statuses and
// words the API has always answered; at the end, every operation of the
// OpenAPI table must have been driven both ways (checkEveryOperation).
func TestRoutes(t *testing.T) {
	visits = &routeVisits{ops: map[string][]int{}}
	t.Cleanup(func() { visits = nil })
	s, o := unstartedServer(t, io.Discard)
	withMoreOwners(s)
	h := s.Handler()
	off, _ := unstartedServer(t, io.Discard)
	offH := off.Handler()
	require.NoError(t, os.WriteFile(filepath.Join(s.Assets.Path(), "logo.png"), tinyPNG(), 0o640))

	t.Run("service", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"GET", "/healthz", "", 200, []string{`{"ok":true}`}, ""},
			{"GET", "/", "", 200, []string{"<html"}, ""},
			{"GET", "/api/v1/openapi.json", "", 200, []string{`"openapi"`, `"/api/v1/keyers/{id}/image"`}, ""},
			{"GET", "/api/v1/session", "", 200, nil, ""},
			{"GET", "/api/v1/nosuch", "", 404, []string{`no route GET /api/v1/nosuch`}, ""},
			{"POST", "/api/v1/cut", "", 415, []string{`Content-Type: application/json`}, "text/plain"},
			{"GET", "/api/v1/state", "", 200, []string{`"format":{"width":320,"height":240,"fps":30}`, `"program":"black"`}, ""},
		})
	})
	t.Run("sources", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/sources", `{"name":"cam1"}`, 201, []string{`"name":"cam1"`, `"jitter_buffer_ms":66`}, ""},
			{"POST", "/api/v1/sources", `{"name":"cam1"}`, 409, []string{`"error":"source cam1: a source with that name already exists"`}, ""},
			{"POST", "/api/v1/sources", `{"name":"black"}`, 400, []string{`"field":"name"`, `black bus`}, ""},
			{"POST", "/api/v1/sources", `{"name":"cam2","transport":"sctp"}`, 400, []string{`"field":"transport"`}, ""},
			{"POST", "/api/v1/sources", `{"url":"gen://bars"}`, 400, []string{`"error":"field \"name\" is required"`, `"field":"name"`}, ""},
			{"POST", "/api/v1/sources", `{"name":"cam2","jitter_buffer_ms":"x"}`, 400, []string{`"field":"jitter_buffer_ms"`, `milliseconds (0: the program's) or \"auto\"`}, ""},
			{"POST", "/api/v1/sources", `{"name":"cam2","colour":1}`, 400, []string{`unknown field \"colour\"`}, ""},
			{"GET", "/api/v1/sources", "", 200, []string{`"name":"cam1"`}, ""},
			{"GET", "/api/v1/sources/cam1", "", 200, []string{`"name":"cam1"`, `"state":"offline"`}, ""},
			{"GET", "/api/v1/sources/nosuch", "", 404, []string{`"error":"no source named \"nosuch\""`}, ""},
			{"PATCH", "/api/v1/sources/cam1", `{"jitter_buffer_ms":200}`, 200, []string{`"jitter_buffer_ms":200`}, ""},
			{"PATCH", "/api/v1/sources/cam1", `{"name":"cam9"}`, 400, []string{`cannot be renamed`, `"field":"name"`}, ""},
			{"PATCH", "/api/v1/sources/cam1", `{"jitter_buffer_ms":5000}`, 400, []string{`"field":"jitter_buffer_ms"`}, ""},
			{"PATCH", "/api/v1/sources/nosuch", `{"takeover":true}`, 404, []string{`no source named \"nosuch\"`}, ""},
			{"GET", "/api/v1/sources/cam1/snapshot.jpg", "", 503, []string{`no picture has been decoded from this source yet; try again when it is live`}, ""},
			{"GET", "/api/v1/sources/cam1/snapshot.jpg?width=5", "", 400, []string{`"field":"width"`}, ""},
			{"GET", "/api/v1/sources/nosuch/snapshot.jpg", "", 404, []string{`unknown source: \"nosuch\"`}, ""},
		})
		o.mix.mu.Lock()
		o.mix.snapshot["cam1"] = image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)
		o.mix.mu.Unlock()
		runSteps(t, h, []routeStep{{"GET", "/api/v1/sources/cam1/snapshot.jpg", "", 200, []string{"\xff\xd8"}, ""}})
	})
	t.Run("buses", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/program", `{"source":"cam1"}`, 200, []string{`"program":"cam1"`}, ""},
			{"POST", "/api/v1/program", `{"source":"nosuch"}`, 404, []string{`"error":"no source named \"nosuch\""`}, ""},
			{"POST", "/api/v1/program", `{}`, 400, []string{`"field":"source"`}, ""},
			{"POST", "/api/v1/preview", `{"source":"black"}`, 200, []string{`"preview":"black"`}, ""},
			{"POST", "/api/v1/cut", "", 200, []string{`"program":"black"`, `"preview":"cam1"`}, ""},
			{"PUT", "/api/v1/transition", `{"type":"dip","duration_ms":500}`, 200, []string{`"type":"dip"`, `"duration_ms":500`}, ""},
			{"PUT", "/api/v1/transition", `{"duration_ms":-1}`, 400, []string{`"field":"duration_ms"`}, ""},
			{"POST", "/api/v1/auto", "", 200, []string{`"active":true`, `"type":"dip"`}, ""},
			{"POST", "/api/v1/auto", `{"type":"spin"}`, 400, []string{`"field":"type"`, `use mix, dip, wipe or stinger`}, ""},
			{"POST", "/api/v1/transition/position", `{"position":0.5}`, 200, []string{`"manual":true`}, ""},
			{"POST", "/api/v1/transition/position", `{"position":2}`, 400, []string{`"field":"position"`}, ""},
			{"POST", "/api/v1/transition/position", `{}`, 400, []string{`field \"position\" is required`}, ""},
			{"POST", "/api/v1/ftb", "", 200, []string{`"ftb":true`}, ""},
		})
	})
	t.Run("audio", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"GET", "/api/v1/audio", "", 200, []string{`"master"`, `"cam1"`}, ""},
			{"PATCH", "/api/v1/audio/master", `{"gain_db":-3}`, 200, []string{`"gain_db":-3`}, ""},
			{"PATCH", "/api/v1/audio/master", `{"gain_db":99}`, 400, []string{`"field":"gain_db"`}, ""},
			{"PATCH", "/api/v1/audio/master", `{"mode":"on"}`, 400, []string{`"field":"mode"`, `the master has no mode`}, ""},
			{"PATCH", "/api/v1/audio/cam1", `{"mode":"on","mute":true}`, 200, []string{`"mode":"on"`, `"mute":true`}, ""},
			{"PATCH", "/api/v1/audio/cam1", `{"mode":"loud"}`, 400, []string{`"field":"mode"`}, ""},
			{"PATCH", "/api/v1/audio/nosuch", `{"mute":true}`, 404, []string{`unknown source \"nosuch\"`}, ""},
		})
	})
	t.Run("keyers", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/keyers", `{"type":"text","text":"hi"}`, 201, []string{`"id":"k1"`, `"type":"text"`}, ""},
			{"POST", "/api/v1/keyers", `{"id":"k1","type":"text","text":"hi"}`, 409, []string{`keyer id already taken: \"k1\"`}, ""},
			{"POST", "/api/v1/keyers", `{"type":"pip","source":"nosuch"}`, 400, []string{`"field":"source"`}, ""},
			{"POST", "/api/v1/keyers", `{"type":"image","path":"/etc/passwd"}`, 400, []string{`"field":"path"`}, ""},
			{"POST", "/api/v1/keyers", `{"id":"logo","type":"image","path":"logo.png"}`, 201, []string{`"id":"logo"`}, ""},
			{"GET", "/api/v1/keyers", "", 200, []string{`"id":"k1"`, `"id":"logo"`}, ""},
			{"GET", "/api/v1/keyers/k1", "", 200, []string{`"text":"hi"`}, ""},
			{"GET", "/api/v1/keyers/nosuch", "", 404, []string{`unknown keyer \"nosuch\"`}, ""},
			{"PATCH", "/api/v1/keyers/k1", `{"text":"ho"}`, 200, []string{`"text":"ho"`}, ""},
			{"PATCH", "/api/v1/keyers/k1", `{"type":"image"}`, 400, []string{`"field":"type"`, `cannot change`}, ""},
			{"PATCH", "/api/v1/keyers/k1", `{"opacity":"x"}`, 400, []string{`"field":"opacity"`}, ""},
			{"PATCH", "/api/v1/keyers/nosuch", `{"text":"ho"}`, 404, []string{`unknown keyer`}, ""},
			{"POST", "/api/v1/keyers/k1/on", "", 200, []string{`"on":true`}, ""},
			{"POST", "/api/v1/keyers/k1/off", "", 200, []string{`"level":0`}, ""},
			{"POST", "/api/v1/keyers/nosuch/on", "", 404, []string{`unknown keyer`}, ""},
			{"PUT", "/api/v1/keyers/k1/image", string(tinyPNG()), 400, []string{`"field":"type"`, `images go to image keyers`}, "image/png"},
			{"PUT", "/api/v1/keyers/logo/image", "not a picture", 400, nil, "image/png"},
			{"PUT", "/api/v1/keyers/logo/image", string(tinyPNG()), 200, []string{`"path":"keyers/logo.png"`}, "image/png"},
			{"PUT", "/api/v1/keyers/logo/image", string(tinyPNG()), 415, nil, "application/json"},
			{"DELETE", "/api/v1/keyers/k1", "", 204, nil, ""},
			{"DELETE", "/api/v1/keyers/k1", "", 404, []string{`unknown keyer \"k1\"`}, ""},
		})
		require.FileExists(t, filepath.Join(s.Assets.Path(), "keyers", "logo.png"))
		runSteps(t, h, []routeStep{{"DELETE", "/api/v1/keyers/logo", "", 204, nil, ""}})
		require.NoFileExists(t, filepath.Join(s.Assets.Path(), "keyers", "logo.png"), "its uploaded image goes with it")
	})
	t.Run("outputs", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/outputs", `{"name":"o1","url":"rtmp://127.0.0.1:1/live/k","enabled":false}`, 201, []string{`"name":"o1"`, `"state":"idle"`}, ""},
			{"POST", "/api/v1/outputs", `{"name":"o1","url":"rtmp://127.0.0.1:1/live/k"}`, 409, []string{`an output with that name already exists`}, ""},
			{"POST", "/api/v1/outputs", `{"name":"o2"}`, 400, []string{`"field":"url"`}, ""},
			{"POST", "/api/v1/outputs", `{"name":"o2","url":"http://x/y"}`, 400, []string{`"field":"url"`}, ""},
			{"POST", "/api/v1/outputs", `{"name":"o2","url":"rtmp://127.0.0.1:1/live/k","video_bitrate":"fast"}`, 400, []string{`"field":"video_bitrate"`, `a bitrate`}, ""},
			{"GET", "/api/v1/outputs", "", 200, []string{`"name":"o1"`}, ""},
			{"GET", "/api/v1/outputs/o1", "", 200, []string{`"name":"o1"`}, ""},
			{"GET", "/api/v1/outputs/nosuch", "", 404, []string{`no output with that name`}, ""},
			{"PATCH", "/api/v1/outputs/o1", `{"name":"o2"}`, 400, []string{`"field":"name"`, `cannot be renamed`}, ""},
			{"PATCH", "/api/v1/outputs/o1", `{"url":"rtmp://127.0.0.1:2/live/k"}`, 200, []string{`127.0.0.1:2`}, ""},
			{"POST", "/api/v1/outputs/o1/start", "", 200, []string{`"enabled":true`}, ""},
			{"POST", "/api/v1/outputs/o1/stop", "", 200, []string{`"enabled":false`}, ""},
			{"POST", "/api/v1/outputs/nosuch/start", "", 404, []string{`no output with that name`}, ""},
			{"DELETE", "/api/v1/outputs/o1", "", 204, nil, ""},
			{"DELETE", "/api/v1/outputs/o1", "", 404, []string{`no output with that name`}, ""},
		})
	})
	t.Run("recording", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/recording/stop", "", 409, []string{`"error":"no recording is running"`}, ""},
			{"POST", "/api/v1/recording/start", `{"iso":5}`, 400, []string{`"field":"iso"`}, ""},
			{"POST", "/api/v1/recording/start", `{"program":false,"iso":false}`, 400, []string{`nothing to record`}, ""},
			{"POST", "/api/v1/recording/start", "", 201, []string{`"id":"s1"`}, ""},
			{"POST", "/api/v1/recording/start", "", 409, []string{`a recording is already running`}, ""},
			{"POST", "/api/v1/recording/markers", `{"name":"goal","color":"green"}`, 201, []string{`"name":"goal"`}, ""},
			{"POST", "/api/v1/recording/markers", `{"name":""}`, 400, []string{`"field":"name"`}, ""},
			{"DELETE", "/api/v1/recordings/s1", "", 409, []string{`stop it first`}, ""},
			{"GET", "/api/v1/state", "", 200, []string{`"recording":{"id":"s1"`}, ""},
			{"POST", "/api/v1/recording/stop", "", 200, []string{`"id":"s1"`}, ""},
			{"GET", "/api/v1/recordings", "", 200, []string{`"id":"s1"`}, ""},
			{"GET", "/api/v1/recordings/s1/program.mp4", "", 404, []string{`no such recording or file`}, ""},
		})
		p := filepath.Join(o.recorder.dir, "s1", "program.mp4")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o750))
		require.NoError(t, os.WriteFile(p, []byte("0123456789"), 0o640))
		runSteps(t, h, []routeStep{
			{"GET", "/api/v1/recordings/s1/program.mp4", "", 200, []string{"0123456789"}, ""},
			{"GET", "/api/v1/recordings/s1/nosuch.mp4", "", 404, []string{`no such recording or file`}, ""},
			{"DELETE", "/api/v1/recordings/s1", "", 204, nil, ""},
			{"DELETE", "/api/v1/recordings/s1", "", 404, []string{`no such recording or file`}, ""},
		})
		// the defaults and the program source at the start went to the recorder
		require.Equal(t, "black", o.recorder.started.Initial)
	})
	t.Run("caps", func(t *testing.T) {
		for range 64 {
			runSteps(t, h, []routeStep{{"POST", "/api/v1/keyers", `{"type":"text","text":"x"}`, 201, nil, ""}})
		}
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/keyers", `{"type":"text","text":"x"}`, 409, []string{`a show holds at most 64 keyers; delete one first`}, ""},
			{"GET", "/metrics", "", 200, []string{`switchyard_limit_refused_total{limit="keyers"} 1`, `switchyard_limit_max{limit="generators"} 16`,
				`switchyard_limit_in_use{limit="keyers"} 64`, `switchyard_limit_in_use{limit="sources"} 1`}, ""},
		})
	})
	moreRoutes(t, h, offH, o)
	t.Run("remove source", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/program", `{"source":"cam1"}`, 200, []string{`"program":"cam1"`}, ""},
			{"DELETE", "/api/v1/sources/cam1", "", 204, nil, ""},
			{"DELETE", "/api/v1/sources/cam1", "", 404, []string{`no source with that name is configured`}, ""},
			{"GET", "/api/v1/state", "", 200, []string{`"program":"black"`}, ""},
		})
	})
	// every change went to show.json
	b, err := os.ReadFile(s.Store.Path())
	require.NoError(t, err)
	require.Contains(t, string(b), `"type": "dip"`)
	checkEveryOperation(t, visits)
}

// TestStreamRoutes: the event stream opens with the whole state and then
// carries a change made through the API; the multiview sends the wall's
// pictures as multipart JPEG parts.
func TestStreamRoutes(t *testing.T) {
	var mix *fakeMixer
	s := newTestServer(t, io.Discard, func(s *Server) { mix = s.Mixer.(*fakeMixer) })
	base := "http://" + s.Addr().String()

	resp, err := http.Get(base + "/api/v1/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	waitLine := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "the stream ended before %q", want)
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q on the event stream", want)
			}
		}
	}
	waitLine("event: state")
	req, err := http.NewRequest("POST", base+"/api/v1/ftb", nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	require.Equal(t, 200, r2.StatusCode)
	waitLine("event: buses")
	waitLine(`"ftb":true`)

	mv, err := http.Get(base + "/multiview.mjpeg")
	require.NoError(t, err)
	defer mv.Body.Close()
	require.Equal(t, 200, mv.StatusCode)
	require.Contains(t, mv.Header.Get("Content-Type"), "multipart/x-mixed-replace")
	mix.multiview <- []byte("\xff\xd8fake jpeg\xff\xd9")
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 0, 512)
		tmp := make([]byte, 256)
		for !strings.Contains(string(buf), "fake jpeg") {
			n, err := mv.Body.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil {
				break
			}
		}
		got <- string(buf)
	}()
	select {
	case b := <-got:
		require.Contains(t, b, "Content-Type: image/jpeg")
		require.Contains(t, b, "fake jpeg")
	case <-time.After(10 * time.Second):
		t.Fatal("no multiview picture")
	}
}
