package sysmon

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHoldQuietsSysmon feeds the test a byte every 2 ms from another
// process — as a camera's packets come, woken by the network poller, not by
// a timer — for a second without and with a Hold, and counts the process's
// context switches. Without a hold each byte's read wakes sysmon from its
// deep sleep into 20 µs polling; with one the whole process switches less
// than half as often (measured: 6 500 and 1 600 a second). Each byte is
// followed by a millisecond in a system call, like a decode in a cgo call.
func TestHoldQuietsSysmon(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	burst := func() uint64 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTicker$")
		cmd.Env = append(os.Environ(), "SYSMON_TICKER=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		b := make([]byte, 1)
		if _, err := out.Read(b); err != nil { // the ticker is running
			t.Fatal(err)
		}
		before := switches(t)
		for end := time.Now().Add(time.Second); time.Now().Before(end); {
			if _, err := out.Read(b); err != nil {
				t.Fatal(err)
			}
			work := syscall.NsecToTimespec(int64(time.Millisecond)) // a decode in C
			syscall.Nanosleep(&work, nil)
		}
		return switches(t) - before
	}
	without := burst()
	procs := runtime.GOMAXPROCS(0)
	h := Start()
	if got := runtime.GOMAXPROCS(0); got != procs+extraProcs {
		t.Fatalf("GOMAXPROCS %d with a hold, want %d", got, procs+extraProcs)
	}
	with := burst()
	h.Close()
	h.Close() // twice is safe
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Fatalf("GOMAXPROCS %d after Close, want %d back", got, procs)
	}
	t.Logf("context switches in 1 s of bytes every 2 ms: %d without a hold, %d with", without, with)
	if with*2 > without {
		t.Fatalf("a hold should at least halve the context switches: %d without, %d with", without, with)
	}
}

// TestTicker is the other process of TestHoldQuietsSysmon: a byte every 2 ms
// on stdout for 3 s at most.
func TestTicker(t *testing.T) {
	if os.Getenv("SYSMON_TICKER") == "" {
		t.Skip("the helper process of TestHoldQuietsSysmon")
	}
	for range 1500 {
		if _, err := os.Stdout.Write([]byte{'.'}); err != nil {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// switches sums the voluntary context switches of every thread of the process.
func switches(t *testing.T) uint64 {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads in /proc/self/task: %v", err)
	}
	var n uint64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that ended meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				x, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				n += x
			}
		}
	}
	return n
}

// TestCloseEndsTheHold: Close returns within a few periods and leaves no
// goroutine behind; nil holds and GOMAXPROCS 1 (nothing held, nothing
// raised) close too.
func TestCloseEndsTheHold(t *testing.T) {
	base := runtime.NumGoroutine()
	h := Start()
	start := time.Now()
	h.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	var none *Hold
	none.Close()
	prev := runtime.GOMAXPROCS(1)
	one := Start()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS 1 raised to %d", got)
	}
	one.Close()
	runtime.GOMAXPROCS(prev)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines after Close, %d before", n, base)
	}
}

// TestHoldsShareOneHold: two users (two servers in one process, as the
// tests run them) share one hold; GOMAXPROCS is raised once and given back
// when the last one leaves.
func TestHoldsShareOneHold(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	if procs < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	a, b := Start(), Start()
	if got := runtime.GOMAXPROCS(0); got != procs+extraProcs {
		t.Fatalf("GOMAXPROCS %d with two holds, want %d", got, procs+extraProcs)
	}
	a.Close()
	if got := runtime.GOMAXPROCS(0); got != procs+extraProcs {
		t.Fatalf("GOMAXPROCS %d after the first Close, want %d", got, procs+extraProcs)
	}
	b.Close()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Fatalf("GOMAXPROCS %d after the last Close, want %d", got, procs)
	}
}

// TestYieldKeepsThePInLongCalls runs what a program tick does under a hold:
// every 20 ms, 16 ms of work in back-to-back system calls (4 ms each, like
// a compose and an encode in cgo) without blocking in between. Without Yield
// sysmon retakes the P in nearly every tick's later calls and polls at
// 20 µs after each; with Yield before each call it retakes none, and the
// process switches a fraction as often (measured: 8 100–8 600 and 910 in a
// second; 3 400 and 980 with both cores kept busy by other processes).
func TestYieldKeepsThePInLongCalls(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	h := Start()
	defer h.Close()
	run := func(yield bool) uint64 {
		before := switches(t)
		work := syscall.NsecToTimespec(int64(4 * time.Millisecond))
		next := time.Now()
		for range 50 { // a second of ticks
			next = next.Add(20 * time.Millisecond)
			for range 4 {
				if yield {
					Yield()
				}
				syscall.Nanosleep(&work, nil)
			}
			time.Sleep(time.Until(next))
		}
		return switches(t) - before
	}
	without := run(false)
	with := run(true)
	t.Logf("context switches in a second of 16 ms ticks: %d without Yield, %d with", without, with)
	if with*2 > without {
		t.Fatalf("Yield should at least halve the context switches: %d without, %d with", without, with)
	}
}
