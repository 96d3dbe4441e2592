package push

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/internal/testpeer"
)

// TestStopEndsTheStreamCleanly: stopping an output (the API's stop, or the
// show's drain) ends its stream as an encoder does — FCUnpublish and
// deleteStream before the connection closes, as nginx-rtmp logs it.
func TestStopEndsTheStreamCleanly(t *testing.T) {
	ng := testpeer.StartNginx(t)
	p := newProgram(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.run(ctx, 0, 60*30, nil) }()
	defer func() { cancel(); wg.Wait() }()

	m := NewManager(p.stream, Options{ConnectTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}, quietLog())
	defer m.Close()
	_, err := m.Add(Config{Name: "direct", URL: ng.URL("direct"), Enabled: true})
	require.NoError(t, err)
	waitUntil := time.Now().Add(20 * time.Second)
	for st, _ := m.Get("direct"); st.State != StateLive || st.FramesSent < 10; st, _ = m.Get("direct") {
		require.True(t, time.Now().Before(waitUntil), "the output live, ten frames sent")
		time.Sleep(20 * time.Millisecond)
	}

	_, err = m.Stop("direct")
	require.NoError(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ended := ng.PublishEnd("direct"); ended {
			break
		}
		require.True(t, time.Now().Before(deadline), "nginx-rtmp saw the publish end")
		time.Sleep(20 * time.Millisecond)
	}
	clean, _ := ng.PublishEnd("direct")
	require.True(t, clean, "deleteStream came before the connection closed")
}
