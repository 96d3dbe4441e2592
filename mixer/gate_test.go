package mixer

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The gate holds decodes to its slots, hands a freed slot to a source in
// use before a quiet one, and lets a waiter leave when its context ends.
func TestDecodeGate(t *testing.T) {
	g := newDecodeGate(2)
	ctx := context.Background()
	a, b := make(chan struct{}, 1), make(chan struct{}, 1)
	if !g.enter(ctx, a, true) || !g.enter(ctx, b, false) {
		t.Fatal("two slots: two decodes enter at once")
	}
	// both slots held: a quiet source, then one in use, wait
	var order []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, w := range []struct {
		name  string
		inUse bool
	}{{"quiet", false}, {"in use", true}} {
		wg.Add(1)
		ch := make(chan struct{}, 1)
		go func() {
			defer wg.Done()
			if g.enter(ctx, ch, w.inUse) {
				mu.Lock()
				order = append(order, w.name)
				mu.Unlock()
				g.leave()
			}
		}()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			g.mu.Lock()
			n := len(g.inUse) + len(g.quiet)
			g.mu.Unlock()
			if n == i+1 { // this one queued too
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the waiter did not queue")
			}
		}
	}
	g.leave() // one slot freed: the source in use goes first, though it came second
	wg.Wait()
	if len(order) != 2 || order[0] != "in use" {
		t.Fatalf("order %v: a source in use takes a slot before a quiet one", order)
	}
	// a waiter whose context ends leaves without a slot, and none is lost
	c := make(chan struct{}, 1)
	g2 := newDecodeGate(1)
	if !g2.enter(ctx, c, true) {
		t.Fatal("one slot")
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan bool)
	d := make(chan struct{}, 1)
	go func() { done <- g2.enter(cctx, d, true) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g2.mu.Lock()
		n := len(g2.inUse)
		g2.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the waiter did not queue")
		}
	}
	cancel()
	if <-done {
		t.Fatal("entered after its context ended")
	}
	g2.leave()
	if !g2.enter(ctx, c, false) {
		t.Fatal("the slot is free again")
	}
	if g2.free != 0 {
		t.Fatalf("free %d, want 0: a slot was lost or made", g2.free)
	}
}

// Entering and leaving with the slot free allocates nothing: each picture
// of each source goes through it.
func TestDecodeGateAllocatesNothing(t *testing.T) {
	g := newDecodeGate(1)
	ch := make(chan struct{}, 1)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		g.enter(ctx, ch, true)
		g.leave()
	}); n != 0 {
		t.Fatalf("%.0f allocations a decode", n)
	}
}
