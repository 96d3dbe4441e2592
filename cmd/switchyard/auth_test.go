package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/control"
	"switchyard/ingest"
)

func TestToken(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"})
	cfg.HTTP.Token = "s3cret-token"
	a, logs := startApp(t, cfg)
	do := func(method, path string, set func(*http.Request)) int {
		req, err := http.NewRequest(method, "http://"+a.http.Addr().String()+path, strings.NewReader(`{"source":"bars"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if set != nil {
			set(req)
		}
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	// the panel's login: the token in, a session cookie out
	var who control.Who
	req, err := http.NewRequest("POST", a.apiURL("/session"), strings.NewReader(`{"token":"s3cret-token"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == control.SessionCookie {
			session = c
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly, "no script reads it")
	require.Equal(t, http.SameSiteStrictMode, session.SameSite, "no other site sends it")
	require.NotContains(t, session.Value, "s3cret", "the cookie holds a session id, not the token")
	cookie := func(r *http.Request) { r.AddCookie(&http.Cookie{Name: control.SessionCookie, Value: session.Value}) }

	for _, path := range []string{"/api/v1/state", "/api/v1/sources", "/api/v1/sources/bars/snapshot.jpg", "/api/v1/recordings", "/api/v1/outputs"} {
		require.Equal(t, http.StatusUnauthorized, do("GET", path, nil), path)
		require.Equal(t, http.StatusUnauthorized, do("GET", path, bearer("wrong")), path)
		require.Equal(t, http.StatusUnauthorized, do("GET", path+"?token=s3cret", nil), path)
	}
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/state", bearer("s3cret-token")))
	require.Equal(t, http.StatusUnauthorized, do("GET", "/api/v1/state?token=s3cret-token", nil), "?token= only where an <img> needs it")
	require.NotEqual(t, http.StatusUnauthorized, do("GET", "/api/v1/sources/bars/snapshot.jpg?token=s3cret-token", nil), "a snapshot may carry it")
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/state", cookie), "the session cookie")
	require.Equal(t, http.StatusOK, do("POST", "/api/v1/program", cookie), "the panel's changes go with its cookie (JSON, same origin)")
	require.Equal(t, http.StatusUnauthorized, do("POST", "/api/v1/program?token=s3cret-token", nil))
	require.Equal(t, http.StatusOK, do("POST", "/api/v1/program", bearer("s3cret-token")))
	require.Equal(t, http.StatusOK, do("GET", "/healthz", nil), "health checks stay open")
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/session", cookie))
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/session", bearer("s3cret-token")))

	// The event stream, which EventSource opens with the cookie.
	ch, _ := sseClientWith(t, a.apiURL("/events"), "", cookie)
	require.Equal(t, "state", next(t, ch, 5e9, "state").typ)

	// Logging out ends the session.
	require.Equal(t, http.StatusNoContent, do("DELETE", "/api/v1/session", cookie))
	require.Equal(t, http.StatusUnauthorized, do("GET", "/api/v1/state", cookie))
	require.Equal(t, http.StatusUnauthorized, api(t, "POST", a.apiURL("/session"), `{"token":"wrong"}`, &who))
	require.NotContains(t, logs.String(), "s3cret-token", "the token is never logged")
}
