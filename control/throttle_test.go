package control

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTokenGuessingThrottled: an address that has tried maxTokenFailures
// wrong tokens — by login, bearer token or ?token= — is refused every token
// attempt, the right one too, with 429 and Retry-After, until its window
// passes; another address is not; the refusals are counted in /metrics.
func TestTokenGuessingThrottled(t *testing.T) {
	const secret = "a-long-random-director-token"
	s, _ := unstartedServer(t, io.Discard)
	s.Tokens = []Token{{Name: "desk", Secret: secret, Role: RoleDirector}}
	h := s.Handler()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	s.auth.throttle.now = func() time.Time { return now }
	do := func(from, method, path, body, bearer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = from + ":40000"
		req.Host = "127.0.0.1"
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	const guesser, desk = "192.0.2.7", "192.0.2.8"
	for i := range maxTokenFailures {
		var w *httptest.ResponseRecorder
		switch i % 3 {
		case 0:
			w = do(guesser, "POST", "/api/v1/session", `{"token":"guess"}`, "")
		case 1:
			w = do(guesser, "GET", "/api/v1/state", "", "guess")
		default:
			w = do(guesser, "GET", "/api/v1/sources/cam1/snapshot.jpg?token=guess", "", "")
		}
		require.Equal(t, http.StatusUnauthorized, w.Code, "wrong token %d: %s", i+1, w.Body)
	}
	for _, w := range []*httptest.ResponseRecorder{
		do(guesser, "POST", "/api/v1/session", `{"token":"`+secret+`"}`, ""),
		do(guesser, "GET", "/api/v1/state", "", secret),
	} {
		require.Equal(t, http.StatusTooManyRequests, w.Code, "even the right token, from the guessing address: %s", w.Body)
		require.Equal(t, "60", w.Header().Get("Retry-After"))
		require.Contains(t, w.Body.String(), "wrong tokens from this address")
	}
	require.Equal(t, http.StatusOK, do(desk, "GET", "/api/v1/state", "", secret).Code, "another address is not held up")
	require.Equal(t, http.StatusUnauthorized, do(guesser, "GET", "/api/v1/state", "", "").Code, "no credential: the usual 401, nothing tried")

	m := do(desk, "GET", "/metrics", "", secret)
	require.Contains(t, m.Body.String(), `switchyard_limit_refused_total{limit="token_attempts"} 2`)

	now = now.Add(tokenWindow)
	require.Equal(t, http.StatusOK, do(guesser, "GET", "/api/v1/state", "", secret).Code, "the window has passed")
}

// TestThrottleRemembersABoundedNumberOfAddresses: a flood of wrong tokens
// from many addresses keeps the memory bounded.
func TestThrottleRemembersABoundedNumberOfAddresses(t *testing.T) {
	th := newThrottle()
	now := time.Now()
	th.now = func() time.Time { return now }
	for i := range 3 * maxThrottled {
		th.failed(fmt.Sprintf("198.51.%d.%d", i/256, i%256))
		now = now.Add(time.Millisecond)
	}
	require.LessOrEqual(t, len(th.fails), maxThrottled)
	for range maxTokenFailures {
		th.failed("203.0.113.1")
	}
	_, no := th.blocked("203.0.113.1")
	require.True(t, no, "the newest address is remembered")
}
