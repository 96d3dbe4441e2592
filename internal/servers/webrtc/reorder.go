package webrtc

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Reorder buffer bounds: a missing packet is waited for (its NACK may
// bring it back) until this many packets are held behind it, or the
// oldest has waited reorderWait (audioReorderWait for a track without
// retransmissions, where only reordering is waited out).
const (
	reorderPackets   = 128
	reorderWait      = 150 * time.Millisecond
	audioReorderWait = 60 * time.Millisecond
)

// reorder is a small jitter buffer: it releases one track's packets in
// sequence order, waiting a bounded time for a missing one (lost, or
// retransmitted after a NACK) and skipping it after that. A depacketiser
// fed a gap drops the broken picture and resyncs on the next; the PLIs
// the server sends bring a key frame.
type reorder struct {
	init    bool
	next    uint16 // sequence number released next
	highest uint16 // the highest sequence number seen
	held    map[uint16]*rtp.Packet
	since   time.Time     // when the oldest held packet arrived
	wait    time.Duration // how long a gap is waited for; 0: reorderWait
	// counts, when set, counts the packets recovered and given up on.
	counts *lossCounts
	// onSkip, when set, is told that packets were given up on (a picture
	// is broken: ask for a key frame).
	onSkip func()
}

// lossCounts are a session's packets that came after a later one and were
// still in time (a retransmission answering a NACK, or reordered on the
// way), and those given up on (their picture or sound was lost). Written
// by the track readers, read by the statistics.
type lossCounts struct {
	recovered, skipped atomic.Uint64
}

// push takes a packet that arrived at now and releases to out every packet
// that is due.
func (r *reorder) push(pkt *rtp.Packet, now time.Time, out func(*rtp.Packet)) {
	if !r.init {
		r.init, r.next, r.highest, r.held = true, pkt.SequenceNumber, pkt.SequenceNumber, map[uint16]*rtp.Packet{}
	}
	d := int16(pkt.SequenceNumber - r.next)
	if d < 0 {
		return // late (already skipped) or a duplicate
	}
	if int16(pkt.SequenceNumber-r.highest) > 0 {
		r.highest = pkt.SequenceNumber
	} else if _, dup := r.held[pkt.SequenceNumber]; !dup && pkt.SequenceNumber != r.highest && r.counts != nil {
		r.counts.recovered.Add(1) // it fills a gap in time
	}
	switch {
	case d == 0:
		out(pkt)
		r.next++
		r.drain(out)
		if len(r.held) > 0 {
			r.since = now
		}
		return
	}
	if _, dup := r.held[pkt.SequenceNumber]; dup {
		return
	}
	if len(r.held) == 0 {
		r.since = now
	}
	r.held[pkt.SequenceNumber] = pkt
	wait := r.wait
	if wait == 0 {
		wait = reorderWait
	}
	if len(r.held) >= reorderPackets || now.Sub(r.since) >= wait {
		// give up on what is missing: jump to the oldest held packet
		oldest := pkt.SequenceNumber
		for seq := range r.held {
			if int16(seq-oldest) < 0 {
				oldest = seq
			}
		}
		if r.counts != nil {
			r.counts.skipped.Add(uint64(uint16(oldest - r.next)))
		}
		r.next = oldest
		if r.onSkip != nil {
			r.onSkip()
		}
		r.drain(out)
		r.since = now
	}
}

// drain releases the held packets that follow on from next.
func (r *reorder) drain(out func(*rtp.Packet)) {
	for {
		p, ok := r.held[r.next]
		if !ok {
			return
		}
		delete(r.held, r.next)
		out(p)
		r.next++
	}
}
