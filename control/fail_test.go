package control

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/output/push"
	"switchyard/output/record"
)

// TestFailMapsTheVocabulary: every kind of the error vocabulary, as the
// owners return them (wrapped or not), answers its status with the error's
// own words and, for a refused value, its field; a cap names itself for the
// refusal counter.
func TestFailMapsTheVocabulary(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	gain := 99.0
	cases := []struct {
		name   string
		err    error
		status int
		body   string
		limit  string
	}{
		{"source field", ingest.SourceConfig{Name: "cam1", Transport: "sctp"}.Validate(), 400,
			`{"error":"source cam1: transport \"sctp\" must be tcp or udp","field":"transport"}`, ""},
		{"transition field", bus.Transition{Type: "spin"}.Validate(), 400,
			`{"error":"transition type \"spin\": use mix, dip, wipe or stinger","field":"type"}`, ""},
		{"audio field", audio.Patch{GainDB: &gain}.Apply(&audio.Settings{}, true), 400,
			`{"error":"gain_db must be from -60 to 20 dB","field":"gain_db"}`, ""},
		{"output field", push.Config{Name: "o1", URL: "http://x"}.Validate(), 400, "", ""},
		{"bad recording name", record.ErrBadName, 400, `{"error":"not a valid recording or file name"}`, ""},
		{"unknown source", fmt.Errorf("source %q: %w", "cam9", ingest.ErrUnknownSource), 404,
			`{"error":"source \"cam9\": no source with that name is configured"}`, ""},
		{"unknown output", push.ErrNotFound, 404, `{"error":"no output with that name"}`, ""},
		{"no recording", record.ErrNotFound, 404, `{"error":"no such recording or file"}`, ""},
		{"source exists", ingest.ErrExists, 409, `{"error":"a source with that name already exists"}`, ""},
		{"recording runs", record.ErrActive, 409, `{"error":"the recording is still running; stop it first"}`, ""},
		{"too many sources", fmt.Errorf("source cam65: %w", ingest.ErrTooManySources), 409,
			`{"error":"source cam65: a show has at most 64 sources; remove one first"}`, "sources"},
		{"too many generators", ingest.ErrTooManyGenerators, 409, "", "generators"},
		{"forbidden", ingest.ErrBadKey, 403, `{"error":"wrong or missing publish key"}`, ""},
		{"unavailable", fault.New(fault.Unavailable, "not yet"), 503, `{"error":"not yet"}`, ""},
		{"disk full", record.ErrDiskFull, 507, `{"error":"not enough free disk space"}`, ""},
		{"API error", &APIError{Status: 413, Msg: "too big"}, 413, `{"error":"too big"}`, ""},
		{"anything else", errors.New("boom"), 500, `{"error":"boom"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.err)
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
			fail(c, tc.err)
			require.Equal(t, tc.status, w.Code)
			if tc.body != "" {
				require.JSONEq(t, tc.body, w.Body.String())
			}
			lim, _ := c.Get(limitKey)
			if tc.limit == "" {
				require.Nil(t, lim)
			} else {
				require.Equal(t, tc.limit, lim)
			}
		})
	}
}
