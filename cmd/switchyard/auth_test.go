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
	cookie := func(r *http.Request) { r.AddCookie(&http.Cookie{Name: control.TokenCookie, Value: "s3cret-token"}) }

	for _, path := range []string{"/api/v1/state", "/api/v1/sources", "/api/v1/sources/bars/snapshot.jpg", "/api/v1/recordings", "/api/v1/outputs"} {
		require.Equal(t, http.StatusUnauthorized, do("GET", path, nil), path)
		require.Equal(t, http.StatusUnauthorized, do("GET", path, bearer("wrong")), path)
		require.Equal(t, http.StatusUnauthorized, do("GET", path+"?token=s3cret", nil), path)
	}
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/state", bearer("s3cret-token")))
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/state?token=s3cret-token", nil), "a GET may carry it in the query")
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/state", cookie), "or in the cookie")
	require.Equal(t, http.StatusUnauthorized, do("POST", "/api/v1/program", cookie), "a change needs the header")
	require.Equal(t, http.StatusUnauthorized, do("POST", "/api/v1/program?token=s3cret-token", nil))
	require.Equal(t, http.StatusOK, do("POST", "/api/v1/program", bearer("s3cret-token")))
	require.Equal(t, http.StatusOK, do("GET", "/healthz", nil), "health checks stay open")

	// The event stream, which EventSource opens without headers.
	ch, _ := sseClient(t, a.apiURL("/events?token=s3cret-token"), "")
	require.Equal(t, "state", next(t, ch, 5e9, "state").typ)
	require.NotContains(t, logs.String(), "s3cret-token", "the token is never logged")
}
