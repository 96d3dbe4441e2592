package mixer

import (
	"context"
	"sync"
)

// decodeGate bounds how many sources decode a picture at once: one a core.
//
// A goroutine inside FFmpeg's decode holds one of the Go runtime's Ps until
// the call returns or the runtime's monitor takes the P back (10 ms and
// more). With a decoding goroutine for every source, a show of 8 cameras
// had every P held by decodes much of the time, and the program's own
// goroutines — the clock and the encode loop, on real-time threads — waited
// for a P to run Go code: the clock's timer fired up to 22 ms late and a
// yield of the encode loop took up to 15 ms, with their threads never
// waiting for a CPU (their kernel run delay was nil). More decodes at once
// than there are cores decode nothing faster: the cores are the limit. So a
// source decodes only with a slot, and the Ps beyond the slots stay free
// for the program.
//
// Sources in use (on a bus, in a PiP, heard) take a slot before quiet ones,
// whatever order they came in; among each kind, first come, first served.
// A waiting decode holds no P (it waits on a channel).
type decodeGate struct {
	mu    sync.Mutex
	free  int
	inUse []chan struct{} // waiting, in order: sources in use
	quiet []chan struct{} // waiting, in order: quiet sources
}

func newDecodeGate(slots int) *decodeGate { return &decodeGate{free: max(slots, 1)} }

// enter waits for a slot; w is the caller's own channel (buffered, one
// place: it is reused, so a wait allocates nothing once the queues have
// grown). It reports false if ctx ended first (no slot is then held).
func (g *decodeGate) enter(ctx context.Context, w chan struct{}, inUse bool) bool {
	g.mu.Lock()
	if g.free > 0 && (inUse || len(g.inUse) == 0) {
		g.free--
		g.mu.Unlock()
		return true
	}
	if inUse {
		g.inUse = append(g.inUse, w)
	} else {
		g.quiet = append(g.quiet, w)
	}
	g.mu.Unlock()
	select {
	case <-w:
		return true
	case <-ctx.Done():
		g.mu.Lock()
		if g.remove(w) {
			g.mu.Unlock()
			return false
		}
		g.mu.Unlock()
		<-w // the slot was handed over as ctx ended: pass it on
		g.leave()
		return false
	}
}

// leave gives the slot to the next waiting decode, a source in use first.
func (g *decodeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, q := range []*[]chan struct{}{&g.inUse, &g.quiet} {
		if len(*q) > 0 {
			w := (*q)[0]
			copy(*q, (*q)[1:])
			*q = (*q)[:len(*q)-1]
			w <- struct{}{} // buffered: never blocks
			return
		}
	}
	g.free++
}

// remove takes w out of the queues; false when it was not waiting there.
// Called with mu held.
func (g *decodeGate) remove(w chan struct{}) bool {
	for _, q := range []*[]chan struct{}{&g.inUse, &g.quiet} {
		for i, c := range *q {
			if c == w {
				*q = append((*q)[:i], (*q)[i+1:]...)
				return true
			}
		}
	}
	return false
}
