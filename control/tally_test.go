package control

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/mixer/keyer"
	"switchyard/output/tally"
)

// newTestTally is a tally sender over the fake mixer and the registry, as
// main wires the real ones (the fake mixer tells no changes: it looks
// every 100 ms).
func newTestTally(t testing.TB, reg *ingest.Registry, mix *fakeMixer) *tally.Sender {
	t.Helper()
	ts, err := tally.New(tally.Options{Keyers: true, Repeat: 100 * time.Millisecond,
		Air: func() tally.Air {
			st := mix.State()
			air := tally.Air{Program: st.Program, Preview: st.Preview, Transition: st.Transition.Active}
			for _, k := range mix.Keyers() {
				if k.Type == keyer.TypePiP && k.On {
					air.Keyed = append(air.Keyed, k.Source)
				}
			}
			return air
		},
		Sources: func() []tally.Source {
			var out []tally.Source
			for i, s := range reg.List() {
				c := s.Config()
				idx := c.TallyIndex
				if idx == 0 {
					idx = i + 1
				}
				out = append(out, tally.Source{Name: c.Name, Label: c.DisplayLabel(), Index: idx})
			}
			return out
		}})
	require.NoError(t, err)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// TestTallyRoutes: GET /api/v1/tally shows each source's lamp with its
// label and index (set through the API), the event stream says "tally"
// when a cut changes them, and /tally/{source} serves the page — a 404
// page for an unknown source, to whoever may see the show.
func TestTallyRoutes(t *testing.T) {
	s := newTestServer(t, io.Discard, nil)
	base := "http://" + s.Addr().String()
	call := func(method, path, body string, out any) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer r.Body.Close()
		if out != nil {
			require.NoError(t, json.NewDecoder(r.Body).Decode(out))
		}
		return r.StatusCode
	}
	require.Equal(t, 201, call("POST", "/api/v1/sources", `{"name":"cam1","label":"Camera One","tally_index":7}`, nil))
	require.Equal(t, 201, call("POST", "/api/v1/sources", `{"name":"cam2"}`, nil))
	var src ingest.Status
	require.Equal(t, 200, call("GET", "/api/v1/sources/cam1", "", &src))
	require.Equal(t, "Camera One", src.Label)
	require.Equal(t, 7, src.TallyIndex)
	require.Equal(t, 400, call("PATCH", "/api/v1/sources/cam2", `{"tally_index":70000}`, nil), "an index past TSL 5.0's")
	require.Equal(t, 400, call("PATCH", "/api/v1/sources/cam2", `{"label":"two\nlines"}`, nil))
	require.Equal(t, 400, call("PATCH", "/api/v1/sources/cam2", `{"label":"`+strings.Repeat("é", 257)+`"}`, nil), "a label past 256 characters")
	require.Equal(t, 200, call("PATCH", "/api/v1/sources/cam2", `{"label":"`+strings.Repeat("é", 200)+`"}`, nil), "200 characters")
	require.Equal(t, 200, call("PATCH", "/api/v1/sources/cam2", `{"label":""}`, nil), "back to the name")

	resp, err := http.Get(base + "/api/v1/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	tallies := make(chan string, 64)
	go func() {
		defer close(tallies)
		buf := make([]byte, 1<<16)
		var pending string
		for {
			n, err := resp.Body.Read(buf)
			pending += string(buf[:n])
			for {
				i := strings.Index(pending, "\n\n")
				if i < 0 {
					break
				}
				ev := pending[:i]
				pending = pending[i+2:]
				if strings.Contains(ev, "event: tally\n") {
					tallies <- ev
				}
			}
			if err != nil {
				return
			}
		}
	}()
	require.Equal(t, 200, call("POST", "/api/v1/program", `{"source":"cam1"}`, nil))
	require.Equal(t, 200, call("POST", "/api/v1/preview", `{"source":"cam2"}`, nil))
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-tallies:
			done = strings.Contains(ev, `{"name":"cam1","label":"Camera One","index":7,"tally":"program","color":"red"}`) &&
				strings.Contains(ev, `{"name":"cam2","label":"cam2","index":2,"tally":"preview","color":"green"}`)
		case <-deadline:
			t.Fatal("no tally event with cam1 on program and cam2 on preview")
		}
	}
	var st tally.Status
	require.Equal(t, 200, call("GET", "/api/v1/tally", "", &st))
	require.True(t, st.Keyers)
	require.Len(t, st.Sources, 2)
	require.Equal(t, "red", st.Sources[0].Color)
	require.NotNil(t, st.Destinations)

	get := func(path string, header ...string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest("GET", base+path, nil)
		require.NoError(t, err)
		if len(header) == 2 {
			req.Header.Set(header[0], header[1])
		}
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, r.Header.Get("Content-Type"), string(b)
	}
	code, ctype, body := get("/tally/cam1")
	require.Equal(t, 200, code)
	require.Contains(t, ctype, "text/html")
	require.Contains(t, body, `src="/panel/tally.js"`)
	code, ctype, body = get("/tally/%3Cb%3Enosuch")
	require.Equal(t, 404, code)
	require.Contains(t, ctype, "text/html")
	require.Contains(t, body, "No source named “&lt;b&gt;nosuch”")
	code, _, _ = get("/panel/tally.js")
	require.Equal(t, 200, code)
}

// TestTallyPageWithToken: with tokens set, the page is served to anyone
// (it logs in as the panel does) and says nothing of which sources exist
// until the caller shows a credential; the API's tally needs one.
func TestTallyPageWithToken(t *testing.T) {
	s := newTestServer(t, io.Discard, func(s *Server) { s.Token = "tally-secret" })
	base := "http://" + s.Addr().String()
	get := func(path, token string) int {
		t.Helper()
		req, err := http.NewRequest("GET", base+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		r.Body.Close()
		return r.StatusCode
	}
	require.Equal(t, 200, get("/tally/nosuch", ""), "no credential: the page, which asks to log in")
	require.Equal(t, 404, get("/tally/nosuch", "tally-secret"))
	require.Equal(t, 401, get("/api/v1/tally", ""))
	require.Equal(t, 200, get("/api/v1/tally", "tally-secret"))

	// a wrong token tried on the page counts as on the API: the page is no
	// way around the throttle to guess tokens
	for range maxTokenFailures {
		require.Equal(t, 200, get("/tally/nosuch", "guess"))
	}
	require.Equal(t, 200, get("/tally/nosuch", "tally-secret"), "throttled: the page, which says nothing")
	require.Equal(t, 429, get("/api/v1/tally", "tally-secret"))
}
