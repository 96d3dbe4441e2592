package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/mixer/bus"
)

// macroSources are three generators: no camera, no ffmpeg.
var macroSources = []ingest.SourceConfig{{Name: "bars", URL: "gen://bars"}, {Name: "clock", URL: "gen://clock"},
	{Name: "red", URL: "gen://color?c=red"}}

// macroEnd waits for the end ("done" or "failed") of a macro's run on the
// event stream, collecting the progress events before it.
func macroEnd(t *testing.T, ch <-chan sseEvent, name string, within time.Duration) (progress []control.MacroRun, end control.MacroRun) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ev := next(t, ch, time.Until(deadline), "macro")
		var r control.MacroRun
		require.NoError(t, json.Unmarshal([]byte(ev.data), &r))
		if r.Name != name {
			continue
		}
		if r.State != control.RunRunning {
			return progress, r
		}
		progress = append(progress, r)
	}
}

// TestMacroRunsStepsInOrder: a run's steps happen in order, each after its
// wait, and the run is told on the event stream step by step, then done.
func TestMacroRunsStepsInOrder(t *testing.T) {
	a, _ := startApp(t, testConfig(t, macroSources...))
	events, _ := sseClient(t, a.apiURL("/events"), "")
	next(t, events, 10*time.Second, "state")

	const waitMS = 700
	mustAPI(t, "POST", a.apiURL("/macros"), fmt.Sprintf(`{"name":"opener","steps":[
		{"method":"POST","path":"/api/v1/program","body":{"source":"bars"}},
		{"method":"POST","path":"/api/v1/preview","body":{"source":"clock"}},
		{"method":"POST","path":"/api/v1/program","body":{"source":"red"},"wait_ms":%d}]}`, waitMS), nil)
	var listed []control.MacroStatus
	mustAPI(t, "GET", a.apiURL("/macros"), "", &listed)
	require.Len(t, listed, 1)
	require.Equal(t, "opener", listed[0].Name)
	require.Len(t, listed[0].Steps, 3)

	started := time.Now()
	var run control.MacroRun
	require.Equal(t, http.StatusAccepted, api(t, "POST", a.apiURL("/macros/opener/run"), "", &run))
	require.Equal(t, 3, run.Steps)

	// the buses' events, in order: bars on program, clock on preview, red on program
	var seen []string
	var barsAt, redAt time.Time
	var barsFrame, redFrame int64
	var progress []control.MacroRun
	var end control.MacroRun
	deadline := time.Now().Add(15 * time.Second)
	for end.State == "" {
		ev := next(t, events, time.Until(deadline), "buses", "macro")
		switch ev.typ {
		case "buses":
			var st bus.State
			require.NoError(t, json.Unmarshal([]byte(ev.data), &st))
			step := "program=" + st.Program + " preview=" + st.Preview
			if len(seen) == 0 || seen[len(seen)-1] != step {
				seen = append(seen, step)
			}
			if st.Program == "bars" && barsAt.IsZero() {
				barsAt, barsFrame = ev.at, st.Frame
			}
			if st.Program == "red" && redAt.IsZero() {
				redAt, redFrame = ev.at, st.Frame
			}
		case "macro":
			var r control.MacroRun
			require.NoError(t, json.Unmarshal([]byte(ev.data), &r))
			if r.State == control.RunRunning {
				progress = append(progress, r)
			} else {
				end = r
			}
		}
	}
	require.Equal(t, control.RunDone, end.State, "the run ends done: %+v", end)
	require.Equal(t, []string{"program=bars preview=black", "program=bars preview=clock", "program=red preview=clock"}, seen,
		"the steps happen in order")
	require.Len(t, progress, 3, "one progress event a step")
	for i, p := range progress {
		require.Equal(t, i+1, p.Step)
		require.Equal(t, 3, p.Steps)
		require.Equal(t, run.Run, p.Run)
	}
	// The third step waits 700 ms after the second, which follows the
	// first at once. Each bus event names the program frame its change
	// takes effect on, by the mixer's own clock (30 fps here): the frames
	// between the first step's effect and the third's are the wait, to
	// within a frame, whatever the event stream's delivery did. And the
	// third cannot have arrived sooner than 700 ms after the run was asked.
	frame := time.Second / 30
	gap := time.Duration(redFrame-barsFrame) * frame
	t.Logf("first step's effect to third's: %d frames = %s by the program clock, %s by arrival (wait_ms %d)",
		redFrame-barsFrame, gap, redAt.Sub(barsAt), waitMS)
	require.GreaterOrEqual(t, redAt.Sub(started), waitMS*time.Millisecond)
	require.GreaterOrEqual(t, gap, waitMS*time.Millisecond-frame, "the wait is kept")
	require.Less(t, gap, waitMS*time.Millisecond+5*time.Second, "and not much more")

	// one run of a macro at a time
	mustAPI(t, "POST", a.apiURL("/macros"), `{"name":"slow","steps":[{"method":"POST","path":"/api/v1/cut","wait_ms":1500}]}`, nil)
	mustAPI(t, "POST", a.apiURL("/macros/slow/run"), "", nil)
	var e struct{ Error string }
	require.Equal(t, http.StatusConflict, api(t, "POST", a.apiURL("/macros/slow/run"), "", &e))
	require.Contains(t, e.Error, "is running")
	mustAPI(t, "GET", a.apiURL("/macros"), "", &listed)
	require.True(t, listed[1].Running)
	_, end = macroEnd(t, events, "slow", 15*time.Second)
	require.Equal(t, control.RunDone, end.State)
	mustAPI(t, "POST", a.apiURL("/macros/slow/run"), "", nil) // ended: it runs again
	_, end = macroEnd(t, events, "slow", 15*time.Second)
	require.Equal(t, control.RunDone, end.State)

	require.Equal(t, http.StatusNotFound, api(t, "POST", a.apiURL("/macros/nosuch/run"), "", nil))
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/macros/slow"), "", nil))
	require.Equal(t, http.StatusNotFound, api(t, "DELETE", a.apiURL("/macros/slow"), "", nil))
}

// TestMacroFailingStepStops: a step the API refuses ends the run there; the
// end says which step and the API's sentence, and later steps never run.
func TestMacroFailingStepStops(t *testing.T) {
	a, _ := startApp(t, testConfig(t, macroSources...))
	events, _ := sseClient(t, a.apiURL("/events"), "")
	next(t, events, 10*time.Second, "state")
	mustAPI(t, "POST", a.apiURL("/macros"), `{"name":"broken","steps":[
		{"method":"POST","path":"/api/v1/program","body":{"source":"bars"}},
		{"method":"POST","path":"/api/v1/program","body":{"source":"nosuch"}},
		{"method":"POST","path":"/api/v1/program","body":{"source":"red"}}]}`, nil)
	mustAPI(t, "POST", a.apiURL("/macros/broken/run"), "", nil)
	progress, end := macroEnd(t, events, "broken", 15*time.Second)
	require.Equal(t, control.RunFailed, end.State)
	require.Equal(t, 2, end.Step, "the second step failed")
	require.Equal(t, "/api/v1/program", end.Path)
	require.Equal(t, http.StatusNotFound, end.Status)
	require.Contains(t, end.Error, `no source named "nosuch"`)
	require.Len(t, progress, 2, "the third step never started")
	var st control.State
	mustAPI(t, "GET", a.apiURL("/state"), "", &st)
	require.Equal(t, "bars", st.Program, "the first step ran, the third did not")
	require.False(t, st.Macros[0].Running, "the run has ended")
}

// TestMacroValidation: a macro is checked when saved, through the API and
// the show file alike; each refusal names the step and the field.
func TestMacroValidation(t *testing.T) {
	a, _ := startApp(t, testConfig(t, macroSources...))
	step := func(s string) string { return `{"name":"m","steps":[` + s + `]}` }
	many := strings.Repeat(`{"method":"POST","path":"/api/v1/cut"},`, 101)
	for _, c := range []struct{ name, body, field, says string }{
		{"unknown route", step(`{"method":"POST","path":"/api/v1/nosuch"}`), "steps[0].path", "no route /api/v1/nosuch"},
		{"wrong method", step(`{"method":"POST","path":"/api/v1/cut"},{"method":"DELETE","path":"/api/v1/cut"}`), "steps[1].path", "takes POST, not DELETE"},
		{"a GET", step(`{"method":"GET","path":"/api/v1/state"}`), "steps[0].method", "POST, PUT, PATCH or DELETE"},
		{"lower-case method", step(`{"method":"post","path":"/api/v1/cut"}`), "steps[0].method", "in capitals"},
		{"runs a macro", step(`{"method":"POST","path":"/api/v1/macros/m/run"}`), "steps[0].path", "may not call /api/v1/macros"},
		{"saves a macro", step(`{"method":"POST","path":"/api/v1/macros","body":{"name":"x"}}`), "steps[0].path", "may not call /api/v1/macros"},
		{"logs in", step(`{"method":"POST","path":"/api/v1/session","body":{"token":"x"}}`), "steps[0].path", "may not call /api/v1/session"},
		{"outside the API", step(`{"method":"POST","path":"/whip/cam1"}`), "steps[0].path", "must start with /api/v1/"},
		{"dot segments", step(`{"method":"POST","path":"/api/v1/keyers/../cut"}`), "steps[0].path", "must be clean"},
		{"a query", step(`{"method":"POST","path":"/api/v1/cut?x=1"}`), "steps[0].path", "no query"},
		{"an escape", step(`{"method":"DELETE","path":"/api/v1/sources/a%2Fb"}`), "steps[0].path", "no escapes"},
		{"an upload", step(`{"method":"PUT","path":"/api/v1/keyers/k1/image"}`), "steps[0].path", "not JSON"},
		{"long wait", step(`{"method":"POST","path":"/api/v1/cut","wait_ms":60001}`), "steps[0].wait_ms", "from 0 to 60000"},
		{"negative wait", step(`{"method":"POST","path":"/api/v1/cut","wait_ms":-1}`), "steps[0].wait_ms", "from 0 to 60000"},
		{"body not an object", step(`{"method":"POST","path":"/api/v1/program","body":"bars"}`), "steps[0].body", "JSON object"},
		{"no steps", `{"name":"m","steps":[]}`, "steps", "no steps"},
		{"101 steps", `{"name":"m","steps":[` + strings.TrimSuffix(many, ",") + `]}`, "steps", "at most 100"},
		{"bad name", `{"name":"Big Show","steps":[{"method":"POST","path":"/api/v1/cut"}]}`, "name", "must match"},
		{"unknown field", `{"name":"m","steps":[{"method":"POST","path":"/api/v1/cut","delay":5}]}`, "delay", "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e struct{ Error, Field string }
			require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/macros"), c.body, &e), "%s", c.body)
			require.Equal(t, c.field, e.Field)
			require.Contains(t, e.Error, c.says)
			if strings.HasPrefix(c.field, "steps[") {
				require.Contains(t, e.Error, "step ", "the refusal names the step")
			}
		})
	}
	// a step's body at most 64 KiB: the show file can say more than one request
	big := fmt.Sprintf(`macros: [{name: m, steps: [{method: POST, path: /api/v1/keyers, body: {type: text, text: "%s"}}]}]`,
		strings.Repeat("x", 64<<10))
	_, err := ParseConfig([]byte(big))
	require.NoError(t, err)
	cfg, _ := ParseConfig([]byte(big))
	var ce *ConfigError
	require.ErrorAs(t, cfg.Validate(), &ce)
	require.Equal(t, "macros[0].steps[0].body", ce.Key)
	require.Contains(t, ce.Msg, "at most 65536")

	// the show file's door: the same check, the key named
	for _, c := range []struct{ yaml, key, says string }{
		{`macros: [{name: m, steps: [{method: POST, path: /api/v1/nosuch}]}]`, "macros[0].steps[0].path", "no route"},
		{`macros: [{name: m, steps: [{method: POST, path: /api/v1/macros/m/run}]}]`, "macros[0].steps[0].path", "may not call /api/v1/macros"},
		{`macros: [{name: m, steps: [{method: POST, path: /api/v1/cut, wait_ms: 70000}]}]`, "macros[0].steps[0].wait_ms", "from 0 to 60000"},
		{`macros: [{name: m, steps: [{method: POST, path: /api/v1/cut}]}, {name: m, steps: [{method: POST, path: /api/v1/cut}]}]`, "macros[1].name", "listed twice"},
		{`macros: [{name: m, steps: [{method: POST, path: /api/v1/cut, delay: 5}]}]`, "macros[0].steps[0].delay", "unknown key"},
	} {
		cfg, err := ParseConfig([]byte(c.yaml))
		if err == nil {
			err = cfg.Validate()
		}
		require.ErrorAs(t, err, &ce, c.yaml)
		require.Equal(t, c.key, ce.Key, c.yaml)
		require.Contains(t, ce.Msg, c.says, c.yaml)
	}
}

// TestMacroRoleEscalation: each step runs with the role of whoever started
// the run, so a director cannot do an admin's work through a macro an admin
// saved; the run ends at the refused step.
func TestMacroRoleEscalation(t *testing.T) {
	cfg := testConfig(t, macroSources...)
	cfg.HTTP.Tokens = []TokenConfig{{Name: "boss", Token: "admin-token-1234", Role: "admin"},
		{Name: "dir", Token: "director-token-1234", Role: "director"}, {Name: "eyes", Token: "viewer-token-1234", Role: "viewer"}}
	require.NoError(t, cfg.Validate())
	a, _ := startApp(t, cfg)
	as := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	call := func(tok, method, path, body string) (int, string) {
		req, err := http.NewRequest(method, a.apiURL(path), strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		as(tok)(req)
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	events, _ := sseClientWith(t, a.apiURL("/events"), "", as("viewer-token-1234"))
	next(t, events, 10*time.Second, "state")

	// adding a source is an admin's
	const m = `{"name":"grow","steps":[{"method":"POST","path":"/api/v1/preview","body":{"source":"bars"}},
		{"method":"POST","path":"/api/v1/sources","body":{"name":"extra","url":"gen://color?c=blue"}}]}`
	code, _ := call("viewer-token-1234", "POST", "/macros", m)
	require.Equal(t, http.StatusForbidden, code, "a viewer saves no macro")
	code, _ = call("director-token-1234", "POST", "/macros", m)
	require.Equal(t, http.StatusCreated, code, "a director saves one (saving runs nothing)")
	code, _ = call("viewer-token-1234", "POST", "/macros/grow/run", "")
	require.Equal(t, http.StatusForbidden, code, "a viewer runs none")

	code, _ = call("director-token-1234", "POST", "/macros/grow/run", "")
	require.Equal(t, http.StatusAccepted, code)
	_, end := macroEnd(t, events, "grow", 15*time.Second)
	require.Equal(t, control.RunFailed, end.State)
	require.Equal(t, 2, end.Step)
	require.Equal(t, http.StatusForbidden, end.Status)
	require.Contains(t, end.Error, "needs the admin role")
	require.Equal(t, "dir", end.By)
	code, _ = call("viewer-token-1234", "GET", "/sources/extra", "")
	require.Equal(t, http.StatusNotFound, code, "the director's run added no source")

	code, _ = call("admin-token-1234", "POST", "/macros/grow/run", "")
	require.Equal(t, http.StatusAccepted, code)
	_, end = macroEnd(t, events, "grow", 15*time.Second)
	require.Equal(t, control.RunDone, end.State, "%+v", end)
	code, _ = call("viewer-token-1234", "GET", "/sources/extra", "")
	require.Equal(t, http.StatusOK, code, "the admin's run did")
}

// TestMacroFromShowFileAndRestart: a macro of the show file runs; one saved
// through the API is in show.json and comes back after a restart.
func TestMacroFromShowFileAndRestart(t *testing.T) {
	dir := t.TempDir()
	show := `
data_dir: ` + dir + `
http: { listen: "127.0.0.1:0" }
rtmp: { listen: "127.0.0.1:0" }
rtsp: { listen: "127.0.0.1:0", udp_rtp: "", udp_rtcp: "" }
srt: { listen: "127.0.0.1:0" }
program: { width: 320, height: 240, fps: 30, video_bitrate: 600k, audio_bitrate: 96k }
sources:
  - { name: bars, url: "gen://bars" }
  - { name: red, url: "gen://color?c=red" }
macros:
  - name: open-show
    steps:
      - { method: POST, path: /api/v1/preview, body: { source: red } }
      - { method: POST, path: /api/v1/auto, body: { type: mix, duration_ms: 200 }, wait_ms: 100 }
`
	p := filepath.Join(dir, "show.yaml")
	require.NoError(t, os.WriteFile(p, []byte(show), 0o600))
	cfg, err := LoadConfig(p, nil)
	require.NoError(t, err)
	a, logs := startApp(t, cfg)
	events, cancel := sseClient(t, a.apiURL("/events"), "")
	next(t, events, 10*time.Second, "state")
	mustAPI(t, "POST", a.apiURL("/macros/open-show/run"), "", nil)
	_, end := macroEnd(t, events, "open-show", 15*time.Second)
	require.Equal(t, control.RunDone, end.State, "%+v", end)
	waitFor(t, 10*time.Second, "red on program after the mix", func() bool {
		var st control.State
		mustAPI(t, "GET", a.apiURL("/state"), "", &st)
		return st.Program == "red"
	})
	mustAPI(t, "POST", a.apiURL("/macros"), `{"name":"saved","steps":[{"method":"POST","path":"/api/v1/program","body":{"source":"bars"}}]}`, nil)
	cancel()
	closeApp(t, a, logs)

	cfg, err = LoadConfig(p, nil)
	require.NoError(t, err)
	a, _ = startApp(t, cfg)
	var listed []control.MacroStatus
	mustAPI(t, "GET", a.apiURL("/macros"), "", &listed)
	var names []string
	for _, m := range listed {
		names = append(names, m.Name)
	}
	require.Equal(t, []string{"open-show", "saved"}, names, "the show file's and the API's, after a restart")
	events, _ = sseClient(t, a.apiURL("/events"), "")
	next(t, events, 10*time.Second, "state")
	mustAPI(t, "POST", a.apiURL("/macros/saved/run"), "", nil)
	_, end = macroEnd(t, events, "saved", 15*time.Second)
	require.Equal(t, control.RunDone, end.State)
	var st control.State
	mustAPI(t, "GET", a.apiURL("/state"), "", &st)
	require.Equal(t, "bars", st.Program)
}

// TestMacroButtonsInPanel: the panel shows a button a macro; pressing one
// runs it, and the panel follows the run to its end.
func TestMacroButtonsInPanel(t *testing.T) {
	a, _ := startApp(t, testConfig(t, macroSources...))
	mustAPI(t, "POST", a.apiURL("/macros"), `{"name":"to-red","steps":[{"method":"POST","path":"/api/v1/preview","body":{"source":"clock"}},
		{"method":"POST","path":"/api/v1/program","body":{"source":"red"},"wait_ms":300}]}`, nil)
	ctx := newBrowser(t)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("http://"+a.http.Addr().String()+"/"),
		chromedp.Poll(`window.switchyard && window.switchyard.ready`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Click(`#macro-row button[data-macro="to-red"]`, chromedp.NodeVisible),
		chromedp.Poll(`document.getElementById("macro-status").dataset.state === "done"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
	))
	var st control.State
	mustAPI(t, "GET", a.apiURL("/state"), "", &st)
	require.Equal(t, "red", st.Program)
	require.Equal(t, "clock", st.Preview)

	// a macro saved while the panel is open gets its button; a failed run says why
	mustAPI(t, "POST", a.apiURL("/macros"), `{"name":"oops","steps":[{"method":"POST","path":"/api/v1/program","body":{"source":"gone"}}]}`, nil)
	var status string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Click(`#macro-row button[data-macro="oops"]`, chromedp.NodeVisible),
		chromedp.Poll(`document.getElementById("macro-status").dataset.state === "failed"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`#macro-status`, &status),
	))
	require.Contains(t, status, "failed at step 1 of 1")
	require.Contains(t, status, `no source named "gone"`)
}

// TestMacroBadInShowJSONLeftOut: a macro in show.json that no longer passes
// the check (its route has gone) is left out with a warning; the show starts
// with the others.
func TestMacroBadInShowJSONLeftOut(t *testing.T) {
	cfg := testConfig(t, macroSources...)
	require.NoError(t, os.WriteFile(filepath.Join(cfg.DataDir, "show.json"), []byte(`{"macros":[
		{"name":"old","steps":[{"method":"POST","path":"/api/v1/gone"}]},
		{"name":"fine","steps":[{"method":"POST","path":"/api/v1/cut"}]}]}`), 0o600))
	a, logs := startApp(t, cfg)
	var listed []control.MacroStatus
	mustAPI(t, "GET", a.apiURL("/macros"), "", &listed)
	require.Len(t, listed, 1)
	require.Equal(t, "fine", listed[0].Name)
	require.Contains(t, logs.String(), "macro not loaded")
	require.Contains(t, logs.String(), "no route /api/v1/gone")
}
