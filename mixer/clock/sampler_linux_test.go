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
	s := newHostSampler(&tid, new(atomic.Int32), new(atomic.Int32), new(atomic.Pointer[[]int32]))
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
	s := newHostSampler(new(atomic.Int32), new(atomic.Int32), &encPrio, new(atomic.Pointer[[]int32]))
	var set, all unix.CPUSet
	set.Set(runtime.NumCPU() - 1) // the other CPUs stay free for the rest
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	ready := make(chan error, 2)
	done := make(chan struct{}, 2)
	release := make(chan struct{})
	defer func() {
		close(release)
		// back to ordinary threads before the next test looks
		for deadline := time.Now().Add(10 * time.Second); ; {
			s.findEncoders(prio)
			if len(s.encoders) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d real-time threads still there 10 s after their goroutines put them back", len(s.encoders))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	defer close(start) // ends spinners that never started
	for range 2 {
		go func() {
			runtime.LockOSThread()
			// put back before unlocked (the thread may be the process's
			// main one, which never ends)
			defer runtime.UnlockOSThread()
			defer unix.SchedSetaffinity(0, &all)
			defer unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}, 0)
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
			<-release // the thread read first
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
	// at another priority (an encoder's opener dropped back), a thread is
	// read no more from the next look
	encPrio.Store(prio + 1)
	s.encodersScan = 0
	s.sample()
	if len(s.encoders) != 0 {
		t.Errorf("%d threads read at real-time priority %d; want none", len(s.encoders), prio+1)
	}
	encPrio.Store(prio)
}
