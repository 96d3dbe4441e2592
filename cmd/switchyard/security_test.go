package main

// The hostile-input suite of issue 21, through the doors an attacker uses:
// real HTTP against a started show. One test per finding.

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/mixer/keyer"
)

// call sends a request to the show; set changes it (headers, Host). It
// returns the status and the body.
func call(t *testing.T, a *app, method, path, body string, set ...func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+a.http.Addr().String()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for _, f := range set {
		f(req)
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func header(k, v string) func(*http.Request) {
	return func(r *http.Request) {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
}

func bearerToken(tok string) func(*http.Request) { return header("Authorization", "Bearer "+tok) }

// TestOverflowingRectRefused: the rect whose x+w overflows to a small
// number is refused (it used to pass and ask for 8 TiB, which the runtime
// cannot survive), on POST and PATCH, and the show goes on.
func TestOverflowingRectRefused(t *testing.T) {
	a, _ := startApp(t, testConfig(t))
	huge := `{"x":9223370937343148032,"y":0,"w":1099511627776,"h":2}`
	var e control.APIError
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/keyers"), `{"type":"image","rect":`+huge+`}`, &e))
	require.Equal(t, "rect", e.Field)
	require.Contains(t, e.Msg, "outside the 320x240 program")
	var k keyer.Status
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/keyers"), `{"type":"image","rect":{"x":0,"y":0,"w":64,"h":64}}`, &k))
	require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL("/keyers/"+k.ID), `{"rect":`+huge+`}`, &e))
	require.Equal(t, "rect", e.Field)
	for _, r := range []string{`{"x":-9223372036854775808,"y":0,"w":2,"h":2}`, `{"x":0,"y":9223372036854775806,"w":2,"h":9223372036854775806}`,
		`{"x":2,"y":2,"w":9223372036854775806,"h":2}`} {
		require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL("/keyers/"+k.ID), `{"rect":`+r+`}`, &e), r)
	}
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/keyers/"+k.ID), "", &k))
	require.Equal(t, 64, k.Rect.W, "the keyer is as it was")
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/state"), "", nil), "the show goes on")
	f := a.mixer.Stats().FramesOut
	waitFor(t, 5*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut > f })
}

// TestCrossSiteChangesRefused: what a page of another site can send — a
// form POST or fetch(…, {mode: "no-cors"}), with a text/plain or form body,
// from its own Origin or marked cross-site — changes nothing; the panel's
// own origin and http.allowed_origins may, with JSON.
func TestCrossSiteChangesRefused(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"})
	cfg.HTTP.AllowedOrigins = []string{"http://companion.example:8000"}
	a, logs := startApp(t, cfg)
	own := "http://" + a.http.Addr().String()
	output := `{"name":"evil","url":"rtmp://evil.example/live/stolen"}`
	for _, c := range []struct {
		name   string
		status int
		path   string
		body   string
		set    []func(*http.Request)
	}{
		{"text/plain from another site", 403, "/api/v1/outputs", output,
			[]func(*http.Request){header("Content-Type", "text/plain;charset=UTF-8"), header("Origin", "https://evil.example")}},
		{"a form from another site", 403, "/api/v1/outputs", "name=evil&url=rtmp://evil.example/live/k",
			[]func(*http.Request){header("Content-Type", "application/x-www-form-urlencoded"), header("Origin", "https://evil.example")}},
		{"JSON from another site", 403, "/api/v1/outputs", output, []func(*http.Request){header("Origin", "https://evil.example")}},
		{"JSON from another port of this host", 403, "/api/v1/outputs", output,
			[]func(*http.Request){header("Origin", "http://127.0.0.1:1"), header("Sec-Fetch-Site", "same-site")}},
		{"a sandboxed frame", 403, "/api/v1/outputs", output, []func(*http.Request){header("Origin", "null")}},
		{"cross-site, no Origin", 403, "/api/v1/outputs", output, []func(*http.Request){header("Sec-Fetch-Site", "cross-site")}},
		{"text/plain without Origin", 415, "/api/v1/outputs", output, []func(*http.Request){header("Content-Type", "text/plain")}},
		{"no body type", 415, "/api/v1/ftb", "", []func(*http.Request){header("Content-Type", "")}},
		{"multipart", 415, "/api/v1/recording/start", "--x--", []func(*http.Request){header("Content-Type", "multipart/form-data; boundary=x")}},
	} {
		code, body := call(t, a, "POST", c.path, c.body, c.set...)
		require.Equal(t, c.status, code, "%s: %s", c.name, body)
		var e control.APIError
		require.NoError(t, json.Unmarshal([]byte(body), &e), c.name)
		require.NotEmpty(t, e.Msg, c.name)
	}
	require.Empty(t, a.outputs.List(), "no output was added")
	require.False(t, a.mixer.Switcher().State().FTB, "no fade to black")
	_, active := a.recorder.Active()
	require.False(t, active, "no recording")
	require.Contains(t, logs.String(), "msg=audit component=control who=anonymous method=POST route=/api/v1/outputs status=403")

	code, body := call(t, a, "POST", "/api/v1/program", `{"source":"bars"}`, header("Origin", own), header("Sec-Fetch-Site", "same-origin"))
	require.Equal(t, http.StatusOK, code, "the panel's own origin: %s", body)
	code, body = call(t, a, "POST", "/api/v1/preview", `{"source":"bars"}`, header("Origin", "http://companion.example:8000"),
		header("Sec-Fetch-Site", "cross-site"))
	require.Equal(t, http.StatusOK, code, "an allowed origin: %s", body)
	code, body = call(t, a, "POST", "/api/v1/ftb", "", header("Content-Type", "application/json; charset=utf-8"))
	require.Equal(t, http.StatusOK, code, "a script (no Origin) with JSON: %s", body)

	resp, err := httpClient.Get(own + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
}

// TestForeignHostRefused: a page that rebinds its DNS name to 127.0.0.1
// reaches a loopback listener with its own name as Host: 421, for reads
// too. The loopback names and http.hosts are served.
func TestForeignHostRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.Hosts = []string{"studio.lan"}
	a, _ := startApp(t, cfg)
	port := a.http.Addr().String()[strings.LastIndex(a.http.Addr().String(), ":"):]
	host := func(h string) func(*http.Request) { return func(r *http.Request) { r.Host = h } }
	for _, h := range []string{"evil.example" + port, "evil.example", "127.0.0.1.evil.example" + port, "localhost.evil.example"} {
		for _, path := range []string{"/api/v1/state", "/", "/metrics", "/api/v1/openapi.json"} {
			code, body := call(t, a, "GET", path, "", host(h))
			require.Equal(t, http.StatusMisdirectedRequest, code, "Host %s, %s", h, path)
			require.Contains(t, body, "not to")
		}
		code, _ := call(t, a, "POST", "/api/v1/ftb", "", host(h))
		require.Equal(t, http.StatusMisdirectedRequest, code)
	}
	for _, h := range []string{"localhost" + port, "LOCALHOST" + port, "127.0.0.1" + port, "[::1]" + port, "studio.lan" + port, "studio.lan"} {
		code, body := call(t, a, "GET", "/api/v1/state", "", host(h))
		require.Equal(t, http.StatusOK, code, "Host %s: %s", h, body)
	}
	require.False(t, a.mixer.Switcher().State().FTB)
}

// TestRolesRefusedOutsideTheirRoutes: every registered route, with a token
// of every role: refused (403, naming the role needed) exactly where the
// route's x-switchyard-role says; every change is in the audit log with
// the token's name.
func TestRolesRefusedOutsideTheirRoutes(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"})
	cfg.HTTP.Tokens = []TokenConfig{{Name: "boss", Token: "tok-admin-0123456789", Role: "admin"},
		{Name: "dir", Token: "tok-director-0123456", Role: "director"},
		{Name: "mix", Token: "tok-audio-0123456789", Role: "audio"},
		{Name: "eye", Token: "tok-viewer-012345678", Role: "viewer"}}
	require.NoError(t, cfg.Validate())
	a, logs := startApp(t, cfg)
	tokens := map[string]string{"admin": "tok-admin-0123456789", "director": "tok-director-0123456", "audio": "tok-audio-0123456789",
		"viewer": "tok-viewer-012345678"}
	var spec struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	code, body := call(t, a, "GET", "/api/v1/openapi.json", "", bearerToken(tokens["viewer"]))
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal([]byte(body), &spec))

	param := regexp.MustCompile(`[:*]([a-z]+)`)
	allows := map[string][]string{"public": {"admin", "director", "audio", "viewer"}, "viewer": {"admin", "director", "audio", "viewer"},
		"audio": {"admin", "audio"}, "director": {"admin", "director"}, "admin": {"admin"}}
	streams := map[string]bool{"/api/v1/events": true, "/multiview.mjpeg": true}
	checked := 0
	for _, r := range a.http.Routes() {
		op := spec.Paths[param.ReplaceAllString(r.Path, "{$1}")][strings.ToLower(r.Method)]
		need, _ := op["x-switchyard-role"].(string)
		require.Contains(t, allows, need, "%s %s has a role", r.Method, r.Path)
		if streams[r.Path] {
			continue // TestStreamsNeedTheViewerRole
		}
		path := param.ReplaceAllString(r.Path, "nosuch")
		ctype, body := "application/json", ""
		if op["requestBody"] != nil {
			body = `{"no_such_field":1}` // gets past the role, then refused: nothing changes
		}
		if strings.HasSuffix(r.Path, "/image") {
			ctype, body = "image/png", "not a png"
		}
		for role, tok := range tokens {
			code, msg := call(t, a, r.Method, path, body, bearerToken(tok), header("Content-Type", ctype))
			what := role + " " + r.Method + " " + r.Path
			if slices.Contains(allows[need], role) {
				require.NotEqual(t, http.StatusForbidden, code, "%s: %s", what, msg)
				require.NotEqual(t, http.StatusUnauthorized, code, "%s: %s", what, msg)
			} else {
				require.Equal(t, http.StatusForbidden, code, "%s: %s", what, msg)
				require.Contains(t, msg, "needs the "+need+" role", what)
			}
			checked++
		}
	}
	code, _ = call(t, a, "POST", "/api/v1/program", `{"source":"cam1"}`)
	require.Equal(t, http.StatusUnauthorized, code)
	t.Logf("%d route × role pairs checked", checked)
	require.Greater(t, checked, 150)
	require.Contains(t, logs.String(), "msg=audit component=control who=dir method=POST route=/api/v1/outputs status=403")
	require.Contains(t, logs.String(), "msg=audit component=control who=eye method=POST route=/api/v1/program status=403")
	require.Contains(t, logs.String(), "msg=audit component=control who=mix method=PATCH route=/api/v1/audio/:source status=400")
	require.Contains(t, logs.String(), "msg=audit component=control who=anonymous method=POST route=/api/v1/program status=401", "no token: anonymous")
	for _, tok := range tokens {
		require.NotContains(t, logs.String(), tok, "tokens are never logged")
	}

	// Each role where it may: a director cuts, the audio role mutes, an
	// admin adds a source; the viewer watches.
	code, body = call(t, a, "POST", "/api/v1/program", `{"source":"cam1"}`, bearerToken(tokens["director"]))
	require.Equal(t, http.StatusOK, code, body)
	code, body = call(t, a, "PATCH", "/api/v1/audio/cam1", `{"mute":true}`, bearerToken(tokens["audio"]))
	require.Equal(t, http.StatusOK, code, body)
	code, body = call(t, a, "POST", "/api/v1/sources", `{"name":"cam2"}`, bearerToken(tokens["admin"]))
	require.Equal(t, http.StatusCreated, code, body)
	code, body = call(t, a, "DELETE", "/api/v1/sources/cam2", "", bearerToken(tokens["director"]))
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, `needs the admin role; token \"dir\" has the director role`)
	var who control.Who
	code, body = call(t, a, "GET", "/api/v1/session", "", bearerToken(tokens["audio"]))
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal([]byte(body), &who))
	require.Equal(t, control.Who{Name: "mix", Role: control.RoleAudio}, who)
	require.Contains(t, logs.String(), "msg=audit component=control who=dir method=POST route=/api/v1/program status=200")
	require.Contains(t, logs.String(), "msg=audit component=control who=boss method=POST route=/api/v1/sources status=201")
}

// TestStreamsNeedTheViewerRole: the event stream and the multiview take
// any role and refuse no token; ?token= works on the multiview (an <img>),
// not on the event stream.
func TestStreamsNeedTheViewerRole(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.Tokens = []TokenConfig{{Name: "eye", Token: "viewer-token-123456", Role: "viewer"}}
	a, _ := startApp(t, cfg)
	status := func(path string, set ...func(*http.Request)) int {
		req, err := http.NewRequest("GET", "http://"+a.http.Addr().String()+path, nil)
		require.NoError(t, err)
		for _, f := range set {
			f(req)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		require.NoError(t, err)
		resp.Body.Close() // the headers are the answer
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, status("/api/v1/events"))
	require.Equal(t, http.StatusOK, status("/api/v1/events", bearerToken("viewer-token-123456")))
	require.Equal(t, http.StatusUnauthorized, status("/api/v1/events?token=viewer-token-123456"), "?token= ends up in logs: not here")
	require.Equal(t, http.StatusUnauthorized, status("/multiview.mjpeg"))
	require.Equal(t, http.StatusOK, status("/multiview.mjpeg?token=viewer-token-123456"))
}
