package clock

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// A late frame is put down to the part of its way that took the time.
func TestLatenessCauses(t *testing.T) {
	const dur = 33 * time.Millisecond
	due := time.Unix(1000, 0)
	for _, c := range []struct {
		name           string
		woke, waited   time.Duration
		encodeAt, left time.Duration // after due
		want           string
	}{
		{"on time", 1 * time.Millisecond, 0, 5 * time.Millisecond, 20 * time.Millisecond, ""},
		{"a long encode within the slack", 1 * time.Millisecond, 0, 5 * time.Millisecond, 2 * dur, ""},
		{"the clock woke late", dur + time.Millisecond, 0, dur + 5*time.Millisecond, dur + 20*time.Millisecond, LateClock},
		{"the clock waited for the encodes", 2 * time.Millisecond, dur, dur + 5*time.Millisecond, dur + 20*time.Millisecond, LateBacklog},
		{"the encode left late", 1 * time.Millisecond, 0, 5 * time.Millisecond, 2*dur + time.Millisecond, LateEncode},
		{"late both ways: the clock first", dur + time.Millisecond, 0, dur + 5*time.Millisecond, 3 * dur, LateClock},
	} {
		l := NewLateness(slog.New(slog.NewTextHandler(io.Discard, nil)))
		tm := FrameTiming{Due: due, Woke: c.woke, Waited: c.waited, Queued: due.Add(c.encodeAt - time.Millisecond)}
		late := l.Note(7, &tm, due.Add(c.encodeAt), due.Add(c.left), dur, 0)
		if late != (c.want != "") {
			t.Fatalf("%s: late %v", c.name, late)
		}
		clock, backlog, encode := l.Counts()
		got := map[string]uint64{LateClock: clock, LateBacklog: backlog, LateEncode: encode}
		for cause, n := range got {
			if want := uint64(0); cause == c.want {
				want = 1
				if n != want {
					t.Fatalf("%s: %s counted %d", c.name, cause, n)
				}
			} else if n != 0 {
				t.Fatalf("%s: %s counted %d, want none", c.name, cause, n)
			}
		}
		if late {
			r := <-l.reports
			if r.Frame != 7 || r.Cause != c.want || r.LeftMs != millis(c.left) || r.EncodeMs != millis(c.left-c.encodeAt) || r.QueuedMs != 1 {
				t.Fatalf("%s: report %+v", c.name, r)
			}
		}
	}
}

// Noting a frame's way allocates nothing: the clock and the encode loop do
// it for every frame.
func TestLatenessNotesWithoutAllocating(t *testing.T) {
	l := NewLateness(slog.New(slog.NewTextHandler(io.Discard, nil)))
	due := time.Now()
	tm := FrameTiming{Due: due}
	if n := testing.AllocsPerRun(100, func() {
		tm.GCCycles = l.EncoderGC()
		l.Note(1, &tm, due.Add(time.Millisecond), due.Add(2*time.Millisecond), 33*time.Millisecond, l.EncoderGC())
	}); n != 0 {
		t.Fatalf("%.1f allocations a frame", n)
	}
}
