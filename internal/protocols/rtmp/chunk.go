package rtmp

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// The client's chunk stream (spec 5.3): its writer puts the extended
// timestamp on every chunk of a message whose timestamp field holds
// 0xFFFFFF, type-3 continuations included (5.3.1.3), and its reader expects
// it there. What go-rtmp's server reads goes through chunkFilter instead,
// which also takes senders that leave the field out (it recognises the field
// by its value). Both read a chunk's headers with readChunkHeader.

// chunkHeader is what a chunk's basic header and message header say (spec
// 5.3.1.1 and 5.3.1.2), before any Extended Timestamp.
type chunkHeader struct {
	format byte   // 0: full, 1: no stream id, 2: timestamp (delta) only, 3: none
	csid   uint32 // chunk stream id
	field  uint32 // timestamp (format 0) or delta (1, 2); extTimestamp: an Extended Timestamp follows
	length uint32 // message length (formats 0 and 1)
	typ    byte   // message type id (formats 0 and 1)
	msid   uint32 // message stream id (format 0)
}

// headerReader gives the next n bytes of a chunk stream's header.
type headerReader interface {
	readHeader(n int) ([]byte, error)
}

// readChunkHeader reads a chunk's basic and message headers from r; the
// Extended Timestamp, if any, is the caller's to read.
func readChunkHeader(r headerReader) (chunkHeader, error) {
	var h chunkHeader
	b, err := r.readHeader(1)
	if err != nil {
		return h, err
	}
	h.format, h.csid = b[0]>>6, uint32(b[0]&0x3f)
	switch h.csid {
	case 0:
		if b, err = r.readHeader(1); err != nil {
			return h, err
		}
		h.csid = 64 + uint32(b[0])
	case 1:
		if b, err = r.readHeader(2); err != nil {
			return h, err
		}
		h.csid = 64 + uint32(b[0]) + uint32(b[1])<<8
	}
	if h.format == 3 {
		return h, nil
	}
	mh, err := r.readHeader([3]int{11, 7, 3}[h.format])
	if err != nil {
		return h, err
	}
	h.field = get24(mh)
	if h.format < 2 {
		h.length, h.typ = get24(mh[3:]), mh[6]
	}
	if h.format == 0 {
		h.msid = binary.LittleEndian.Uint32(mh[7:])
	}
	return h, nil
}

type wchunk struct {
	init     bool
	ts       uint32
	msid     uint32
	length   int
	typ      byte
	lastDiff uint32
}

type rchunk struct {
	init    bool
	ts      uint32
	delta   uint32
	length  int
	typ     byte
	msid    uint32
	ext     bool
	buf     []byte
	pending bool
}

// WriteMessage sends one message, chunked (spec 5.3). The first message on a
// chunk stream (and any whose timestamp goes back) carries a type-0 header
// with the absolute timestamp; later ones a type-1 header with the delta.
// When the timestamp field holds 0xFFFFFF, every chunk of the message,
// type-3 continuations included, carries the 4-byte Extended Timestamp
// (spec 5.3.1.3).
func (c *Conn) WriteMessage(csid int, typ byte, msid, ts uint32, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeTimeout > 0 {
		if err := c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
			return err
		}
	}
	st := c.wcs[csid]
	if st == nil {
		st = &wchunk{}
		c.wcs[csid] = st
	}
	var hdr [18]byte
	n := 0
	basic := func(fmt byte) {
		hdr[0] = fmt<<6 | byte(csid) // csid 2..63: one byte
		n = 1
	}
	var field uint32 // the value that goes in the (possibly extended) timestamp field
	if !st.init || ts < st.ts || msid != st.msid {
		basic(0)
		field = ts
		put24(hdr[n:], min(field, extTimestamp))
		put24(hdr[n+3:], uint32(len(payload)))
		hdr[n+6] = typ
		binary.LittleEndian.PutUint32(hdr[n+7:], msid)
		n += 11
	} else {
		basic(1)
		field = ts - st.ts
		put24(hdr[n:], min(field, extTimestamp))
		put24(hdr[n+3:], uint32(len(payload)))
		hdr[n+6] = typ
		n += 7
	}
	ext := field >= extTimestamp
	if ext {
		binary.BigEndian.PutUint32(hdr[n:], field)
		n += 4
	}
	*st = wchunk{init: true, ts: ts, msid: msid, length: len(payload), typ: typ, lastDiff: field}
	if _, err := c.bw.Write(hdr[:n]); err != nil {
		return err
	}
	for off := 0; off < len(payload); {
		if off > 0 {
			h := []byte{3<<6 | byte(csid)}
			if ext {
				h = binary.BigEndian.AppendUint32(h, field)
			}
			if _, err := c.bw.Write(h); err != nil {
				return err
			}
		}
		end := min(off+outChunkSize, len(payload))
		if _, err := c.bw.Write(payload[off:end]); err != nil {
			return err
		}
		off = end
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	c.sent += uint64(len(payload))
	return nil
}

func put24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}

func get24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

// ReadMessage reads chunks until one message is complete, and handles the
// protocol control messages (chunk size, acknowledgement window, ping).
func (c *Conn) ReadMessage() (typ byte, msid, ts uint32, payload []byte, err error) {
	for {
		typ, msid, ts, payload, err = c.readChunk()
		if err != nil || payload == nil {
			if err != nil {
				return
			}
			continue
		}
		switch typ {
		case msgSetChunkSize:
			if len(payload) >= 4 {
				size := int(binary.BigEndian.Uint32(payload) & 0x7fffffff)
				if size < 1 || size > maxMessage {
					return 0, 0, 0, nil, fmt.Errorf("server set a chunk size of %d", size)
				}
				c.inChunk = size
			}
			continue
		case msgWindowAckSize:
			if len(payload) >= 4 {
				c.ackWin = binary.BigEndian.Uint32(payload)
			}
			continue
		case msgUserControl:
			if len(payload) >= 6 && binary.BigEndian.Uint16(payload) == 6 { // PingRequest → PingResponse
				resp := append([]byte{0, 7}, payload[2:6]...)
				if err := c.WriteMessage(csidControl, msgUserControl, 0, 0, resp); err != nil {
					return 0, 0, 0, nil, err
				}
			}
			continue
		}
		return
	}
}

// readHeader reads the next n header bytes (n ≤ 11).
func (c *Conn) readHeader(n int) ([]byte, error) {
	b := c.hbuf[:n]
	_, err := io.ReadFull(c.br, b)
	return b, err
}

// readChunk reads one chunk; it returns a payload only when a message completed.
func (c *Conn) readChunk() (typ byte, msid, ts uint32, payload []byte, err error) {
	h, err := readChunkHeader(c)
	if err != nil {
		return
	}
	fmtc, csid := h.format, int(h.csid)
	st := c.rcs[csid]
	if st == nil {
		if fmtc != 0 {
			return 0, 0, 0, nil, fmt.Errorf("chunk stream %d starts without a type-0 header", csid)
		}
		st = &rchunk{}
		c.rcs[csid] = st
	}
	var field uint32
	if fmtc < 3 {
		field = h.field
		st.ext = field == extTimestamp
	}
	if fmtc <= 1 {
		if st.pending {
			return 0, 0, 0, nil, fmt.Errorf("chunk stream %d: a new message header inside an unfinished message", csid)
		}
		st.length = int(h.length)
		st.typ = h.typ
		if st.length > maxMessage {
			return 0, 0, 0, nil, fmt.Errorf("message of %d bytes is too large", st.length)
		}
	}
	if fmtc == 0 {
		st.msid = h.msid
	}
	if st.ext {
		var e [4]byte
		if _, err = io.ReadFull(c.br, e[:]); err != nil {
			return
		}
		if fmtc < 3 {
			field = binary.BigEndian.Uint32(e[:])
		}
	}
	if !st.pending {
		switch fmtc {
		case 0:
			st.ts = field
			st.delta = 0
		case 1, 2:
			st.delta = field
			st.ts += field
		case 3:
			st.ts += st.delta
		}
		st.buf = st.buf[:0]
		st.pending = true
	}
	n := min(c.inChunk, st.length-len(st.buf))
	start := len(st.buf)
	st.buf = append(st.buf, make([]byte, n)...)
	if _, err = io.ReadFull(c.br, st.buf[start:]); err != nil {
		return
	}
	c.received += uint64(n)
	if c.ackWin > 0 && c.received-c.acked >= uint64(c.ackWin)/2 {
		c.acked = c.received
		if err = c.WriteMessage(csidControl, msgAck, 0, 0, binary.BigEndian.AppendUint32(nil, uint32(c.received))); err != nil {
			return
		}
	}
	if len(st.buf) < st.length {
		return st.typ, st.msid, st.ts, nil, nil
	}
	st.pending = false
	return st.typ, st.msid, st.ts, append([]byte(nil), st.buf...), nil
}
