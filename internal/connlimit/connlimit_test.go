package connlimit

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCap: with Max held open, the next connection is closed at once and
// counted; closing one makes room again; the refusals are logged once a
// second at most.
func TestCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var logs bytes.Buffer
	l := &Listener{Listener: ln, Gate: Gate{Max: 2, Log: slog.New(slog.NewTextHandler(&logs, nil)), Protocol: "rtmp"}}
	accepted := make(chan net.Conn, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedByServer := func(c net.Conn, within time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(within))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF || (err != nil && !isTimeout(err))
	}
	held := []net.Conn{dial(), dial()}
	var server []net.Conn
	for range held {
		select {
		case c := <-accepted:
			server = append(server, c)
		case <-time.After(5 * time.Second):
			t.Fatal("not accepted")
		}
	}
	for i := 0; i < 3; i++ {
		require.True(t, closedByServer(dial(), 5*time.Second), "connection %d over the cap closed", i+1)
	}
	require.Equal(t, uint64(3), l.Refused())
	require.Equal(t, 1, strings.Count(logs.String(), "connections refused"), "one line for three refusals within a second")
	require.Contains(t, logs.String(), "rtmp.max_connections")
	for _, c := range held {
		require.False(t, closedByServer(c, 200*time.Millisecond), "a connection under the cap stays")
	}

	// one closes (twice: counted once): room for one more
	require.NoError(t, server[0].Close())
	_ = server[0].Close()
	require.Equal(t, 1, l.Open())
	dial()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("no room after a close")
	}
	server[1].Close()
	require.NoError(t, ln.Close())
	<-done
	require.Equal(t, 0, l.Open())
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestGate: a server that accepts by other means than a net.Listener (SRT's
// connection requests) holds its cap with the Gate alone: Max places, the
// next refused and counted, one log line for a burst of refusals, a place
// given back makes room.
func TestGate(t *testing.T) {
	var logs bytes.Buffer
	g := &Gate{Max: 2, Log: slog.New(slog.NewTextHandler(&logs, nil)), Protocol: "srt"}
	require.True(t, g.Enter())
	require.True(t, g.Enter())
	for range 3 {
		require.False(t, g.Enter(), "over the cap")
	}
	require.Equal(t, 2, g.Open())
	require.Equal(t, uint64(3), g.Refused())
	require.Equal(t, 1, strings.Count(logs.String(), "connections refused"))
	require.Contains(t, logs.String(), "raise srt.max_connections")
	g.Leave()
	require.True(t, g.Enter(), "room after a leave")
	require.Equal(t, 2, g.Open())
}
