package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/control"
	"switchyard/ingest"
)

// TestEveryRouteRefusesBadRequests walks Gin's routes: without the token
// every /api route is 401; with it, a route with a body refuses broken JSON
// (400), unknown fields (400) and an oversized body (413), and a route about
// a named thing answers 404 for a name that does not exist — each with a
// JSON error that says what is wrong.
func TestEveryRouteRefusesBadRequests(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"})
	cfg.HTTP.Token = "t0ken"
	a, _ := startApp(t, cfg)
	ctype := "application/json"
	do := func(method, path, body string, token bool) (int, string) {
		req, err := http.NewRequest(method, "http://"+a.http.Addr().String()+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ctype)
		if token {
			req.Header.Set("Authorization", "Bearer t0ken")
		}
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e control.APIError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Msg
	}
	// which operations take a body: the OpenAPI description says
	var spec struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	req, _ := http.NewRequest("GET", a.apiURL("/openapi.json"), nil)
	req.Header.Set("Authorization", "Bearer t0ken")
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&spec))
	resp.Body.Close()
	param := regexp.MustCompile(`[:*]([a-z]+)`)
	hasBody := func(method, ginPath string) bool {
		op := spec.Paths[param.ReplaceAllString(ginPath, "{$1}")][strings.ToLower(method)]
		return op["requestBody"] != nil
	}
	public := func(method, ginPath string) bool {
		return spec.Paths[param.ReplaceAllString(ginPath, "{$1}")][strings.ToLower(method)]["x-switchyard-role"] == "public"
	}
	checked := 0
	for _, r := range a.http.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		path := param.ReplaceAllString(r.Path, "nosuch")
		what := r.Method + " " + r.Path
		ctype = "application/json" // or the first body type the route takes
		if rb, ok := spec.Paths[param.ReplaceAllString(r.Path, "{$1}")][strings.ToLower(r.Method)]["requestBody"].(map[string]any); ok {
			if _, json := rb["content"].(map[string]any)["application/json"]; !json {
				for t := range rb["content"].(map[string]any) {
					ctype = t
				}
			}
		}
		if !public(r.Method, r.Path) { // logging in and out need no token
			code, msg := do(r.Method, path, `{}`, false)
			require.Equal(t, http.StatusUnauthorized, code, what)
			require.Contains(t, msg, "token", what)
		}

		if hasBody(r.Method, r.Path) && !strings.Contains(r.Path, ":") {
			code, msg := do(r.Method, path, `{"broken":`, true)
			require.Equal(t, http.StatusBadRequest, code, what)
			require.NotEmpty(t, msg, what)
			code, msg = do(r.Method, path, `{"no_such_field":1}`, true)
			require.Equal(t, http.StatusBadRequest, code, what)
			require.Contains(t, msg, "no_such_field", what)
			code, _ = do(r.Method, path, `{"name":"`+strings.Repeat("x", control.MaxBodyBytes)+`"}`, true)
			require.Equal(t, http.StatusRequestEntityTooLarge, code, what)
		}
		if strings.Contains(r.Path, ":") {
			body := ""
			if hasBody(r.Method, r.Path) {
				body = `{}`
			}
			code, msg := do(r.Method, path, body, true)
			require.Contains(t, []int{http.StatusNotFound, http.StatusBadRequest}, code, what)
			require.NotEmpty(t, msg, what)
		}
		checked++
	}
	t.Logf("%d /api routes checked", checked)
	require.Greater(t, checked, 25)
}
