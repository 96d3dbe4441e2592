package rtmp

import (
	"io"
	"net"
	"syscall"
)

// A publisher's media arrives as many small TCP segments: FFmpeg writes an
// RTMP message as 128-byte chunks, each chunk header and body in a send of
// its own, so a 12 KB picture is some 200 segments. Each segment arriving
// while the connection's goroutine waits wakes the runtime's network poller,
// about a thousand thread wake-ups a second for four cameras, although
// go-rtmp can do nothing with a message until all of it is there.
//
// lowWater sets the socket's receive low-water mark (SO_RCVLOWAT) before
// each read from it to the bytes the message in progress still needs (at
// least: its payload not yet read, less what is buffered; chunk headers
// come on top), so the poller is woken once that many have arrived, not per
// segment. A read returns whatever is there, as before; only the wake-up
// waits. Between messages and in the handshake the mark is 1 byte: the
// next message's size is unknown, and the peer may be waiting for a reply.
// go-rtmp passes a message on only when it is complete, so this delays
// nothing a sender sends whole; two cases wait longer: a message of another
// chunk stream interleaved into a large one waits for the large one's
// bytes (FFmpeg, librtmp and OBS write each message's chunks together), and
// a message abandoned by an Abort holds the mark until more bytes, the
// peer's close or the read timeout.
type lowWater struct {
	conn io.Reader
	raw  syscall.RawConn
	need func() int // bytes the message in progress still needs, at least
	mark int        // the mark set on the socket (0: none yet)
}

// maxLowWater bounds the mark: an I-frame wakes the reader every 16 KB, far
// below the socket's receive buffer and the acknowledgement window.
const maxLowWater = 16 << 10

// withLowWater returns c's reader with the low-water mark following need,
// or c itself where the connection has no socket to set it on.
func withLowWater(c net.Conn, need func() int) io.Reader {
	sc, ok := c.(syscall.Conn)
	if !ok || !lowWaterSupported {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &lowWater{conn: c, raw: raw, need: need}
}

func (w *lowWater) Read(p []byte) (int, error) {
	if mark := min(max(w.need(), 1), maxLowWater); mark != w.mark {
		w.mark = mark
		w.set(mark)
	}
	return w.conn.Read(p)
}

// set puts the mark on the socket; on failure the socket keeps waking per
// segment, which costs CPU and nothing else.
func (w *lowWater) set(mark int) {
	_ = w.raw.Control(func(fd uintptr) {
		_ = setLowWater(fd, mark)
	})
}
