package av

import (
	"sync"
	"testing"
)

// A picture released on another thread keeps its reference until the
// pool's owner next takes one (or closes the pool): the releasing thread —
// the program's clock, in real time — never takes the decoder's buffer-pool
// lock. Releasing allocates nothing; nothing leaks, however the releases
// and the owner's Refs interleave.
func TestPictureReleaseLeavesTheUnrefToTheOwner(t *testing.T) {
	fr, err := NewFrame(64, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Free()
	pic := fr.Picture()
	var pp PicturePool
	r, err := pp.Ref(pic)
	if err != nil {
		t.Fatal(err)
	}
	if n := pic.bufferRefs(); n != 2 {
		t.Fatalf("held: %d references, want 2 (the frame's, the holder's)", n)
	}
	released := make(chan struct{})
	go func() { r.Release(); close(released) }()
	<-released
	if n := pic.bufferRefs(); n != 2 {
		t.Fatalf("released on another goroutine: %d references, want still 2 until the owner's next Ref", n)
	}
	r2, err := pp.Ref(pic) // the owner: drops the one released, takes a new one
	if err != nil {
		t.Fatal(err)
	}
	if n := pic.bufferRefs(); n != 2 {
		t.Fatalf("after the owner's next Ref: %d references, want 2", n)
	}
	if r2 != r {
		t.Fatal("the holder released was not used again")
	}
	if a := testing.AllocsPerRun(100, func() {
		r, _ := pp.Ref(pic)
		r.Retain()
		r.Release()
		r.Release()
	}); a != 0 {
		t.Fatalf("a Ref and its releases allocate %.1f times", a)
	}
	r2.Release()
	pp.Close()
	if n := pic.bufferRefs(); n != 1 {
		t.Fatalf("closed: %d references, want 1 (the frame's own)", n)
	}

	// many releasers at once, the owner taking and closing meanwhile
	var pp2 PicturePool
	var wg sync.WaitGroup
	for range 8 {
		var held []*PictureRef
		for range 20 {
			r, err := pp2.Ref(pic)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, r)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range held {
				r.Release()
			}
		}()
	}
	for range 50 {
		r, err := pp2.Ref(pic)
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	late, err := pp2.Ref(pic)
	if err != nil {
		t.Fatal(err)
	}
	pp2.Close()
	wg.Wait()
	late.Release() // after Close: dropped on the spot
	if n := pic.bufferRefs(); n != 1 {
		t.Fatalf("after every release and Close: %d references, want 1", n)
	}
}
