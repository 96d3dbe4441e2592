package av

import "testing"

type holder struct{ destroyed *int }

func (h *holder) destroy() { *h.destroyed++ }

// The pools' free list hands back what it kept, and once closed frees what
// it held and what comes back later.
func TestFreeList(t *testing.T) {
	var destroyed int
	var l freeList[*holder]
	if _, ok := l.get(); ok {
		t.Fatal("an empty list handed something out")
	}
	a, b := &holder{&destroyed}, &holder{&destroyed}
	l.put(a)
	l.put(b)
	if got, ok := l.get(); !ok || got != b {
		t.Fatalf("get = %p, %v; want the last put, %p", got, ok, b)
	}
	l.close()
	if destroyed != 1 {
		t.Fatalf("close freed %d idle holders, want 1", destroyed)
	}
	l.put(b)
	if destroyed != 2 {
		t.Fatal("a holder put back after close was kept, not freed")
	}
	if _, ok := l.get(); ok {
		t.Fatal("a closed list handed something out")
	}
}
