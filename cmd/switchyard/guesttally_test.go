package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestGuestTallyWithTokens: on a show with API tokens, a guest who holds
// only the source's publish key follows that source's lamp over
// GET /guest/SOURCE/tally (off, then program after a cut, then preview),
// and nothing else; a wrong or missing key is refused, an API token also
// opens it, and an unknown source is a 404.
func TestGuestTallyWithTokens(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "guest", PublishKey: "guest-key-1"}, ingest.SourceConfig{Name: "bars", URL: "gen://bars"})
	cfg.HTTP.Token = "api-secret-1"
	a, _ := startApp(t, cfg)
	base := "http://" + a.http.Addr().String()
	get := func(path, bearer string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", base+path, nil)
		require.NoError(t, err)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := (&http.Client{}).Do(req)
		require.NoError(t, err)
		return resp
	}
	for path, want := range map[string]int{
		"/guest/guest/tally":               http.StatusForbidden,
		"/guest/guest/tally?key=wrong":     http.StatusForbidden,
		"/guest/nosuch/tally?key=whatever": http.StatusNotFound,
		"/api/v1/tally?key=guest-key-1":    http.StatusUnauthorized, // the key opens the guest's lamp, not the API
	} {
		r := get(path, "")
		r.Body.Close()
		require.Equal(t, want, r.StatusCode, path)
	}
	r := get("/guest/guest/tally", "api-secret-1")
	r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode, "an API token opens it too")

	resp := get("/guest/guest/tally?key=guest-key-1", "")
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lamps := make(chan string, 16)
	go func() {
		defer close(lamps)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lamps <- d
			}
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lamps:
			require.True(t, ok, "the stream ended")
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no tally event within 10 s")
			return ""
		}
	}
	first := next()
	require.Contains(t, first, `"name":"guest"`)
	require.NotContains(t, first, `"bars"`, "only the guest's own lamp")
	require.Contains(t, first, `"tally":"off"`)
	_, err := a.mixer.Switcher().SetProgram("guest")
	require.NoError(t, err)
	require.Contains(t, next(), `"tally":"program"`)
	_, err = a.mixer.Switcher().SetProgram("bars")
	require.NoError(t, err)
	_, err = a.mixer.Switcher().SetPreview("guest")
	require.NoError(t, err)
	for l := next(); !strings.Contains(l, `"tally":"preview"`); l = next() {
		require.NotContains(t, l, `"bars"`)
	}
}
