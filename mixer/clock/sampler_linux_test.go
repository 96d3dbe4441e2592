package clock

import (
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The host sampler reads this machine's figures without failing.
func TestHostSampler(t *testing.T) {
	var tid atomic.Int32
	tid.Store(int32(syscall.Gettid()))
	s := newHostSampler(&tid, new(atomic.Int32))
	buf := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		buf = append(buf, make([]byte, 1<<20)) // a fault or two, and work for the GC
	}
	_ = buf
	time.Sleep(20 * time.Millisecond) // some time for the scheduler to record
	w := s.sample()
	if w.MinorFaults == 0 {
		t.Fatalf("no page faults counted after touching 64 MiB: %+v", w)
	}
	if w2 := s.sample(); w2.ClockRunDelayMs < 0 {
		t.Fatalf("run delay %+v", w2)
	}
	if _, ok := readSteal(); !ok {
		t.Fatal("/proc/stat has no steal column")
	}
}
