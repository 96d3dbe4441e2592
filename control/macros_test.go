package control

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/internal/macro"
)

// TestEveryChangeIsAStep: every route of the API that changes the show and
// takes JSON is a step a macro may call, with its names filled in; the
// macros', the session's, uploads and reads are not.
func TestEveryChangeIsAStep(t *testing.T) {
	fill := strings.NewReplacer("{name}", "x1", "{id}", "k1", "{source}", "cam1", "{session}", "s1", "{file}", "a.mp4")
	allowed := 0
	for _, op := range operations {
		if !strings.HasPrefix(op.path, macro.Prefix) {
			continue
		}
		p := fill.Replace(op.path)
		err := stepRoute(op.method, p)
		refused := op.method == "GET" || op.bodyBinary != nil || strings.HasPrefix(op.path, "/api/v1/macros") ||
			strings.HasPrefix(op.path, "/api/v1/session") || strings.HasPrefix(op.path, "/api/v1/events")
		if refused {
			if op.method != "GET" { // a GET is refused by the method check, before the route's
				require.Error(t, err, "%s %s", op.method, p)
			}
			continue
		}
		require.NoError(t, err, "%s %s", op.method, p)
		allowed++
	}
	require.Greater(t, allowed, 20)
	require.ErrorContains(t, stepRoute("POST", "/api/v1/keyers/k1/on/again"), "no route")
	require.ErrorContains(t, stepRoute("PUT", "/api/v1/cut"), "takes POST, not PUT")
}
