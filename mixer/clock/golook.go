package clock

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"
)

// A thread look (stall.go) says where the encode loop's thread sleeps in the
// kernel; when that is a futex on its own M's word, its goroutine is parked
// in Go — on a lock, a channel, or waiting for a P to run on after a call
// into C — and only the Go runtime can say which. So a look at a held-up
// encode loop also asks the goroutine looker for the encode loop's Go
// stack: the runtime's goroutine profile (taken concurrently: the world
// stops for about a tenth of a millisecond whatever the goroutines, where a
// full dump, runtime.Stack, stops it for 2 ms at 300 goroutines and 5–7 at
// 1,000), the stack that names the encode loop (Lateness.EncodeFunc)
// kept. The profile leaves out the runtime's own frames: a lock shows as
// its semaphore's acquire, a channel or a select as the line of the
// encode loop that waits, a call into C as its _Cfunc_ (with the thread
// parked on its M's word: the call returned and waits for a P). At most
// once every goLookEvery, and only when the program is already held up.
// The looker is a goroutine of its own, not the clock (which must not
// block); when it could not run at once (every P busy), how long it waited
// is told too.

// goLookEvery is the least time between two goroutine looks.
const goLookEvery = 10 * time.Second

// goLookWait is how long the sampler waits for a goroutine look asked for a
// late frame it is about to describe.
const goLookWait = 200 * time.Millisecond

// GoroutineLook is the encode loop's goroutine as the Go runtime saw it
// while the encode loop was held up.
type GoroutineLook struct {
	// AfterMs is how long after the thread look that asked for it the
	// goroutines were read (the looker waiting for a P to run on, when more
	// than a moment). A hold-up over a second has a second thread look on
	// the same frame, which carries the same goroutine look: after the
	// first thread look, not its own.
	AfterMs float64 `json:"after_ms"`
	// Stack is its innermost Go functions, innermost first, each with its
	// file and line ("sync.(*Mutex).Lock mutex.go:46<…"); "not found" when
	// no goroutine was running the encode loop.
	Stack string `json:"stack"`
}

type goLookReq struct {
	frame int64
	at    time.Time
}

type goLookRes struct {
	frame int64
	look  GoroutineLook
}

// goLooker carries the requests from the clock and the looks to the sampler.
type goLooker struct {
	req    chan goLookReq // from the clock; never blocks it
	res    chan goLookRes // to the sampler
	lastNs atomic.Int64   // the last request's time (clock only)
	asked  atomic.Int64   // the frame of the look asked for and not yet in (0: none)
}

func newGoLooker() *goLooker {
	return &goLooker{req: make(chan goLookReq, 1), res: make(chan goLookRes, 2)}
}

// ask requests a look for frame, at most once every goLookEvery; it neither
// blocks nor allocates (the clock's).
func (g *goLooker) ask(frame int64, now time.Time) {
	if now.UnixNano()-g.lastNs.Load() < int64(goLookEvery) {
		return
	}
	prev := g.asked.Swap(frame) // before the looker can answer
	select {
	case g.req <- goLookReq{frame: frame, at: now}:
		g.lastNs.Store(now.UnixNano())
	default:
		g.asked.CompareAndSwap(frame, prev)
	}
}

// run answers the requests until ctx ends, reading the goroutine whose
// stack names fn.
func (g *goLooker) run(ctx context.Context, fn string) {
	var buf bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-g.req:
			at := time.Now()
			buf.Reset()
			stack := "not found"
			if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err == nil {
				if s := findGoroutine(buf.Bytes(), fn); s != "" {
					stack = s
				}
			}
			select {
			case g.res <- goLookRes{frame: r.frame, look: GoroutineLook{AfterMs: millis(at.Sub(r.at)), Stack: stack}}:
			default:
			}
		}
	}
}

// findGoroutine returns the innermost frames (up to eight, "fn file:line"
// joined by "<") of the stack in a goroutine profile (debug=1 text) that
// has fn among its frames; "" when none has.
func findGoroutine(profile []byte, fn string) string {
	for block := range bytes.SplitSeq(profile, []byte("\n\n")) {
		// a frame: "#\t0x4d9435\tmain.heldOnALock+0x55\t\t/tmp/main.go:13"
		var frames []string
		found := false
		for l := range bytes.Lines(block) {
			f := bytes.Fields(l)
			if len(f) < 4 || !bytes.Equal(f[0], []byte("#")) {
				continue
			}
			name := f[2]
			if i := bytes.LastIndex(name, []byte("+0x")); i > 0 {
				name = name[:i]
			}
			found = found || string(name) == fn
			if len(frames) < 8 {
				frames = append(frames, string(name)+" "+filepath.Base(string(f[3])))
			}
		}
		if found && fn != "" {
			return strings.Join(frames, "<")
		}
	}
	return ""
}

// takeGoLooks sets the goroutine looks that came in beside the thread
// looks they were asked with (l.recent; a copy, as a look may have been
// handed out), waiting up to goLookWait (or until ctx ends) for the one
// asked with look s (a stall about to be described; nil: none) when it
// has not come yet; it returns s as it is then. The sampler's, at each late
// frame and each second (a look asked at a hold-up that made no frame late
// is taken in then, so that the next is not lost).
func (l *Lateness) takeGoLooks(ctx context.Context, s *Stall) *Stall {
	var wait <-chan time.Time
	for {
		var r goLookRes
		select {
		case r = <-l.golook.res:
		default:
			if s == nil || s.Goroutine != nil || l.golook.asked.Load() != s.Frame {
				return s
			}
			if wait == nil {
				wait = time.After(goLookWait)
			}
			select {
			case r = <-l.golook.res:
			case <-wait:
				return s
			case <-ctx.Done():
				return s
			}
		}
		l.takeStalls() // the thread look it was asked with, when it came in meanwhile
		l.golook.asked.CompareAndSwap(r.frame, 0)
		for i, st := range l.recent {
			if st != nil && st.Frame == r.frame && st.Goroutine == nil {
				c := *st
				c.Goroutine = &r.look
				l.recent[i] = &c
				if st == s {
					s = &c
				}
			}
		}
	}
}
