package webrtc

import (
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// feedback counts the RTCP feedback a peer connection sends its peer:
// NACKs (RFC 4585 6.2.1) and the packets they ask for again, PLIs and
// FIRs (RFC 4585 6.3.1, RFC 5104 4.3.1). pion's stats interceptor counts
// only what passes it, and the NACK generator and the periodic PLI sit
// below it in the chain; this one is first in the registry, so every
// interceptor's RTCP and the session's own pass it on their way out.
type feedback struct {
	nacks, nacked, plis, firs atomic.Uint64
}

// feedbackFactory makes each peer connection's counting interceptor and
// keeps its counts by the peer connection's id until taken.
type feedbackFactory struct {
	mu   sync.Mutex
	byPC map[string]*feedback
}

// NewInterceptor is called by pion once per peer connection, with its id.
func (f *feedbackFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	fb := &feedback{}
	f.mu.Lock()
	if f.byPC == nil {
		f.byPC = map[string]*feedback{}
	}
	f.byPC[id] = fb
	f.mu.Unlock()
	return &feedbackCounter{fb: fb}, nil
}

// take returns (and forgets) the counts of the peer connection id; a
// peer connection built without the registry gets counts nobody fills.
func (f *feedbackFactory) take(id string) *feedback {
	f.mu.Lock()
	defer f.mu.Unlock()
	fb := f.byPC[id]
	delete(f.byPC, id)
	if fb == nil {
		fb = &feedback{}
	}
	return fb
}

// feedbackCounter counts the outgoing RTCP of one peer connection.
type feedbackCounter struct {
	interceptor.NoOp
	fb *feedback
}

// BindRTCPWriter counts what goes out through writer.
func (c *feedbackCounter) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, attrs interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				c.fb.nacks.Add(1)
				for _, n := range p.Nacks {
					c.fb.nacked.Add(uint64(len(n.PacketList())))
				}
			case *rtcp.PictureLossIndication:
				c.fb.plis.Add(1)
			case *rtcp.FullIntraRequest:
				c.fb.firs.Add(1)
			}
		}
		return writer.Write(pkts, attrs)
	})
}
