package control

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/internal/protocols/whip"
)

var errNoSignal = errors.New("no signalling in this test")

// noWebRTC turns the guest routes on; nothing here signals.
type noWebRTC struct{}

func (noWebRTC) Publish(string, string, []byte) (*whip.Answer, error) { return nil, errNoSignal }
func (noWebRTC) End(string, string) error                             { return errNoSignal }
func (noWebRTC) Play(string, string, []byte) (*whip.Answer, error)    { return nil, errNoSignal }
func (noWebRTC) StopPlay(string, string) error                        { return errNoSignal }
func (noWebRTC) Stats() *whip.Counts                                  { return &whip.Counts{} }
func (noWebRTC) Open() int                                            { return 0 }

// TestEventStreamsEndAtClose: Server.Close ends every event stream it
// serves — the API's and a guest's tally stream — so that nothing it
// started outlives it. Both share one loop (pump) now; the guest's had its
// own, which did not watch the server's close: Close waited out its
// five-second shutdown and left the stream (and its handler) running.
func TestEventStreamsEndAtClose(t *testing.T) {
	s := newTestServer(t, io.Discard, func(s *Server) { s.WebRTC = noWebRTC{} })
	base := "http://" + s.Addr().String()
	req, err := http.NewRequest("POST", base+"/api/v1/sources", strings.NewReader(`{"name":"cam1"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusCreated, r.StatusCode)

	ended := map[string]chan struct{}{}
	for _, path := range []string{"/api/v1/events", "/guest/cam1/tally"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		rd := bufio.NewReader(resp.Body)
		line, err := rd.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "retry: 1000\n", line, path+" streams")
		done := make(chan struct{})
		ended[path] = done
		go func() {
			defer close(done)
			_, _ = io.Copy(io.Discard, rd) // until the server ends the stream
		}()
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	for path, done := range ended {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s still open after Server.Close", path)
		}
	}
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Server.Close did not return")
	}
}
