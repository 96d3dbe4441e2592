package mixer

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
)

// threadStat reads a thread's stat from /proc: its fields after the
// command, fields[0] being field 3 (state); alive is false when the thread
// is gone. A stat it cannot parse reads as no fields.
func threadStat(statPath string) (fields []string, alive bool) {
	b, err := os.ReadFile(statPath)
	if err != nil {
		return nil, false
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:]), true
}

// statInt is field n of a thread's stat, or -100 (which no check accepts)
// when it cannot be read.
func statInt(fields []string, n int) int {
	if len(fields) <= n-3 {
		return -100
	}
	v, err := strconv.Atoi(fields[n-3])
	if err != nil {
		return -100
	}
	return v
}

// threadNice reads a thread's nice value (field 19 of stat).
func threadNice(statPath string) (nice int, alive bool) {
	fields, alive := threadStat(statPath)
	return statInt(fields, 19), alive
}

// TestDecodeThreadsYieldToTheProgram: a decoding goroutine runs on a thread
// of its own below the process's priority (decodeInUseNice; decodeNice when
// its source is quiet), and when it ends its thread goes back to the
// process's priority before any other goroutine may run on it — or, where
// the priority cannot be raised again, goes away with it. No other
// goroutine ever runs at a decoder's priority.
func TestDecodeThreadsYieldToTheProgram(t *testing.T) {
	for _, denied := range []bool{false, true} {
		t.Run(map[bool]string{false: "raise allowed", true: "raise denied"}[denied], func(t *testing.T) {
			if !denied && os.Geteuid() != 0 {
				t.Skip("raising a thread's priority again needs root or CAP_SYS_NICE")
			}
			raiseDenied.Store(denied)
			defer raiseDenied.Store(false)
			type result struct {
				tid, inUse, quiet int
			}
			// A goroutine that exits locked to the main thread wedges it rather
			// than ending it; the next try lands on another thread.
			var r result
			for range 2 {
				got := make(chan result, 1)
				go func() {
					lockDecodeThread()
					defer releaseDecodeThread()
					a, _ := threadNice("/proc/thread-self/stat")
					lowerThreadPriority()
					b, _ := threadNice("/proc/thread-self/stat")
					got <- result{syscall.Gettid(), a, b}
				}()
				if r = <-got; r.tid != os.Getpid() {
					break
				}
			}
			if want := min(processNice()+decodeInUseNice, 19); r.inUse != want {
				t.Fatalf("a decoder in use at nice %d, want %d", r.inUse, want)
			}
			if want := min(processNice()+decodeNice, 19); r.quiet != want {
				t.Fatalf("a quiet decoder at nice %d, want %d", r.quiet, want)
			}
			task := filepath.Join("/proc/self/task", strconv.Itoa(r.tid), "stat")
			deadline := time.Now().Add(5 * time.Second)
			for {
				n, alive := threadNice(task)
				if !alive || n == ordinaryNice() {
					if alive && denied {
						t.Fatal("a thread that could not be raised again stayed on")
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the decoding thread outlived its goroutine at nice %d: it could run other goroutines at low priority", n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			tasks, _ := filepath.Glob("/proc/self/task/*/stat")
			for _, p := range tasks {
				if p == filepath.Join("/proc/self/task", strconv.Itoa(os.Getpid()), "stat") {
					continue // possibly wedged by the first try
				}
				if n, alive := threadNice(p); alive && n != ordinaryNice() {
					t.Errorf("%s: nice %d after the decoder stopped, the ordinary threads' is %d", p, n, ordinaryNice())
				}
			}
		})
	}
}

// TestQuietSourcesDecodeAtLowerPriority: a source the program neither shows
// nor hears decodes on a lowered thread; one it shows, or hears (audio mode
// on), at the process's priority. Brought back into use, a lowered source's
// decoding goes back to the process's priority at once — its thread raised
// again where the process may, else moved to a fresh goroutine — and goes on
// decoding; nothing is left behind when the engine closes.
func TestQuietSourcesDecodeAtLowerPriority(t *testing.T) {
	for _, denied := range []bool{false, true} {
		t.Run(map[bool]string{false: "raise allowed", true: "raise denied"}[denied], func(t *testing.T) {
			raiseDenied.Store(denied)
			defer raiseDenied.Store(false)
			h0 := handOvers.Load()
			quietSourcesDecodeAtLowerPriority(t)
			// one source (cam2) came back into use
			switch h := handOvers.Load() - h0; {
			case denied && h != 1:
				t.Fatalf("%d hand-overs with the raise denied, want 1 (cam2 back in use)", h)
			case !denied && h != 0 && os.Geteuid() == 0:
				t.Fatalf("%d hand-overs as root: a lowered thread should have been raised and kept", h)
			}
		})
	}
}

func quietSourcesDecodeAtLowerPriority(t *testing.T) {
	const fps, gop = 30, 10
	before := runtime.NumGoroutine()
	e, err := New(Config{Width: 320, Height: 180, FPSNum: fps, FPSDen: 1, VideoBitrateBPS: 500_000, AudioBitrateBPS: 128_000},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	track, aus := testGOP(t, fps, gop)
	names := []string{"cam1", "cam2", "cam3"}
	streams := map[string]*media.Stream{}
	for _, n := range names {
		streams[n] = media.NewStream()
		streams[n].SetTracks(track)
		if err := e.sw.AddInput(n, streams[n], 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, set := range []func(string) (bus.State, error){e.sw.SetProgram, e.sw.SetPreview} {
		if _, err := set("cam1"); err != nil {
			t.Fatal(err)
		}
	}
	on := audio.ModeOn
	if _, err := e.sw.SetAudio("cam3", audio.Patch{Mode: &on}); err != nil { // a presenter's mic
		t.Fatal(err)
	}
	// each input's reader is made by its own goroutine: offer the first
	// keyframe until every input has decoded it
	for _, name := range names {
		for deadline := time.Now().Add(10 * time.Second); e.sw.ins.m[name].frames.Load() == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s decoded no picture in 10 s", name)
			}
			streams[name].WriteUnit(&aus[0])
		}
	}
	n := int64(gop) // on from the next keyframe
	// step gives every source a picture, waits for it decoded, then ticks
	step := func() {
		want := map[string]uint64{}
		for _, name := range names {
			want[name] = e.sw.ins.m[name].frames.Load() + 1
			u := aus[n%gop]
			u.PTS = time.Duration(n) * time.Second / fps
			u.DTS = u.PTS
			streams[name].WriteUnit(&u)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			done := true
			for _, name := range names {
				done = done && e.sw.ins.m[name].frames.Load() >= want[name]
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("frame %d: not decoded in 10 s", n)
			}
		}
		e.tick(n)
		n++
	}
	lowered := func() (got []string) {
		for _, name := range names {
			if e.sw.ins.m[name].lowered.Load() {
				got = append(got, name)
			}
		}
		return got
	}
	expect := func(what string, want ...string) {
		t.Helper()
		for range 2*hideAfter + 2 {
			step()
		}
		if got := lowered(); !slices.Equal(got, want) {
			t.Fatalf("%s: lowered %v, want %v", what, got, want)
		}
	}
	expect("cam1 on both buses, cam3 heard", "cam2")
	for _, set := range []func(string) (bus.State, error){e.sw.SetProgram, e.sw.SetPreview} {
		if _, err := set("cam2"); err != nil {
			t.Fatal(err)
		}
	}
	frames := e.sw.ins.m["cam2"].frames.Load()
	expect("cam2 on both buses", "cam1")
	if got := e.sw.ins.m["cam2"].frames.Load(); got < frames+2*hideAfter+2 {
		t.Fatalf("cam2 decoded %d pictures after it went on air, want every one", got-frames)
	}
	off := audio.ModeOff
	if _, err := e.sw.SetAudio("cam3", audio.Patch{Mode: &off}); err != nil {
		t.Fatal(err)
	}
	expect("cam3 no longer heard", "cam1", "cam3")
	e.Close()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the engine closed, %d before", runtime.NumGoroutine(), before)
		}
	}
}

// threadSched reads a thread's scheduling policy, real-time priority and
// nice value (fields 41, 40 and 19 of stat) in one read, so a thread that
// ends between two reads is not seen half alive.
func threadSched(statPath string) (policy, rtprio, nice int, alive bool) {
	fields, alive := threadStat(statPath)
	return statInt(fields, 41), statInt(fields, 40), statInt(fields, 19), alive
}

// Scheduling policies beside schedOther and schedRR (sched(7)).
const (
	schedFIFO = 1
	schedIdle = 5
)

// TestProgramThreadsRunRaised: the clock's thread, the encode loop's and
// the program encoder's threads run in real time (SCHED_RR at
// programRTPriority) where the process may (as root); programNice above the
// process where only nice may be raised; at its priority where nothing may
// be; and no thread stays raised once the engine is closed.
func TestProgramThreadsRunRaised(t *testing.T) {
	for _, want := range []programPriority{realTime, raisedNice, atProcessPriority} {
		t.Run(want.String(), func(t *testing.T) {
			if want != atProcessPriority && os.Geteuid() != 0 {
				t.Skip("raising a thread's priority needs root or CAP_SYS_NICE")
			}
			raiseDenied.Store(want == atProcessPriority)
			realTimeDenied.Store(want == raisedNice)
			defer func() { raiseDenied.Store(false); realTimeDenied.Store(false) }()
			// raised counts the threads at either raised priority; wrong, those
			// raised otherwise than want
			raised := func() (n, wrong int) {
				tasks, _ := filepath.Glob("/proc/self/task/*/stat")
				watcher := fmt.Sprintf("/proc/self/task/%d/stat", av.ReturnWatcherTid())
				for _, p := range tasks {
					policy, prio, nice, alive := threadSched(p)
					var got programPriority
					switch {
					case !alive || p == watcher:
						continue
					case policy == schedRR && (prio == programRTPriority || prio == clockRTPriority),
						policy == schedIdle: // a watched thread lowered for a moment (av.ReturnWatch)
						got = realTime
					case policy == schedOther && nice == max(ordinaryNice()-programNice, -20):
						got = raisedNice
					case policy == schedOther && nice >= ordinaryNice():
						continue
					default:
						t.Errorf("%s: policy %d, real-time priority %d, nice %d: neither the program's nor the process's", p, policy, prio, nice)
						continue
					}
					n++
					if got != want {
						wrong++
					}
				}
				return n, wrong
			}
			if n, _ := raised(); n != 0 {
				t.Fatalf("%d threads raised before the engine opened", n)
			}
			e, err := New(Config{Width: 1280, Height: 720, FPSNum: 30, FPSDen: 1, VideoBitrateBPS: 2_000_000,
				AudioBitrateBPS: 128_000, EncodeThreads: 2}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			encoder, wrong1 := raised()
			e.Start()
			for deadline := time.Now().Add(10 * time.Second); e.Stats().FramesOut < 3; {
				if time.Now().After(deadline) {
					e.Close()
					t.Fatal("no program frame in 10 s")
				}
				time.Sleep(10 * time.Millisecond)
			}
			running, wrong2 := raised()
			if want == realTime {
				// The clock's and the encode loop's returns from C are watched
				// by a thread of av's in real time above them.
				tid := av.ReturnWatcherTid()
				if tid == 0 {
					e.Close()
					t.Fatal("no return watcher running in real time")
				}
				policy, prio, _, alive := threadSched(fmt.Sprintf("/proc/self/task/%d/stat", tid))
				if !alive || policy != schedFIFO || prio <= clockRTPriority {
					e.Close()
					t.Fatalf("the return watcher: policy %d, real-time priority %d (alive %v); want SCHED_FIFO above %d", policy, prio, alive, clockRTPriority)
				}
			}
			e.Close()
			switch {
			case wrong1+wrong2 != 0:
				t.Fatalf("%d threads raised otherwise than %s", wrong1+wrong2, want)
			case want == atProcessPriority && encoder+running != 0:
				t.Fatalf("%d threads raised with the encoder open and %d running, with the raise denied", encoder, running)
			case want != atProcessPriority && encoder < 1:
				t.Fatalf("the encoder's slice threads are not raised (%d raised threads)", encoder)
			case want != atProcessPriority && running != encoder+2:
				t.Fatalf("%d raised threads with the program running, want the encoder's %d, the clock's and the encode loop's", running, encoder)
			}
			for deadline := time.Now().Add(5 * time.Second); ; {
				n, _ := raised()
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d threads still raised after Close", n)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestRuntimeThreadsRaised: where the process may (as root), the Go
// runtime's ordinary threads run runtimeNice above the process — those
// there at the raise and those the runtime starts later — so the timers and
// the wake-ups of the program's real-time goroutines never wait among the
// machine's other busy processes. Where it may not, nothing changes.
func TestRuntimeThreadsRaised(t *testing.T) {
	if os.Geteuid() != 0 {
		require.False(t, raiseRuntimeThreads(), "raising needs root or CAP_SYS_NICE")
		require.Equal(t, processNice(), ordinaryNice())
		return
	}
	require.True(t, raiseRuntimeThreads())
	require.Equal(t, processNice()-runtimeNice, ordinaryNice())
	before := map[string]bool{}
	tasks, _ := filepath.Glob("/proc/self/task/*/stat")
	for _, p := range tasks {
		before[p] = true
	}
	// Make the runtime start threads: goroutines blocked in system calls
	// each hold one.
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fds [2]int
			if err := syscall.Pipe(fds[:]); err != nil {
				return
			}
			defer syscall.Close(fds[0])
			defer syscall.Close(fds[1])
			go func() { <-release; _, _ = syscall.Write(fds[1], []byte{1}) }()
			_, _ = syscall.Read(fds[0], make([]byte, 1)) // blocks its thread
		}()
	}
	var fresh []string
	deadline := time.Now().Add(10 * time.Second)
	for len(fresh) < 4 && time.Now().Before(deadline) {
		fresh = fresh[:0]
		tasks, _ = filepath.Glob("/proc/self/task/*/stat")
		for _, p := range tasks {
			if !before[p] {
				fresh = append(fresh, p)
			}
		}
		time.Sleep(10 * time.Millisecond) // polling /proc; bounded by the deadline
	}
	require.GreaterOrEqual(t, len(fresh), 4, "the runtime started threads for the blocked goroutines")
	for _, p := range fresh {
		policy, _, nice, alive := threadSched(p)
		if alive && policy == schedOther && nice < processNice()+decodeInUseNice {
			require.Equal(t, ordinaryNice(), nice, "%s: a thread the runtime started after the raise", p)
		}
	}
	for _, p := range tasks {
		policy, _, nice, alive := threadSched(p)
		if alive && policy == schedOther {
			require.NotEqual(t, processNice(), nice, "%s: no ordinary thread is left at the process's nice value", p)
		}
	}
	close(release)
	wg.Wait()
}
