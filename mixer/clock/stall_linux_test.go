package clock

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// parkThread locks a goroutine to its thread and has the thread wait in
// the kernel by wait (a pipe read, a sleep) until release; it returns the
// thread's id.
func parkThread(t *testing.T, wait func(), release func()) int32 {
	t.Helper()
	tid := make(chan int32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // ends with the goroutine: the thread waited in a raw read
		tid <- int32(syscall.Gettid())
		wait()
	}()
	id := <-tid
	t.Cleanup(func() {
		release()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the parked thread did not come back")
		}
	})
	// until the thread sleeps in the kernel
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		b, _ := os.ReadFile("/proc/self/task/" + itoa(id) + "/stat")
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'S' {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d never slept: %s", id, b)
		}
	}
}

// parkInPipeRead parks a thread in a pipe read until the test ends; it
// returns the thread's id.
func parkInPipeRead(t *testing.T) int32 {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() }) // after the thread's release (cleanups run last first)
	rfd := int(r.Fd())              // blocking: the read waits in the kernel, not in the poller
	if err := syscall.SetNonblock(rfd, false); err != nil {
		t.Fatal(err)
	}
	return parkThread(t, func() {
		var b [1]byte
		_, _ = syscall.Read(rfd, b[:])
	}, func() { _, _ = w.Write([]byte{1}); w.Close() })
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

// The clock's look at a held-up encode loop says where its thread and the
// encoders' threads slept in the kernel: here the encode loop's thread in a
// pipe read, an encoder's in a sleep. It takes one look a second, and the
// clock's part neither allocates nor reads anything when there is no
// encode loop thread to look at.
func TestLookAtStall(t *testing.T) {
	encode := parkInPipeRead(t)
	wake := make(chan struct{})
	var encoder int32
	encoder = parkThread(t, func() {
		ts := syscall.NsecToTimespec(int64(time.Second))
		for {
			select {
			case <-wake:
				return
			default:
			}
			_ = syscall.Nanosleep(&ts, nil) // cut short by the signal below
		}
	}, func() { close(wake); _ = syscall.Tgkill(os.Getpid(), int(encoder), syscall.SIGURG) })

	l := NewLateness(slog.New(slog.NewTextHandler(io.Discard, nil)))
	l.LookAtStall(7, 30*time.Millisecond, true)
	select {
	case <-l.stall.filled:
		t.Fatal("a look taken with no encode loop thread to look at")
	default:
	}
	l.EncodeTid.Store(encode)
	l.stall.encoders.Store(&[]int32{encoder})
	l.LookAtStall(7, 30*time.Millisecond, false)
	l.LookAtStall(8, 31*time.Millisecond, true) // within the second: not taken
	l.takeStalls()
	s := l.stallFor(9)
	if s == nil || s.Frame != 7 || s.Taken || s.AfterMs != 30 || len(s.Threads) != 2 {
		t.Fatalf("look %+v: want frame 7, not taken up for 30 ms, two threads", s)
	}
	if l.stallFor(6) != nil || l.stallFor(7+stallSpan+1) != nil {
		t.Fatal("a look set beside a frame before it, or long after")
	}
	root := os.Geteuid() == 0
	for i, want := range []struct {
		tid          int32
		role, fn, sc string
	}{{encode, "encode loop", "pipe_read", "read"}, {encoder, "encoder", "nanosleep", "nanosleep"}} {
		th := s.Threads[i]
		if !strings.HasSuffix(th.Syscall, want.sc) {
			t.Errorf("%s: in system call %q, want %s", want.role, th.Syscall, want.sc)
		}
		if th.Tid != want.tid || th.Role != want.role || th.State != "S" {
			t.Errorf("thread %d: %+v, want %s %d asleep", i, th, want.role, want.tid)
		}
		if !strings.Contains(th.Wchan, want.fn) && !strings.Contains(th.Stack, want.fn) {
			t.Errorf("%s: wchan %q, stack %q: neither names %s", want.role, th.Wchan, th.Stack, want.fn)
		}
		if root && !strings.Contains(th.Stack, want.fn) {
			t.Errorf("%s: kernel stack %q does not name %s (read as root)", want.role, th.Stack, want.fn)
		}
	}
	line := s.String()
	t.Log(line)
	if !strings.Contains(line, "frame 7 not taken up for 30.0 ms; encode loop "+itoa(encode)+" S") ||
		!strings.Contains(line, "encoder "+itoa(encoder)+" S") {
		t.Errorf("log line %q", line)
	}
	// the clock's part allocates nothing
	allocs := testing.AllocsPerRun(20, func() {
		l.stall.lastNs.Store(0)
		l.LookAtStall(9, 40*time.Millisecond, true)
		l.stall.free <- <-l.stall.filled
	})
	if allocs != 0 {
		t.Fatalf("a look allocates %.1f times", allocs)
	}
}

// stallTestWord is a global a test thread waits on, as the runtime's threads
// wait on its locks.
var stallTestWord uint32

// A thread waiting on a futex in a global of the executable — as a Go
// runtime lock is — is said to wait on that global, by name; one waiting on
// a word in the heap — as a thread parked until given a goroutine is — by
// its address.
func TestLookAtStallNamesTheFutex(t *testing.T) {
	futexWait := func(addr *uint32) func() {
		return func() {
			for atomic.LoadUint32(addr) == 0 {
				_, _, _ = syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), _FUTEX_WAIT_PRIVATE, 0, 0, 0, 0)
			}
		}
	}
	futexWake := func(addr *uint32) func() {
		return func() {
			atomic.StoreUint32(addr, 1)
			_, _, _ = syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), _FUTEX_WAKE_PRIVATE, 1, 0, 0, 0)
		}
	}
	heapWord := new(uint32)
	atomic.StoreUint32(&stallTestWord, 0) // woken by a run before (-count)
	global := parkThread(t, futexWait(&stallTestWord), futexWake(&stallTestWord))
	heap := parkThread(t, futexWait(heapWord), futexWake(heapWord))

	l := NewLateness(slog.New(slog.NewTextHandler(io.Discard, nil)))
	l.EncodeTid.Store(global)
	l.stall.encoders.Store(&[]int32{heap})
	l.LookAtStall(1, 40*time.Millisecond, true)
	l.takeStalls()
	s := l.stallFor(1)
	if s == nil || len(s.Threads) != 2 {
		t.Fatalf("look %+v", s)
	}
	t.Log(s)
	want := "futex switchyard/mixer/clock.stallTestWord+0x0"
	if len(executable().symbols) == 0 { // go test strips its binaries: the sections tell a global
		want = "futex a global at 0x" + strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&stallTestWord))), 16)
	}
	if got := s.Threads[0].Syscall; got != want {
		t.Errorf("a thread waiting on a global's futex: %q, want %q", got, want)
	}
	if got, want := s.Threads[1].Syscall, "futex 0x"+strconv.FormatUint(uint64(uintptr(unsafe.Pointer(heapWord))), 16); got != want {
		t.Errorf("a thread waiting on a heap word's futex: %q, want %q", got, want)
	}
}

// futex(2) operations.
const (
	_FUTEX_WAIT_PRIVATE = 128
	_FUTEX_WAKE_PRIVATE = 129
)

// stallTestMu is the lock heldOnALock waits for.
var stallTestMu sync.Mutex

// heldOnALock stands for an encode loop held up on a lock.
//
//go:noinline
func heldOnALock(done chan<- struct{}) {
	stallTestMu.Lock()
	stallTestMu.Unlock()
	close(done)
}

// A look at a held-up encode loop asks the Go runtime where its goroutine
// is (a futex on its M's word says only that it is parked in Go): here on
// a sync.Mutex, named with its state and stack beside the thread look,
// at most once every goLookEvery; the clock's part still allocates
// nothing.
func TestLookAtStallReadsTheGoroutine(t *testing.T) {
	stallTestMu.Lock()
	done := make(chan struct{})
	go heldOnALock(done)
	defer func() { stallTestMu.Unlock(); <-done }()
	thread := parkInPipeRead(t)

	l := NewLateness(slog.New(slog.NewTextHandler(io.Discard, nil)))
	l.EncodeTid.Store(thread)
	l.EncodeFunc = runtime.FuncForPC(reflect.ValueOf(heldOnALock).Pointer()).Name()
	// until the goroutine waits on the lock
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var b bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(findGoroutine(b.Bytes(), l.EncodeFunc), "Mutex).Lock ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the goroutine never waited on the lock")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	looked := make(chan struct{})
	go func() { defer close(looked); l.golook.run(ctx, l.EncodeFunc) }()
	defer func() { cancel(); <-looked }()

	l.LookAtStall(3, 30*time.Millisecond, true)
	l.takeStalls()
	s := l.takeGoLooks(context.Background(), l.stallFor(3))
	if s == nil || s.Goroutine == nil {
		t.Fatalf("look %+v: no look at the goroutine", s)
	}
	g := s.Goroutine
	if !strings.Contains(g.Stack, "sync.(*Mutex).Lock mutex.go:") || !strings.Contains(g.Stack, "heldOnALock stall_linux_test.go:") {
		t.Fatalf("goroutine look %+v: want on the lock, in heldOnALock", g)
	}
	if line := s.String(); !strings.Contains(line, "; its goroutine internal/sync.runtime_SemacquireMutex sema.go:") {
		t.Fatalf("log line %q", line)
	}
	t.Log(s)
	// a look asked at a hold-up that made no frame late is taken in at
	// the sampler's next second (takeGoLooks with none to wait for), so
	// the looks after it are not lost behind it
	for k := int64(10); k < 14; k++ {
		l.stall.lastNs.Store(0)
		l.golook.lastNs.Store(0)
		l.LookAtStall(k, 30*time.Millisecond, true)
		for deadline := time.Now().Add(10 * time.Second); len(l.golook.res) == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no goroutine look for frame %d", k)
			}
		}
		l.takeStalls()
		l.takeGoLooks(context.Background(), nil)
		if s := l.stallFor(k); s == nil || s.Frame != k || s.Goroutine == nil {
			t.Fatalf("look %+v: frame %d's goroutine look not taken in", s, k)
		}
	}
	// the next thread look, within goLookEvery, asks for none
	l.stall.lastNs.Store(0)
	l.LookAtStall(40, 30*time.Millisecond, true)
	l.takeStalls()
	if s := l.takeGoLooks(context.Background(), l.stallFor(40)); s == nil || s.Goroutine != nil {
		t.Fatalf("look %+v: a goroutine look within %s of the last", s, goLookEvery)
	}
	// the clock's part allocates nothing, asking included
	cancel()
	<-looked
	allocs := testing.AllocsPerRun(20, func() {
		l.stall.lastNs.Store(0)
		l.golook.lastNs.Store(0)
		l.LookAtStall(9, 40*time.Millisecond, true)
		l.stall.free <- <-l.stall.filled
		<-l.golook.req
	})
	if allocs != 0 {
		t.Fatalf("a look allocates %.1f times", allocs)
	}
}

// findGoroutine reads the stack that runs a function from a goroutine
// profile: its innermost frames with their files and lines; a function in
// no stack is not found.
func TestFindGoroutine(t *testing.T) {
	profile := []byte("goroutine profile: total 3\n" +
		"1 @ 0x1 0x2\n#\t0x1\tmain.main+0xcd\t\t\t\t/x/main.go:21\n#\t0x2\truntime.main+0x2d4\t\t\t/go/proc.go:290\n\n" +
		"1 @ 0x3 0x4\n#\t0x3\tswitchyard/mixer.watch+0x18\t/x/w.go:5\n\n" +
		"1 @ 0x5 0x6 0x7\n#\t0x5\tsync.(*Mutex).Lock+0xe\t\t\t/go/sync/mutex.go:46\n" +
		"#\t0x6\tswitchyard/mixer.(*Engine).output+0x55\t\t/x/engine.go:497\n" +
		"#\t0x7\tswitchyard/mixer.(*Engine).encodeLoop+0x1a0\t/x/engine.go:470\n")
	want := "sync.(*Mutex).Lock mutex.go:46<switchyard/mixer.(*Engine).output engine.go:497<switchyard/mixer.(*Engine).encodeLoop engine.go:470"
	if got := findGoroutine(profile, "switchyard/mixer.(*Engine).encodeLoop"); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if got := findGoroutine(profile, "switchyard/mixer.(*Engine).encode"); got != "" {
		t.Fatalf("%q for a function in no stack (a prefix of one)", got)
	}
}
