package control

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAPIDescribesEveryRoute walks Gin's registered routes: each is in
// /api/v1/openapi.json, and everything documented is registered.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s, _ := unstartedServer(t, io.Discard)
	h := s.Handler()
	var spec struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
		Comps   struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &spec))
	require.Equal(t, "3.1.0", spec.OpenAPI)

	param := regexp.MustCompile(`[:*]([a-z]+)`)
	var registered, documented []string
	for _, r := range s.Routes() {
		registered = append(registered, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			require.NotEmpty(t, op["summary"], "%s %s", method, path)
			require.Contains(t, []any{"public", "viewer", "audio", "director", "admin"}, op["x-switchyard-role"],
				"%s %s states the role it needs", method, path)
			require.NotEmpty(t, op["responses"], "%s %s", method, path)
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	require.Equal(t, registered, documented, "routes and the OpenAPI description differ")

	// Schemas come from the Go types: every reference resolves.
	b, _ := json.Marshal(spec)
	for _, m := range regexp.MustCompile(`#/components/schemas/([A-Za-z]+)`).FindAllStringSubmatch(string(b), -1) {
		require.Contains(t, spec.Comps.Schemas, m[1])
	}
	status := spec.Comps.Schemas["IngestStatus"].(map[string]any)["properties"].(map[string]any)
	for _, field := range []string{"name", "state", "video", "attempt", "last_error", "decode_errors", "audio_late_s", "pictures_late", "pictures_skipped"} {
		require.Contains(t, status, field, "the source schema follows ingest.Status")
	}
}
