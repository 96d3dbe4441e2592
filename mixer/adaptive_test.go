package mixer

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAdaptiveBufferFollowsTheNeed: the estimator's buffer covers the peak
// need (transit jitter plus decode) with a small margin; it grows at once,
// in steps of at most a frame, growEvery apart, and shrinks slowly — not
// before shrinkHold after a growth, by at most a quarter of a frame a
// second — down to what the need asks and never below the floor.
func TestAdaptiveBufferFollowsTheNeed(t *testing.T) {
	const frame = 33333 * time.Microsecond
	rng := rand.New(rand.NewPCG(1, 2))
	var e estimator
	cur := autoStart
	now := time.Duration(0)
	var lastStep, lastGrow time.Duration
	stepped, grown := false, false
	steps := 0
	// run feeds needs of base plus up to jitter, 80 a second (pictures and
	// sound), for d, checking each step; it returns the buffer's range
	// over the last second.
	run := func(d, base, jitter time.Duration) (lo, hi time.Duration) {
		t.Helper()
		lo, hi = time.Hour, 0
		end := now + d
		for ; now < end; now += 12500 * time.Microsecond {
			need := base
			if jitter > 0 {
				need += time.Duration(rng.Int64N(int64(jitter)))
			}
			e.peak.note(now, need)
			next, changed := e.step(now, cur, frame)
			if changed != (next != cur) {
				t.Fatalf("at %v: changed %v but %v → %v", now, changed, cur, next)
			}
			if changed {
				steps++
				switch {
				case next > cur:
					if next-cur > frame {
						t.Fatalf("at %v: grew %v → %v, more than a frame", now, cur, next)
					}
					if stepped && now-lastStep < growEvery {
						t.Fatalf("at %v: grew %v after the last step", now, now-lastStep)
					}
					lastGrow, grown = now, true
				default:
					if cur-next > frame/4 {
						t.Fatalf("at %v: shrank %v → %v, more than a quarter frame", now, cur, next)
					}
					if stepped && now-lastStep < shrinkEvery || grown && now-lastGrow < shrinkHold {
						t.Fatalf("at %v: shrank %v after the last step, %v after the last growth", now, now-lastStep, now-lastGrow)
					}
				}
				lastStep, stepped = now, true
				cur = next
			}
			if end-now <= time.Second {
				lo, hi = min(lo, cur), max(hi, cur)
			}
			if cur < autoFloor || cur > MaxJitterBuffer {
				t.Fatalf("at %v: buffer %v out of bounds", now, cur)
			}
		}
		return lo, hi
	}

	// a clean LAN: 3 ms of decode, 2 of jitter: down from the start to about
	// 10 ms, in quarter-frame steps a second apart
	lo, hi := run(20*time.Second, 3*time.Millisecond, 2*time.Millisecond)
	if hi > 12*time.Millisecond || lo < 5*time.Millisecond {
		t.Fatalf("clean: buffer %v–%v, want about 9 ms (need ≤ 5 ms, margin 4 ms)", lo, hi)
	}
	// a guest over the internet: 40 ms of jitter — at once, then steady
	before := steps
	lo, hi = run(10*time.Second, 5*time.Millisecond, 40*time.Millisecond)
	if lo < 45*time.Millisecond || hi > 60*time.Millisecond || lo != hi {
		t.Fatalf("40 ms jitter: buffer %v–%v, want steady over 45 ms (the peak) and under 60", lo, hi)
	}
	if steps-before > 4 {
		t.Fatalf("40 ms jitter: %d steps, want a few to reach it (and no churn)", steps-before)
	}
	// 120 ms: at once, in frame steps a quarter second apart
	start := now
	for cur < 125*time.Millisecond && now-start < 2*time.Second {
		run(50*time.Millisecond, 5*time.Millisecond, 120*time.Millisecond)
	}
	if cur < 125*time.Millisecond {
		t.Fatalf("120 ms jitter: buffer %v after %v, want over 125 ms within a second or so", cur, now-start)
	}
	lo, hi = run(5*time.Second, 5*time.Millisecond, 120*time.Millisecond)
	if lo < 125*time.Millisecond || hi > 160*time.Millisecond {
		t.Fatalf("120 ms jitter: buffer %v–%v", lo, hi)
	}
	// clean again: it holds shrinkHold and the need window, then comes down
	// slowly, a quarter frame a second
	lo, _ = run(needWindow, 3*time.Millisecond, 2*time.Millisecond)
	if lo < 125*time.Millisecond {
		t.Fatalf("clean again: shrank to %v within the need window", lo)
	}
	_, hi = run(30*time.Second, 3*time.Millisecond, 2*time.Millisecond)
	if hi > 12*time.Millisecond {
		t.Fatalf("clean again: still %v after 30 s", hi)
	}
	// one late picture (a stall of 90 ms) grows it at once
	e.peak.note(now, 90*time.Millisecond)
	if next, changed := e.step(now, cur, frame); !changed || next <= cur || next-cur > frame {
		t.Fatalf("a late picture: %v → %v (changed %v), want a growth of up to a frame at once", cur, next, changed)
	}
}

// TestAdaptiveBufferStepsTheSoundWithThePictures: a step applies to the
// pictures decoded after it at once, and to the sound when the pictures
// decoded before it (due up to the old buffer later) have aired.
func TestAdaptiveBufferStepsTheSoundWithThePictures(t *testing.T) {
	in := &input{}
	in.delay.Store(int64(40 * time.Millisecond))
	in.setBuffer(10*time.Second, 60*time.Millisecond)
	if got := in.jitter(); got != 60*time.Millisecond {
		t.Fatalf("pictures: %v, want the new 60ms", got)
	}
	for _, c := range []struct{ at, want time.Duration }{
		{10 * time.Second, 40 * time.Millisecond},
		{10*time.Second + 39*time.Millisecond, 40 * time.Millisecond},
		{10*time.Second + 40*time.Millisecond, 60 * time.Millisecond},
	} {
		if got := in.soundJitter(c.at); got != c.want {
			t.Fatalf("sound at %v: %v, want %v", c.at, got, c.want)
		}
	}
	// a follower takes its lead's buffer, pictures and sound
	mic := &input{}
	mic.delay.Store(int64(200 * time.Millisecond))
	mic.lead.Store(in)
	if mic.jitter() != 60*time.Millisecond || mic.soundJitter(10*time.Second) != 40*time.Millisecond {
		t.Fatalf("follower: %v / %v, want its lead's", mic.jitter(), mic.soundJitter(10*time.Second))
	}
}
