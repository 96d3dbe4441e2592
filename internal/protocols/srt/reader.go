package srt

import (
	"sync/atomic"

	gosrt "github.com/datarhei/gosrt"
	"github.com/datarhei/gosrt/circular"
)

// Reader reads an SRT connection's payloads, as gosrt's Conn.Read does,
// and counts the data packets the receiver gave up as too late: SRT
// delivers in sequence once a packet's time has come, skipping those that
// did not arrive (nor were sent again) within the latency, so they are
// the gaps in the sequence numbers delivered. Read is for one goroutine;
// Dropped and Stats for any.
type Reader struct {
	Conn gosrt.Conn

	buf     []byte // of the last packet, not yet read
	store   []byte
	next    circular.Number
	started bool
	dropped atomic.Uint64
}

// Read reads payload bytes; one packet's payload may take several reads.
func (r *Reader) Read(b []byte) (int, error) {
	if len(r.buf) == 0 {
		p, err := r.Conn.ReadPacket()
		if err != nil {
			return 0, err
		}
		seq := p.Header().PacketSequenceNumber
		if r.started && seq.Gt(r.next) {
			r.dropped.Add(uint64(seq.Distance(r.next)))
		}
		r.started, r.next = true, seq.Inc()
		r.store = append(r.store[:0], p.Data()...)
		r.buf = r.store
		p.Decommission()
	}
	n := copy(b, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Dropped returns how many data packets the receiver skipped so far.
func (r *Reader) Dropped() uint64 { return r.dropped.Load() }

// Stats is the connection's link, with the packets the receiver gave up
// in PacketsDropped.
func (r *Reader) Stats() Stats {
	st := StatsOf(r.Conn)
	st.PacketsDropped += r.dropped.Load()
	return st
}
