package clock

import (
	"bytes"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A stall is a look at the program's threads taken by the clock while the
// encode loop was held up: a frame it had queued a good part of a frame
// time before still not taken up, or one taken up and not finished. The
// run delays (HostWindow) say whether a thread waited for a CPU; a look
// during the wait says where a thread that did not was: asleep in the
// kernel on what (its state, wchan and kernel stack), or ready and not run.
// Taken on the clock's own thread at its next frame (a hold-up that stops
// the clock too is seen only once the clock runs again); without allocating
// or blocking (fixed buffers, procfs reads), at most once a second, and
// only where the program's threads are locked to theirs.

// stallLookEvery is the least time between two looks.
const stallLookEvery = time.Second

// maxStallThreads bounds the threads one look reads: the encode loop's and
// the encoders' (x264's slice threads of the program and its renditions).
const maxStallThreads = 8

// Stall is one look at the program's threads while the encode loop was held
// up, set beside the late frame it explains.
type Stall struct {
	// Frame is the frame held up; AfterMs how long it had waited to be taken
	// up (Taken false) or been encoding (Taken true) when the look was taken.
	Frame   int64         `json:"frame"`
	AfterMs float64       `json:"after_ms"`
	Taken   bool          `json:"taken"`
	Threads []ThreadState `json:"threads"`
	// Goroutine is the encode loop's goroutine as the Go runtime saw it
	// (golook.go; nil: not asked, at most once every 10 s, or not in).
	Goroutine *GoroutineLook `json:"goroutine,omitempty"`
}

// ThreadState is what one thread was doing (from /proc/self/task/TID).
type ThreadState struct {
	Tid int32 `json:"tid"`
	// Role: "encode loop" or "encoder" (one of x264's threads).
	Role string `json:"role"`
	// State is the kernel's: R running or ready to run, S asleep (a futex,
	// a timer, a read), D asleep and not to be woken (a lock of the
	// kernel's, a page fault's I/O), and so on (proc(5)).
	State string `json:"state"`
	// Wchan is the kernel function it slept in; Stack its kernel stack,
	// innermost first (readable by root only; empty where not).
	Wchan string `json:"wchan,omitempty"`
	Stack string `json:"stack,omitempty"`
	// Syscall is the system call it was in, and for a futex the word it
	// waited on: a Go runtime lock is a global of the runtime's, named
	// ("runtime.mheap_+0x0"); a goroutine's thread parked until it is
	// given one to run waits on its own M's word, in the heap (an address).
	Syscall string `json:"syscall,omitempty"`
}

// String is the look in one line for the log: each thread's role, state,
// and where it slept.
func (s *Stall) String() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("frame ")
	b.WriteString(strconv.FormatInt(s.Frame, 10))
	if s.Taken {
		b.WriteString(" encoding for ")
	} else {
		b.WriteString(" not taken up for ")
	}
	b.WriteString(strconv.FormatFloat(s.AfterMs, 'f', 1, 64))
	b.WriteString(" ms")
	for _, t := range s.Threads {
		b.WriteString("; ")
		b.WriteString(t.Role)
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(int(t.Tid)))
		b.WriteByte(' ')
		b.WriteString(t.State)
		switch {
		case t.Stack != "":
			b.WriteByte(' ')
			b.WriteString(t.Stack)
		case t.Wchan != "" && t.Wchan != "0":
			b.WriteByte(' ')
			b.WriteString(t.Wchan)
		}
		if t.Syscall != "" {
			b.WriteString(" (")
			b.WriteString(t.Syscall)
			b.WriteByte(')')
		}
	}
	if g := s.Goroutine; g != nil {
		b.WriteString("; its goroutine ")
		b.WriteString(g.Stack)
		b.WriteString(" (read ")
		b.WriteString(strconv.FormatFloat(g.AfterMs, 'f', 1, 64))
		b.WriteString(" ms after)")
	}
	return b.String()
}

// stallBuf is a look as the clock takes it: fixed buffers, no strings.
type stallBuf struct {
	frame   int64
	after   time.Duration
	taken   bool
	n       int
	threads [maxStallThreads]threadBuf
	path    [64]byte
}

// threadBuf is one thread's part of a look.
type threadBuf struct {
	tid     int32
	encoder bool
	state   byte
	wchan   [64]byte
	wchanN  int
	stack   [1024]byte
	stackN  int
	sys     [160]byte
	sysN    int
}

// stalls carries the looks from the clock to the sampler: two buffers,
// each either free or filled.
type stalls struct {
	free, filled chan *stallBuf
	lastNs       atomic.Int64 // the last look's time (clock only)
	encoders     atomic.Pointer[[]int32]
}

func newStalls() *stalls {
	s := &stalls{free: make(chan *stallBuf, 2), filled: make(chan *stallBuf, 2)}
	s.free <- new(stallBuf)
	s.free <- new(stallBuf)
	return s
}

// LookAtStall is called by the clock when the encode loop has been held up
// on frame (waiting to take it up, or taken and encoding) for since: it
// reads what the encode loop's thread and the encoders' threads are doing,
// for the late frame's description. At most once a second; it neither
// blocks nor allocates.
func (l *Lateness) LookAtStall(frame int64, since time.Duration, taken bool) {
	tid := l.EncodeTid.Load()
	now := time.Now()
	if tid == 0 || now.UnixNano()-l.stall.lastNs.Load() < int64(stallLookEvery) {
		return
	}
	var b *stallBuf
	select {
	case b = <-l.stall.free:
	default:
		return // both looks not yet read
	}
	l.stall.lastNs.Store(now.UnixNano())
	b.frame, b.after, b.taken, b.n = frame, since, taken, 0
	b.read(tid, false)
	if enc := l.stall.encoders.Load(); enc != nil {
		for _, t := range *enc {
			if b.n == maxStallThreads {
				break
			}
			b.read(t, true)
		}
	}
	select {
	case l.stall.filled <- b:
	default: // cannot happen: two buffers, two places
		l.stall.free <- b
	}
	if l.EncodeFunc != "" {
		l.golook.ask(frame, now)
	}
}

// read adds thread tid's state, wchan, kernel stack and system call to the
// look (a thread gone meanwhile is left out).
func (b *stallBuf) read(tid int32, encoder bool) {
	t := &b.threads[b.n]
	t.tid, t.encoder = tid, encoder
	// the stat file: "tid (comm) S ..."; the stack buffer holds it a moment
	n := readProc(b.path[:], tid, "stat", t.stack[:])
	i := bytes.LastIndexByte(t.stack[:n], ')')
	if i < 0 || i+2 >= n {
		return
	}
	t.state = t.stack[i+2]
	t.wchanN = readProc(b.path[:], tid, "wchan", t.wchan[:])
	t.stackN = readProc(b.path[:], tid, "stack", t.stack[:])
	t.sysN = readProc(b.path[:], tid, "syscall", t.sys[:])
	b.n++
}

// stall turns a look into its description.
func (b *stallBuf) stall() *Stall {
	s := &Stall{Frame: b.frame, AfterMs: millis(b.after), Taken: b.taken, Threads: make([]ThreadState, 0, b.n)}
	for _, t := range b.threads[:b.n] {
		role := "encode loop"
		if t.encoder {
			role = "encoder"
		}
		s.Threads = append(s.Threads, ThreadState{Tid: t.tid, Role: role, State: string(t.state),
			Wchan: string(bytes.TrimSpace(t.wchan[:t.wchanN])), Stack: compactStack(t.stack[:t.stackN]),
			Syscall: describeSyscall(t.sys[:t.sysN])})
	}
	return s
}

// compactStack turns /proc/TID/stack ("[<0>] futex_wait_queue+0x60/0x90"
// a line, innermost first) into "futex_wait_queue<futex_wait<…", the
// first six functions short of the system call's entry (the same in all).
func compactStack(b []byte) string {
	var out []string
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		fn := f[len(f)-1]
		if i := bytes.IndexByte(fn, '+'); i > 0 {
			fn = fn[:i]
		}
		if len(out) == 6 || bytes.Equal(fn, []byte("do_syscall_64")) || bytes.HasPrefix(fn, []byte("entry_SYSCALL")) {
			break
		}
		out = append(out, string(fn))
	}
	return strings.Join(out, "<")
}

// takeStalls turns the looks taken since into descriptions (the sampler).
func (l *Lateness) takeStalls() {
	for {
		select {
		case b := <-l.stall.filled:
			s := b.stall()
			l.stall.free <- b
			l.recent[1], l.recent[0] = l.recent[0], s
		default:
			return
		}
	}
}

// stallSpan is how many frames before a late frame a look may have been
// taken on and still explain it (a stall's frames leave late in a run).
const stallSpan = 64

// stallFor returns the look that explains late frame n: the latest taken
// on it or on a frame up to stallSpan before it.
func (l *Lateness) stallFor(n int64) *Stall {
	for _, s := range l.recent {
		if s != nil && s.Frame <= n && s.Frame >= n-stallSpan {
			return s
		}
	}
	return nil
}
