package testpeer

import (
	"bytes"
	"sync"
)

// LogBuffer collects a server's log output for a test to look for a line;
// safe for the server's goroutines and the test at once.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Cap is the bytes the buffer holds on the heap.
func (l *LogBuffer) Cap() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Cap()
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
