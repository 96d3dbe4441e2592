package rtmp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		url, host, app, key, err string
		secure                   bool
	}{
		{url: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh", host: "a.rtmp.youtube.com:1935", app: "live2", key: "abcd-efgh"},
		{url: "rtmps://live-api-s.facebook.com:443/rtmp/FB-123?s_bl=1", host: "live-api-s.facebook.com:443", app: "rtmp", key: "FB-123?s_bl=1", secure: true},
		{url: "rtmps://x.example/app/inst/key", host: "x.example:443", app: "app/inst", key: "key", secure: true},
		{url: "http://x/live/key", err: "scheme"},
		{url: "rtmp://x/live", err: "stream key"},
		{url: "rtmp://x/live/", err: "stream key"},
		{url: "rtmp:///live/key", err: "no host"},
	} {
		t.Run(c.url, func(t *testing.T) {
			tg, err := ParseTarget(c.url)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, Target{Secure: c.secure, Host: c.host, App: c.app, Key: c.key,
				TCURL: map[bool]string{false: "rtmp", true: "rtmps"}[c.secure] + "://" + c.host + "/" + c.app}, tg)
		})
	}
}

type msg struct {
	typ  byte
	ts   uint32
	data []byte
}

// chunkStream writes msgs with our writer and returns the bytes on the wire.
func chunkStream(t testing.TB, msgs []msg) []byte {
	var wire bytes.Buffer
	w := &Conn{bw: bufio.NewWriter(&wire), wcs: map[int]*wchunk{}, nc: nopConn{}}
	require.NoError(t, w.WriteMessage(csidControl, msgSetChunkSize, 0, 0, binary.BigEndian.AppendUint32(nil, outChunkSize)))
	for _, m := range msgs {
		require.NoError(t, w.WriteMessage(CSIDVideo, m.typ, 1, m.ts, m.data))
	}
	return wire.Bytes()
}

func readAll(b []byte) ([]msg, error) {
	r := &Conn{br: bufio.NewReader(bytes.NewReader(b)), rcs: map[int]*rchunk{}, inChunk: 128, nc: nopConn{},
		bw: bufio.NewWriter(&bytes.Buffer{}), wcs: map[int]*wchunk{}}
	var out []msg
	for {
		typ, _, ts, p, err := r.ReadMessage()
		if err != nil {
			return out, err
		}
		out = append(out, msg{typ, ts, p})
	}
}

// Messages larger than a chunk, with timestamps below, at and past 0xFFFFFF,
// come back intact: every type-3 continuation carries the extended timestamp.
func TestChunksAcrossExtendedTimestamp(t *testing.T) {
	big := bytes.Repeat([]byte{0xAB, 0xCD, 0xEF}, 5000) // 15000 bytes: 4 chunks
	msgs := []msg{
		{MsgVideo, 0xFFFFFF - 66, big},
		{MsgVideo, 0xFFFFFF - 33, []byte{1, 2, 3}},
		{MsgVideo, 0xFFFFFF, big},
		{MsgVideo, 0xFFFFFF + 33, big},
		{MsgVideo, 0x7FFFFFF0, big}, // a jump: delta past 0xFFFFFF, extended on every chunk
		{MsgVideo, 0x7FFFFFF0 + 33, big},
	}
	wire := chunkStream(t, msgs)
	got, err := readAll(wire)
	require.ErrorContains(t, err, "EOF")
	require.Len(t, got, len(msgs))
	for i := range msgs {
		require.Equal(t, msgs[i].ts, got[i].ts, "message %d", i)
		require.Equal(t, msgs[i].data, got[i].data, "message %d", i)
	}

	// A reconnect after the boundary: the first message is a type-0 header
	// whose timestamp is extended, and so are its continuations.
	wire = chunkStream(t, []msg{{MsgVideo, 0x1000000 + 5, big}})
	require.Equal(t, byte(0<<6|CSIDVideo), wire[16], "type-0 header")
	require.Equal(t, []byte{0xff, 0xff, 0xff}, wire[17:20])
	cont := wire[16+1+11+4+outChunkSize:]
	require.Equal(t, byte(3<<6|CSIDVideo), cont[0], "type-3 continuation")
	require.Equal(t, uint32(0x1000000+5), binary.BigEndian.Uint32(cont[1:5]), "continuation repeats the extended timestamp")
	got, _ = readAll(wire)
	require.Len(t, got, 1)
	require.Equal(t, big, got[0].data)
}

// FuzzReadMessage: our chunk reader never panics, never returns a message
// larger than its limit, and on input that is a valid chunk stream returns
// exactly the messages that produced it.
func FuzzReadMessage(f *testing.F) {
	f.Add(chunkStream(f, []msg{{MsgVideo, 10, []byte("hello")}, {MsgAudio, 20, bytes.Repeat([]byte{7}, 9000)}}))
	f.Add(chunkStream(f, []msg{{MsgVideo, 0xFFFFFF + 1, bytes.Repeat([]byte{1}, 5000)}}))
	f.Add([]byte{0x03, 0xff, 0xff, 0xff, 0, 0, 1, 20, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readAll(b)
		require.Error(t, err, "a finite input ends in an error (EOF at least)")
		for _, m := range got {
			require.LessOrEqual(t, len(m.data), maxMessage)
		}
		// round trip: what was read, written again, reads back the same
		if len(got) > 0 {
			again, _ := readAll(chunkStream(t, got))
			require.Equal(t, len(got), len(again))
			for i := range got {
				require.Equal(t, got[i].typ, again[i].typ)
				require.Equal(t, got[i].ts, again[i].ts)
				require.Equal(t, got[i].data, again[i].data, "message %d's bytes", i)
			}
		}
	})
}

type nopConn struct{ net.Conn }

func (nopConn) SetWriteDeadline(time.Time) error { return nil }
func (nopConn) Close() error                     { return nil }
