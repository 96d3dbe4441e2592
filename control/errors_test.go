package control

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// TestOversizedBodyGetsItsAnswer sends bodies over the limit the way a script
// with curl or Go's client does (whole body, then Connection: close) and
// requires the 413 with its message every time, never a reset connection.
// The old readBody closed the connection with the client still sending.
func TestOversizedBodyGetsItsAnswer(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/x", func(c *gin.Context) {
		var v struct{ Name string }
		if err := bind(c, &v); err != nil {
			fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()

	for _, size := range []int{MaxBodyBytes + 1, MaxBodyBytes + 6000, MaxBodyBytes + 300<<10} {
		for range 10 {
			body := `{"name":"` + strings.Repeat("a", size) + `"}`
			resp, err := client.Post(srv.URL+"/x", "application/json", strings.NewReader(body))
			require.NoError(t, err, "a %d-byte body", len(body))
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(b, &e), "body: %s", b)
			require.Contains(t, e.Error, "larger than 65536 bytes")
		}
	}
	// The server goes on serving.
	resp, err := client.Post(srv.URL+"/x", "application/json", strings.NewReader(`{"name":"ok"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}
