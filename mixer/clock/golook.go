package clock

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// A thread look (stall.go) says where the encode loop's thread sleeps in the
// kernel; when that is a futex on its own M's word, its goroutine is parked
// in Go — on a lock, a channel, or waiting for a P to run on — and only the
// Go runtime can say which. So a look at a held-up encode loop also asks
// the goroutine looker for the encode loop's Go stack: runtime.Stack of
// every goroutine (a stop of the world, so at most once every
// goLookEvery, and only when the program is already held up), the one
// whose frames name the encode loop (Lateness.EncodeFunc) kept. The looker
// is a goroutine of its own, not the clock (which must not block); when it
// could not run at once (every P busy), how long it waited is told too.

// goLookEvery is the least time between two goroutine looks.
const goLookEvery = 10 * time.Second

// goLookBuf bounds the dump read: enough for some thousands of goroutines.
const goLookBuf = 4 << 20

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
	// State is the runtime's word for what the goroutine waits on
	// ("sync.Mutex.Lock", "chan receive", "select"; "syscall": in C or the
	// kernel; "runnable": ready and waiting for a P — or running Go code
	// when the dump stopped the world), as in a goroutine dump.
	State string `json:"state"`
	// Stack is its innermost Go functions, innermost first.
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
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-g.req:
			if buf == nil {
				buf = make([]byte, goLookBuf)
			}
			at := time.Now()
			n := runtime.Stack(buf, true)
			state, stack := findGoroutine(buf[:n], fn)
			if stack == "" {
				state, stack = "not found", ""
			}
			select {
			case g.res <- goLookRes{frame: r.frame, look: GoroutineLook{AfterMs: millis(at.Sub(r.at)), State: state, Stack: stack}}:
			default:
			}
		}
	}
}

// findGoroutine returns the state and the innermost functions (up to
// eight, "a<b<c") of the goroutine in dump (runtime.Stack's text) whose
// frames name fn (one it created names fn only as its creator: not it);
// "" when none does.
func findGoroutine(dump []byte, fn string) (state, stack string) {
	frame := []byte("\n" + fn + "(")
	for block := range bytes.SplitSeq(dump, []byte("\n\n")) {
		if fn == "" || !bytes.Contains(block, frame) {
			continue
		}
		lines := bytes.Split(block, []byte("\n"))
		// "goroutine 12 [semacquire, 2 minutes, locked to thread]:"
		h := lines[0]
		if i, j := bytes.IndexByte(h, '['), bytes.LastIndexByte(h, ']'); i >= 0 && j > i {
			state = string(h[i+1 : j])
			if k := strings.IndexByte(state, ','); k >= 0 {
				state = state[:k]
			}
		}
		var fns []string
		for _, l := range lines[1:] {
			if len(l) == 0 || l[0] == '\t' || bytes.HasPrefix(l, []byte("created by ")) {
				continue
			}
			if i := bytes.LastIndexByte(l, '('); i > 0 {
				l = l[:i]
			}
			fns = append(fns, string(l))
			if len(fns) == 8 {
				break
			}
		}
		return state, strings.Join(fns, "<")
	}
	return "", ""
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
