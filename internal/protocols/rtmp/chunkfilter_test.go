package rtmp

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	gortmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"
)

// chunked builds one RTMP message as chunks on chunk stream 6. full: a type-0
// header, else type 1 with ts as the delta. extOnType3 repeats an extended
// timestamp after each type-3 header, as FFmpeg and librtmp do.
func chunked(full bool, ts uint32, typeID byte, payload []byte, chunkSize int, extOnType3 bool) []byte {
	var b bytes.Buffer
	field := min(ts, 0xFFFFFF)
	put24 := func(v uint32) { b.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)}) }
	if full {
		b.WriteByte(0<<6 | 6)
	} else {
		b.WriteByte(1<<6 | 6)
	}
	put24(field)
	put24(uint32(len(payload)))
	b.WriteByte(typeID)
	if full {
		_ = binary.Write(&b, binary.LittleEndian, uint32(1))
	}
	if field == 0xFFFFFF {
		_ = binary.Write(&b, binary.BigEndian, ts)
	}
	for off := 0; off < len(payload); off += chunkSize {
		if off > 0 {
			b.WriteByte(3<<6 | 6)
			if field == 0xFFFFFF && extOnType3 {
				_ = binary.Write(&b, binary.BigEndian, ts)
			}
		}
		b.Write(payload[off:min(off+chunkSize, len(payload))])
	}
	return b.Bytes()
}

// setChunkSize is the protocol control message on chunk stream 2.
func setChunkSize(n uint32) []byte {
	b := []byte{0<<6 | 2, 0, 0, 0, 0, 0, 4, msgSetChunkSize, 0, 0, 0, 0}
	return binary.BigEndian.AppendUint32(b, n)
}

// readVideo reads messages with go-rtmp's own chunk reader until a video
// message, and returns its timestamp and payload. A Set Chunk Size is applied
// as go-rtmp's connection does.
func readVideo(t *testing.T, cs *gortmp.ChunkStreamer) (uint32, []byte) {
	t.Helper()
	for {
		var m gortmp.ChunkMessage
		_, ts, err := cs.Read(&m)
		require.NoError(t, err)
		if sc, ok := m.Message.(*rtmpmsg.SetChunkSize); ok {
			require.NoError(t, cs.PeerState().SetChunkSize(sc.ChunkSize))
		}
		if v, ok := m.Message.(*rtmpmsg.VideoMessage); ok {
			p, err := io.ReadAll(v.Payload)
			require.NoError(t, err)
			return ts, p
		}
	}
}

func TestChunkFilterExtendedTimestamps(t *testing.T) {
	frame := func(n int, seed byte) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = seed + byte(i*7)
		}
		return p
	}
	key, next, big := frame(1000, 1), frame(300, 2), frame(9000, 3)
	for _, c := range []struct {
		name       string
		extOnType3 bool
		removed    uint64
	}{
		{"extended timestamp repeated on type-3 chunks (FFmpeg, librtmp, the specification)", true, 7},
		{"extended timestamp only in the full header", false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in bytes.Buffer
			in.Write(make([]byte, handshakeBytes))
			in.Write(chunked(true, 20_000_000, 9, key, 128, c.extOnType3))   // 8 chunks: 7 type-3
			in.Write(chunked(false, 33, 9, next, 128, c.extOnType3))         // a small delta: no extended field
			in.Write(setChunkSize(4096))                                     // as ffmpeg does after connect
			in.Write(chunked(false, 0xFFFFFF+5, 9, big, 4096, c.extOnType3)) // a huge delta, extended, 4096-byte chunks
			f := newChunkFilter(&in)
			_, err := io.ReadFull(f, make([]byte, handshakeBytes))
			require.NoError(t, err)
			cs := gortmp.NewChunkStreamer(f, io.Discard, nil)
			defer cs.Close()

			ts, p := readVideo(t, cs)
			require.Equal(t, uint32(20_000_000), ts)
			require.Equal(t, key, p)
			ts, p = readVideo(t, cs)
			require.Equal(t, uint32(20_000_033), ts)
			require.Equal(t, next, p)
			ts, p = readVideo(t, cs)
			require.Equal(t, uint32(20_000_033+0xFFFFFF+5), ts)
			require.Equal(t, big, p)
			want := c.removed
			if c.extOnType3 {
				want += 2 // the 9000-byte message: two type-3 chunks at 4096
			}
			require.Equal(t, want, f.Removed)
		})
	}
}

// FuzzChunkFilter feeds any bytes after a handshake: the filter never
// panics, never makes bytes up, and removes only whole extended timestamps.
func FuzzChunkFilter(f *testing.F) {
	f.Add(chunked(true, 20_000_000, 9, make([]byte, 1000), 128, true))
	f.Add(chunked(true, 20_000_000, 9, make([]byte, 1000), 128, false))
	f.Add(append(setChunkSize(1), chunked(true, 1, 8, make([]byte, 10), 1, true)...))
	f.Add(append(setChunkSize(0x7fffffff), chunked(false, 0xFFFFFF, 9, make([]byte, 5000), 4096, true)...))
	f.Add([]byte{0x06, 0xff, 0xff, 0xff, 0, 0, 0, 9, 1, 0, 0, 0, 0, 0, 0, 1, 0xc6, 0, 0, 0, 1})
	f.Add([]byte{0x02, 0, 0, 0, 0, 0, 4, msgAbort, 0, 0, 0, 0, 0, 0, 0, 6})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append(make([]byte, handshakeBytes), data...)
		fl := newChunkFilter(bytes.NewReader(in))
		out, err := io.ReadAll(fl)
		if err != nil && err != errChunkStreams && err != io.ErrUnexpectedEOF {
			t.Fatalf("unexpected error %v", err)
		}
		if len(out) > len(in) {
			t.Fatalf("filter made bytes up: %d in, %d out", len(in), len(out))
		}
		if err == nil && uint64(len(in)-len(out)) != 4*fl.Removed {
			t.Fatalf("%d bytes missing, %d extended timestamps removed", len(in)-len(out), fl.Removed)
		}
		if !bytes.Equal(out[:handshakeBytes], in[:handshakeBytes]) {
			t.Fatal("the handshake was changed")
		}
	})
}
