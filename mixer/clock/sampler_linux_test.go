package clock

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The host sampler reads this machine's figures without failing.
func TestHostSampler(t *testing.T) {
	var tid atomic.Int32
	tid.Store(int32(syscall.Gettid()))
	s := newHostSampler(&tid, new(atomic.Int32), new(atomic.Int32))
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

// The sampler finds the process's threads at the encoders' real-time
// priority — those only — and says how long they waited for a CPU: two of
// them spinning on one CPU for 300 ms round robin (100-ms quanta) wait
// about half of it each.
func TestHostSamplerEncodersRunDelay(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: two real-time spinners would hold it")
	}
	const prio = 3
	var encPrio atomic.Int32
	encPrio.Store(prio)
	s := newHostSampler(new(atomic.Int32), new(atomic.Int32), &encPrio)
	var set unix.CPUSet
	set.Set(runtime.NumCPU() - 1) // the other CPUs stay free for the rest
	start := make(chan struct{})
	ready := make(chan error, 2)
	done := make(chan struct{}, 2)
	release := make(chan struct{})
	defer close(release)
	defer close(start) // ends spinners that never started
	for range 2 {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			err := unix.SchedSetaffinity(0, &set)
			if err == nil {
				err = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: prio}, 0)
			}
			ready <- err
			if err != nil {
				return
			}
			<-start
			for t0 := time.Now(); time.Since(t0) < 300*time.Millisecond; {
			}
			done <- struct{}{}
			<-release // the thread read before it ends
		}()
	}
	for range 2 {
		if err := <-ready; err != nil {
			t.Skipf("cannot run a thread in real time here: %v", err)
		}
	}
	s.encodersScan = 0 // look for them at the next sample
	if w := s.sample(); w.EncodersRunDelayMs != 0 {
		t.Fatalf("the first read of the threads found is a baseline: %+v", w)
	}
	if len(s.encoders) != 2 {
		t.Fatalf("found %d threads at real-time priority %d; want the 2 made", len(s.encoders), prio)
	}
	start <- struct{}{}
	start <- struct{}{}
	for range 2 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the spinners did not end in 10 s")
		}
	}
	w := s.sample()
	t.Logf("the encoders' threads waited %.1f ms in all, %.1f ms at most", w.EncodersRunDelayMs, w.EncodersRunDelayMaxMs)
	if w.EncodersRunDelayMs < 100 || w.EncodersRunDelayMaxMs < 50 || w.EncodersRunDelayMaxMs > w.EncodersRunDelayMs {
		t.Errorf("two threads round robin on one CPU for 300 ms each: waited %.1f ms in all, %.1f at most; want about 150 each",
			w.EncodersRunDelayMs, w.EncodersRunDelayMaxMs)
	}
}
