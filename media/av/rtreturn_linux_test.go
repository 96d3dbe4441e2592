package av

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// returnChild is the environment variable that runs
// TestReturnWatchLetsTheCollectorFinish's child: "control" (a thread let
// go only after 50 ms out of C, so the hold is measured, and bounded) or
// "watched" (the watch as the program's threads have it).
const returnChild = "SY_RTRETURN_CHILD"

type returnRun struct {
	Skip     string  `json:"skip,omitempty"`
	Calls    int     `json:"calls"`
	GCs      uint32  `json:"gcs"`
	MaxHeld  float64 `json:"max_held_ms"`
	Over5ms  int     `json:"over_5ms"`
	Rescues  int64   `json:"rescues"`
	Longest  float64 `json:"longest_ms"`
	Duration float64 `json:"duration_s"`
}

// TestReturnWatchLetsTheCollectorFinish makes the hold ReturnWatch cures,
// on one CPU: a thread in real time sleeps in C again and again with a deep
// stack, so the garbage collector's stack scan of its goroutine — an
// ordinary thread's work — is often under way when the sleep ends; the
// real-time thread preempts the scanner and spins in the runtime's
// exitsyscall until the scan is done, which on one CPU is when the kernel's
// real-time throttling next gives ordinary threads a turn (up to 950 ms of
// each second). In the control, let go only after 50 ms, a return is held
// that long — the setup makes the hold; watched as the program's threads
// are, the watcher lowers the spinner after 1 ms and every return is back
// within a few milliseconds. Each run in a child process pinned to CPU 0, as
// root (real time); skipped where the process may not run in real time.
func TestReturnWatchLetsTheCollectorFinish(t *testing.T) {
	if mode := os.Getenv(returnChild); mode != "" {
		returnChildRun(mode)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	run := func(mode string) returnRun {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestReturnWatchLetsTheCollectorFinish$", "-test.v=false")
		cmd.Env = append(os.Environ(), returnChild+"="+mode)
		done := make(chan struct{})
		timer := time.AfterFunc(60*time.Second, func() { // bounded: the child stops itself within ~10 s
			select {
			case <-done:
			default:
				_ = cmd.Process.Kill()
			}
		})
		out, err := cmd.Output()
		close(done)
		timer.Stop()
		if err != nil {
			t.Fatalf("%s child: %v\n%s", mode, err, out)
		}
		var r returnRun
		for _, line := range bytes.Split(out, []byte("\n")) {
			if json.Unmarshal(line, &r) == nil && (r.Calls > 0 || r.Skip != "") {
				break
			}
		}
		if r.Skip != "" {
			t.Skip(r.Skip)
		}
		if r.Calls == 0 {
			t.Fatalf("%s child said nothing:\n%s", mode, out)
		}
		t.Logf("%s: %+v", mode, r)
		return r
	}
	control := run("control")
	if control.MaxHeld < 20 || control.Rescues == 0 {
		t.Fatalf("let go after 50 ms, the longest return from C was held %.1f ms in %d GC cycles (%d let go): the setup did not make the hold it is to cure",
			control.MaxHeld, control.GCs, control.Rescues)
	}
	watched := run("watched")
	if watched.MaxHeld > 10 {
		t.Fatalf("watched, a return from C was held %.1f ms (%d over 5 ms of %d, in %d GC cycles): the watcher did not let the collector finish", watched.MaxHeld, watched.Over5ms, watched.Calls, watched.GCs)
	}
	if watched.Rescues == 0 || watched.Longest <= 1 || watched.Longest > watched.MaxHeld+0.001 {
		t.Fatalf("watched: %d rescues, longest %.2f ms (of %.2f ms at most)", watched.Rescues, watched.Longest, watched.MaxHeld)
	}
}

func returnChildRun(mode string) {
	say := func(r returnRun) {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
	// Every thread of the process on CPU 0; threads started later inherit it.
	pin := func() error {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		mask := uint64(1)
		for _, e := range entries {
			tid, _ := strconv.Atoi(e.Name())
			if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), 8, uintptr(unsafe.Pointer(&mask))); errno != 0 && errno != syscall.ESRCH {
				return errno
			}
		}
		return nil
	}
	if err := pin(); err != nil {
		say(returnRun{Skip: "cannot pin to CPU 0: " + err.Error()})
		return
	}
	if mode == "control" {
		watchAfter.Store(int64(50 * time.Millisecond))
	}

	var stop atomic.Bool
	result := make(chan returnRun, 1)
	go func() {
		runtime.LockOSThread()
		param := struct{ priority int32 }{11}
		if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, 2 /* SCHED_RR */, uintptr(unsafe.Pointer(&param))); e != 0 {
			result <- returnRun{Skip: "no real time: " + e.Error()}
			return
		}
		w := WatchReturns()
		if w == nil {
			result <- returnRun{Skip: "no watcher"}
			return
		}
		defer w.Close()
		var r returnRun
		x := 1
		deepStack(2000, &x, func() {
			for !stop.Load() {
				held := w.Sleep(200 * time.Microsecond)
				r.Calls++
				if ms := float64(held) / 1e6; ms > r.MaxHeld {
					r.MaxHeld = ms
				}
				if held > 5*time.Millisecond {
					r.Over5ms++
				}
			}
		})
		result <- r
	}()
	// Garbage and collections for half a second and 8 cycles, or 8 s: each
	// cycle scans the sleeper's stack.
	start := time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0 := ms.NumGC
	var keep [][]byte
	for i := 0; time.Since(start) < 8*time.Second; i++ {
		keep = append(keep, make([]byte, 64<<10))
		if len(keep) > 64 {
			keep = keep[:0]
		}
		if i%256 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.NumGC-gc0 >= 8 && time.Since(start) > 500*time.Millisecond {
				break
			}
		}
	}
	stop.Store(true)
	r := <-result
	runtime.ReadMemStats(&ms)
	r.GCs = ms.NumGC - gc0
	n, longest := Rescues()
	r.Rescues, r.Longest = n, float64(longest)/1e6
	r.Duration = time.Since(start).Seconds()
	say(r)
}

// deepStack calls f under n frames that each hold pointers, so a scan of
// the goroutine's stack takes a while.
//
//go:noinline
func deepStack(n int, p *int, f func()) {
	var a [8]*int
	for i := range a {
		a[i] = p
	}
	if n == 0 {
		f()
		return
	}
	deepStack(n-1, a[n%8], f)
	runtime.KeepAlive(a)
}
