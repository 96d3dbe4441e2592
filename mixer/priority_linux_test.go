package mixer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// threadNice reads a thread's nice value from /proc (field 19 of stat);
// alive is false when the thread is gone. A stat it cannot parse reads as
// nice -100, which no check accepts.
func threadNice(statPath string) (nice int, alive bool) {
	b, err := os.ReadFile(statPath)
	if err != nil {
		return 0, false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 17 {
		return -100, true
	}
	n, err := strconv.Atoi(fields[16]) // state is field 3; nice is field 19
	if err != nil {
		return -100, true
	}
	return n, true
}

// TestDecodeThreadsYieldToTheProgram: a decoding goroutine runs on a thread
// of its own at a lower priority, and that thread goes away with it, so no
// other goroutine ever runs at the lowered priority.
func TestDecodeThreadsYieldToTheProgram(t *testing.T) {
	type result struct {
		tid, nice int
		ok        bool
	}
	// A goroutine that exits locked to the main thread wedges it rather than
	// ending it (the runtime cannot end the main thread); it then runs
	// nothing else, and the next try lands on another thread.
	var r result
	for range 2 {
		got := make(chan result, 1)
		go func() {
			lowerDecodePriority()
			n, ok := threadNice("/proc/thread-self/stat")
			got <- result{syscall.Gettid(), n, ok}
		}()
		if r = <-got; r.tid != os.Getpid() {
			break
		}
	}
	if !r.ok || r.nice != decodeNice {
		t.Fatalf("decode thread nice %d (read %v), want %d", r.nice, r.ok, decodeNice)
	}
	task := filepath.Join("/proc/self/task", strconv.Itoa(r.tid), "stat")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, alive := threadNice(task); !alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lowered thread outlived its goroutine: it could run other goroutines at low priority")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/stat")
	for _, p := range tasks {
		if p == filepath.Join("/proc/self/task", strconv.Itoa(os.Getpid()), "stat") {
			continue // possibly wedged by the first try
		}
		if n, alive := threadNice(p); alive && n != 0 {
			t.Errorf("%s: nice %d after the decoder stopped", p, n)
		}
	}
}
