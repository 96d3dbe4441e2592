package rtmp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
)

// Extended timestamps on type-3 chunks.
//
// An RTMP chunk header carries a 24-bit timestamp (or delta); a value of
// 0xFFFFFF means the real one follows as a 32-bit Extended Timestamp. The
// specification (Adobe RTMP 1.0, section 5.3.1.3 "Extended Timestamp",
// https://rtmp.veriskope.com/docs/spec/; clarified in "RTMP Errata and
// Addenda", https://zenomt.github.io/rtmp-errata-addenda/rtmp-errata-addenda.html)
// and the common encoders (FFmpeg's rtmppkt.c, librtmp, OBS) repeat that
// field after the one-byte header of each type-3 chunk that continues such a
// message. go-rtmp v0.0.7 does not read it for type-3 chunks (upstream pull
// request #72, unmerged): it takes the four bytes as payload, every following
// chunk boundary is wrong, and the publisher is dropped. FFmpeg sends an
// extended field whenever a timestamp or delta reaches 0xFFFFFF ms — a stream
// whose timestamps start past 4 h 39 min, the first frame after a long pause,
// a publisher that restarts mid-event with absolute timestamps.
//
// chunkFilter sits between the socket and go-rtmp and follows the chunk
// stream exactly as go-rtmp will read it (basic header, message header by
// type, chunk size from Set Chunk Size, message lengths per chunk stream).
// Where a type-3 chunk's header is followed by the extended timestamp of
// the chunk stream's last full header, it removes those four bytes, so
// go-rtmp sees the stream it parses correctly. Senders that leave the field
// out of type-3 chunks (the 2009 specification text read literally) pass
// unchanged: the field is recognised by its value, which the sender must
// repeat unchanged.
type chunkFilter struct {
	r         *bufio.Reader
	handshake int    // handshake bytes still to pass through untouched
	chunkSize uint32 // the peer's, from Set Chunk Size
	streams   map[uint32]*chunkState
	cur       *chunkState
	hdr       [18]byte // the header being handed out: basic (≤3) + message (≤11) + extended (4)
	hdrLen    int
	hdrOff    int
	payload   uint32 // bytes of the current chunk's payload still to hand out
	// Removed counts extended timestamps taken out of type-3 chunks.
	Removed uint64
}

// chunkState is what a chunk stream's previous headers established.
type chunkState struct {
	msgLen  uint32
	msgType byte
	left    uint32 // bytes of the current message not yet read
	ext     bool   // the last type 0/1/2 header had an extended timestamp
	extTS   uint32
	control [4]byte // first payload bytes of a protocol control message
	ctlLen  int
}

const (
	handshakeBytes   = 1 + 1536 + 1536 // C0, C1, C2
	defaultChunkSize = 128
	maxChunkStreams  = 256
)

var errChunkStreams = errors.New("rtmp: too many chunk streams")

// readBuffer holds what one wake-up of the reader finds on the socket (the
// low-water mark lets a few segments gather; see lowwater.go).
const readBuffer = 64 << 10

func newChunkFilter(r io.Reader) *chunkFilter {
	return &chunkFilter{r: bufio.NewReaderSize(r, readBuffer), handshake: handshakeBytes, chunkSize: defaultChunkSize,
		streams: map[uint32]*chunkState{}}
}

func (f *chunkFilter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.handshake > 0 {
		n, err := f.r.Read(p[:min(len(p), f.handshake)])
		f.handshake -= n
		return n, err
	}
	for f.hdrOff == f.hdrLen && f.payload == 0 {
		if err := f.nextHeader(); err != nil {
			return 0, err
		}
	}
	if f.hdrOff < f.hdrLen {
		n := copy(p, f.hdr[f.hdrOff:f.hdrLen])
		f.hdrOff += n
		return n, nil
	}
	n, err := f.r.Read(p[:min(uint32(len(p)), f.payload)])
	f.payload -= uint32(n)
	f.cur.left -= uint32(n)
	if f.cur.msgType == msgSetChunkSize || f.cur.msgType == msgAbort {
		f.control(p[:n])
	}
	return n, err
}

// pending is how many bytes of the message in progress have still to come
// off the socket, at least: its payload not yet handed out, less what the
// buffer holds already. 0 in the handshake and between messages.
func (f *chunkFilter) pending() int {
	if f.handshake > 0 || f.cur == nil || f.cur.left == 0 {
		return 0
	}
	return int(f.cur.left) - f.r.Buffered()
}

// control notes the payload of Set Chunk Size and Abort as it passes.
func (f *chunkFilter) control(b []byte) {
	st := f.cur
	st.ctlLen += copy(st.control[min(st.ctlLen, 4):], b)
	if st.left != 0 || st.ctlLen < 4 {
		return
	}
	v := binary.BigEndian.Uint32(st.control[:])
	switch st.msgType {
	case msgSetChunkSize:
		if v &= 0x7fffffff; v > 0 {
			f.chunkSize = v
		}
	case msgAbort:
		if other, ok := f.streams[v]; ok {
			other.left = 0
		}
	}
}

// readHeader appends n header bytes to hdr.
func (f *chunkFilter) readHeader(n int) ([]byte, error) {
	b := f.hdr[f.hdrLen : f.hdrLen+n]
	if _, err := io.ReadFull(f.r, b); err != nil {
		if err == io.EOF && f.hdrLen > 0 {
			err = io.ErrUnexpectedEOF // the connection ended inside a header
		}
		return nil, err
	}
	f.hdrLen += n
	return b, nil
}

// nextHeader reads a chunk header into hdr and sets up its payload.
func (f *chunkFilter) nextHeader() error {
	f.hdrLen, f.hdrOff = 0, 0
	h, err := readChunkHeader(f)
	if err != nil {
		return err
	}
	st, ok := f.streams[h.csid]
	if !ok {
		if len(f.streams) >= maxChunkStreams {
			return errChunkStreams
		}
		st = &chunkState{}
		f.streams[h.csid] = st
	}
	if h.format < 3 {
		if h.format < 2 {
			st.msgLen, st.msgType = h.length, h.typ
			st.left = 0 // a new message
		}
		st.ext = h.field == extTimestamp
		if st.ext {
			x, err := f.readHeader(4)
			if err != nil {
				return err
			}
			st.extTS = binary.BigEndian.Uint32(x)
		}
	} else if st.ext {
		if x, err := f.r.Peek(4); err == nil && binary.BigEndian.Uint32(x) == st.extTS {
			_, _ = f.r.Discard(4)
			f.Removed++
		}
	}
	if st.left == 0 { // this chunk starts a message
		st.left = st.msgLen
		st.ctlLen = 0
	}
	f.cur = st
	f.payload = min(st.left, f.chunkSize)
	return nil
}

// NewChunkReader returns what go-rtmp's server reads from a publisher's or
// player's connection c: the chunk stream with the extended timestamps of
// type-3 chunks repaired (see chunkFilter), read with the socket's
// low-water mark following the message in progress (see lowWater).
func NewChunkReader(c net.Conn) io.Reader {
	var in *chunkFilter
	in = newChunkFilter(withLowWater(c, func() int { return in.pending() }))
	return in
}
