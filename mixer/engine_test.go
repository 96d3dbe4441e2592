package mixer

import (
	"bytes"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"switchyard/media/av"
	"switchyard/mixer/clock"
)

// x264Threads encodes one program frame with the engine's encoder and
// returns x264's own account of its threads (from the settings it writes
// into the first keyframe), e.g. "threads=1 lookahead_threads=1".
func x264Threads(t *testing.T, cfg Config) string {
	t.Helper()
	e, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var out []byte
	if err := e.targets.program().enc.Encode(e.black, 0, true, func(p av.Packet) { out = append(out, p.Data...) }); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(out, []byte(" threads="))
	if i < 0 {
		t.Fatalf("no x264 settings in the first frame (%d bytes)", len(out))
	}
	end := bytes.IndexByte(out[i+1:], ' ')
	return string(out[i+1 : i+1+end])
}

// TestEncodeThreadsBySize: a program up to 720p is encoded on one x264
// thread (no per-frame slice threads to wake), a larger one on x264's own
// choice, and an explicit count is used as given.
func TestEncodeThreadsBySize(t *testing.T) {
	base := Config{FPSNum: 30, FPSDen: 1, VideoBitrateBPS: 2_000_000, AudioBitrateBPS: 128_000}
	c720 := base
	c720.Width, c720.Height = 1280, 720
	if got := x264Threads(t, c720); got != "threads=1" {
		t.Errorf("720p program: x264 runs %s, want threads=1", got)
	}
	c1080 := base
	c1080.Width, c1080.Height = 1920, 1080
	if got := x264Threads(t, c1080); runtime.NumCPU() > 1 && got == "threads=1" {
		t.Errorf("1080p program on %d CPUs: x264 runs %s, want its own choice of more", runtime.NumCPU(), got)
	}
	c1080.EncodeThreads = 3
	if got := x264Threads(t, c1080); got != "threads=3" {
		t.Errorf("1080p program with EncodeThreads 3: x264 runs %s", got)
	}
}

// TestClockKeepsTimeThroughASlowEncode: the clock composes the next frames
// while an encode is held up (a keyframe, a busy moment of the host), so a
// slow encode does not hold the pictures after it; held longer than the
// frames in flight cover, the frames leave late and are counted late.
func TestClockKeepsTimeThroughASlowEncode(t *testing.T) {
	e, err := New(Config{Width: 320, Height: 180, FPSNum: 30, FPSDen: 1, VideoBitrateBPS: 500_000, AudioBitrateBPS: 128_000},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	current := func() int64 {
		e.sw.mu.Lock()
		defer e.sw.mu.Unlock()
		return e.sw.current
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not in 10 s (composed up to frame %d, %+v)", what, current(), e.Stats())
			}
		}
	}
	e.Start()
	waitFor("3 program frames out", func() bool { return e.Stats().FramesOut >= 3 })

	e.targets.encoding.Lock() // the encode of the next frame waits here
	locked := true
	defer func() { // before Close, which waits for the encode
		if locked {
			e.targets.encoding.Unlock()
		}
	}()
	held := current()
	waitFor("the clock composing two frames past an encode held up", func() bool { return current() >= held+2 })
	// hold the encode until the frames in flight are past their time
	time.Sleep(time.Until(e.Started().Add(e.cfg.frameTime(held+2) + 4*e.cfg.FrameDuration())))
	late := e.Stats().Late
	e.targets.encoding.Unlock()
	locked = false
	waitFor("the frames held counted late", func() bool { return e.Stats().Late > late })
	out := e.Stats().FramesOut
	waitFor("program frames again", func() bool { return e.Stats().FramesOut >= out+3 })
	// the frames composed in time and held in the encoder are late for the
	// encode; those composed after the free frames ran out, for the backlog
	st := e.Stats()
	if st.LateBy[clock.LateEncode] == 0 || st.LateBy[clock.LateBacklog] == 0 {
		t.Fatalf("late by cause %v: the held encode makes frames late for the encode and then for the backlog", st.LateBy)
	}
	if st.LeftMaxMs < float64(4*e.cfg.FrameDuration()/time.Millisecond) {
		t.Fatalf("the latest frame left %.1f ms after its time; held over 4 frames", st.LeftMaxMs)
	}
	if st.LastLate == nil || st.LastLate.Cause == "" {
		waitFor("the last late frame described", func() bool { return e.Stats().LastLate != nil })
	}
	if st := e.Stats(); st.Dropped != 0 {
		t.Fatalf("%d frames dropped for an encode held %d frames", st.Dropped, current()-held)
	}
	// Where the encode loop's thread is the program's own (raised: root, as
	// in CI), the clock looked at it while it was held: asleep on the lock,
	// a futex, which the late frame's description says.
	if e.lateness.EncodeTid.Load() == 0 {
		t.Log("the encode loop's thread is not raised here: no look at it to check")
		return
	}
	last := e.Stats().LastLate
	if last.Cause == clock.LateClock {
		// a frame late for the clock (the machine held the clock back:
		// tests share 2 cores) took the description's place; the held
		// encode's frames are counted late for the encode above
		t.Logf("the last late frame is another's (frame %d, late for the clock): no look at the held encode to check", last.Frame)
		return
	}
	s := last.Stall
	if s == nil || !s.Taken || len(s.Threads) == 0 {
		t.Fatalf("the late frame's description has no look at the encode loop held on its lock: %+v", e.Stats().LastLate)
	}
	th := s.Threads[0]
	if th.Role != "encode loop" || th.State != "S" || !strings.Contains(th.Wchan+" "+th.Stack, "futex") {
		t.Fatalf("the encode loop held on a lock: %+v, want asleep on a futex (%s)", th, s)
	}
	// and the Go runtime's look at its goroutine says which: the lock in output
	if g := s.Goroutine; g == nil || !strings.Contains(g.Stack, "sync.(*Mutex).Lock mutex.go:") || !strings.Contains(g.Stack, "<switchyard/mixer.(*Engine).output engine.go:") {
		t.Fatalf("the encode loop's goroutine: %+v, want parked on the encode lock in output (%s)", g, s)
	}
	t.Logf("look at the held encode loop: %s", s)
}
