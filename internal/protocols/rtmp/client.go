// The client, for publishing (output/push, to platforms) and playing (a
// pulled RTMP feed): handshake, chunk
// stream, NetConnection and NetStream commands. Spec: Adobe RTMP Specification 1.0
// (https://rtmp.veriskope.com/docs/spec/), sections 5.2 (handshake),
// 5.3 (chunking; 5.3.1.3 Extended Timestamp) and 7.2 (commands).
//
// Why not go-rtmp's client: it gives no access to its net.Conn, so writes
// cannot carry deadlines (a black-holed destination blocks forever); its
// connect/createStream wait without a bound; and its chunk writer leaves the
// extended timestamp out of type-3 continuation chunks, which breaks a
// reconnect made after 0xFFFFFF ms (4 h 39 min) of program time. And it
// cannot play.

package rtmp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	amf0 "github.com/yutopp/go-amf0"
)

// RTMP message type ids (spec 5.4, 7.1).
const (
	msgSetChunkSize   = 1
	msgAbort          = 2
	msgAck            = 3
	msgUserControl    = 4
	msgWindowAckSize  = 5
	msgSetPeerBandwdt = 6
	MsgAudio          = 8
	MsgVideo          = 9
	MsgDataAMF0       = 18
	MsgCommandAMF0    = 20
)

// Chunk stream ids used for our messages.
const (
	csidControl = 2
	csidCommand = 3
	CSIDAudio   = 4
	CSIDData    = 5
	CSIDVideo   = 6
)

const (
	outChunkSize = 4096
	extTimestamp = 0xFFFFFF
	maxMessage   = 16 << 20
)

// Target is a parsed destination URL: rtmp[s]://host[:port]/app[/…]/key.
type Target struct {
	Secure bool
	Host   string // host:port
	App    string
	Key    string // stream key, with its query string if any
	TCURL  string
}

// ParseTarget splits a destination URL into what the protocol needs.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("not a URL: %v", err)
	}
	var t Target
	switch u.Scheme {
	case "rtmp":
	case "rtmps":
		t.Secure = true
	default:
		return Target{}, fmt.Errorf("scheme %q is not supported: use rtmp:// or rtmps://", u.Scheme)
	}
	if u.Hostname() == "" {
		return Target{}, errors.New("the URL has no host")
	}
	port := u.Port()
	if port == "" {
		port = "1935"
		if t.Secure {
			port = "443"
		}
	}
	t.Host = net.JoinHostPort(u.Hostname(), port)
	path := strings.Trim(u.Path, "/")
	i := strings.LastIndex(path, "/")
	if i <= 0 || i == len(path)-1 {
		return Target{}, errors.New("the URL needs an application and a stream key: rtmp://HOST/APP/KEY")
	}
	t.App, t.Key = path[:i], path[i+1:]
	if u.RawQuery != "" {
		t.Key += "?" + u.RawQuery
	}
	t.TCURL = u.Scheme + "://" + t.Host + "/" + t.App
	return t, nil
}

// Conn is one client connection, publishing or playing.
type Conn struct {
	nc           net.Conn
	br           *bufio.Reader
	writeTimeout time.Duration

	wmu  sync.Mutex // one message at a time on the wire
	bw   *bufio.Writer
	wcs  map[int]*wchunk
	sent uint64

	inChunk  int
	rcs      map[int]*rchunk
	hbuf     [11]byte // the chunk header being read
	ackWin   uint32
	received uint64
	acked    uint64

	streamID uint32
	txn      float64
}

// Timeouts bounds each phase of a connection.
type Timeouts struct {
	// Connect bounds dial, TLS, handshake, connect, createStream and publish together.
	Connect time.Duration
	// Write bounds every write once publishing.
	Write time.Duration
}

// Publish dials t and publishes its key; on return the connection is ready
// for media.
func Publish(ctx context.Context, t Target, tlsConf *tls.Config, to Timeouts) (*Conn, error) {
	return dial(ctx, t, tlsConf, to, false)
}

// Play dials t and plays its key (the stream name); on return media
// messages can be read. Reads have no deadline unless the caller sets one.
func Play(ctx context.Context, t Target, tlsConf *tls.Config, to Timeouts) (*Conn, error) {
	return dial(ctx, t, tlsConf, to, true)
}

// StreamID is the message stream id media is sent on.
func (c *Conn) StreamID() uint32 { return c.streamID }

// SetReadDeadline bounds the next reads (a feed that stops sending).
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

func dial(ctx context.Context, t Target, tlsConf *tls.Config, to Timeouts, play bool) (*Conn, error) {
	deadline := time.Now().Add(to.Connect)
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", t.Host)
	if err != nil {
		return nil, err
	}
	// ctx cancellation during the set-up closes the socket and unblocks it
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if err := nc.SetDeadline(deadline); err != nil {
		nc.Close()
		return nil, err
	}
	if t.Secure {
		conf := &tls.Config{}
		if tlsConf != nil {
			conf = tlsConf.Clone()
		}
		if conf.ServerName == "" {
			host, _, _ := net.SplitHostPort(t.Host)
			conf.ServerName = host // SNI
		}
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		nc = tc
	}
	c := &Conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10),
		writeTimeout: to.Write, wcs: map[int]*wchunk{}, rcs: map[int]*rchunk{}, inChunk: 128}
	if err := c.setup(t, play); err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	// From here reads wait as long as they need; writes carry their own deadline.
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *Conn) Close() error { return c.nc.Close() }

// SetWriteDeadline bounds the write under way (and any before the next
// WriteMessage, which sets its own): how a stop gives a write a moment to
// finish instead of cutting it.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

// Unpublish ends a publish as encoders do (FFmpeg's rtmpproto, OBS):
// FCUnpublish with the stream key, then deleteStream, both on the control
// stream, each write bounded by within. The server then ends the stream
// at once — a platform closes the broadcast rather than waiting for the
// encoder to come back — where a dropped connection is a failure it may
// wait out. No answer is awaited; the caller closes the connection next.
func (c *Conn) Unpublish(key string, within time.Duration) error {
	c.wmu.Lock()
	c.writeTimeout = within
	c.wmu.Unlock()
	if err := c.command(0, csidCommand, "FCUnpublish", c.nextTxn(), nil, key); err != nil {
		return fmt.Errorf("FCUnpublish: %w", err)
	}
	if err := c.command(0, csidCommand, "deleteStream", c.nextTxn(), nil, float64(c.streamID)); err != nil {
		return fmt.Errorf("deleteStream: %w", err)
	}
	return nil
}

// handshake does the plain RTMP handshake (spec 5.2): C0+C1, S0+S1+S2, C2.
func (c *Conn) handshake() error {
	c1 := make([]byte, 1+1536)
	c1[0] = 3
	if _, err := rand.Read(c1[9:]); err != nil {
		return err
	}
	if _, err := c.nc.Write(c1); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	s := make([]byte, 1+1536+1536)
	if _, err := io.ReadFull(c.br, s); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if s[0] != 3 {
		return fmt.Errorf("handshake: server speaks RTMP version %d", s[0])
	}
	if _, err := c.nc.Write(s[1 : 1+1536]); err != nil { // C2 echoes S1
		return fmt.Errorf("handshake: %w", err)
	}
	return nil
}

// setup runs the handshake and the connect → createStream → publish (or
// play) exchange.
func (c *Conn) setup(t Target, play bool) error {
	if err := c.handshake(); err != nil {
		return err
	}
	if err := c.WriteMessage(csidControl, msgSetChunkSize, 0, 0, binary.BigEndian.AppendUint32(nil, outChunkSize)); err != nil {
		return err
	}
	if _, err := c.call("connect", map[string]any{
		"app": t.App, "type": "nonprivate", "flashVer": "FMLE/3.0 (compatible; Switchyard)",
		"tcUrl": t.TCURL, "swfUrl": t.TCURL,
	}); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if !play {
		// releaseStream and FCPublish as encoders do; some platforms expect them.
		_ = c.command(0, csidCommand, "releaseStream", c.nextTxn(), nil, t.Key)
		_ = c.command(0, csidCommand, "FCPublish", c.nextTxn(), nil, t.Key)
	}
	res, err := c.call("createStream", nil)
	if err != nil {
		return fmt.Errorf("createStream: %w", err)
	}
	if len(res) < 4 {
		return errors.New("createStream: no stream id in the answer")
	}
	id, ok := res[3].(float64)
	if !ok {
		return errors.New("createStream: stream id is not a number")
	}
	c.streamID = uint32(id)
	if play {
		return c.play(t)
	}
	if err := c.command(c.streamID, csidCommand, "publish", 0, nil, t.Key, "live"); err != nil {
		return err
	}
	for {
		name, args, err := c.readCommand()
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if name != "onStatus" {
			continue
		}
		code, desc := StatusOf(args)
		switch {
		case code == "NetStream.Publish.Start":
			return nil
		case strings.Contains(code, "Error") || strings.Contains(code, "Failed") || strings.Contains(code, "BadName") ||
			strings.Contains(code, "Rejected"):
			return fmt.Errorf("publish refused: %s %s", code, desc)
		}
	}
}

// play asks for the stream (from the live start: -2 live or recorded, -1
// duration: until it ends) and waits for the server to start it.
func (c *Conn) play(t Target) error {
	if err := c.command(c.streamID, csidCommand, "play", 0, nil, t.Key, -2.0, -1.0); err != nil {
		return err
	}
	// SetBufferLength (user control 3) of 1 s, as players send
	ctl := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte{0, 3}, c.streamID), 1000)
	if err := c.WriteMessage(csidControl, msgUserControl, 0, 0, ctl); err != nil {
		return err
	}
	for {
		name, args, err := c.readCommand()
		if err != nil {
			return fmt.Errorf("play: %w", err)
		}
		if name != "onStatus" {
			continue
		}
		code, desc := StatusOf(args)
		switch {
		case code == "NetStream.Play.Start":
			return nil
		case strings.Contains(code, "Error") || strings.Contains(code, "Failed") || strings.Contains(code, "NotFound") ||
			strings.Contains(code, "Rejected"):
			return fmt.Errorf("play refused: %s %s", code, desc)
		}
	}
}

func (c *Conn) nextTxn() float64 {
	c.txn++
	return c.txn
}

// call sends a command on the control stream and waits for its _result.
func (c *Conn) call(name string, obj any, args ...any) ([]any, error) {
	txn := c.nextTxn()
	if err := c.command(0, csidCommand, name, txn, obj, args...); err != nil {
		return nil, err
	}
	for {
		n, res, err := c.readCommand()
		if err != nil {
			return nil, err
		}
		if len(res) < 2 {
			continue
		}
		if id, _ := res[1].(float64); id != txn {
			continue
		}
		switch n {
		case "_result":
			return res, nil
		case "_error":
			code, desc := StatusOf(res)
			return nil, fmt.Errorf("refused: %s %s", code, desc)
		}
	}
}

// command encodes and sends an AMF0 command message.
func (c *Conn) command(msid uint32, csid int, name string, txn float64, obj any, args ...any) error {
	var b bytes.Buffer
	enc := amf0.NewEncoder(&b)
	for _, v := range append([]any{name, txn, obj}, args...) {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return c.WriteMessage(csid, MsgCommandAMF0, msid, 0, b.Bytes())
}

// readCommand reads messages, handling protocol control on the way, until a
// command arrives; it returns its name and all its values.
func (c *Conn) readCommand() (string, []any, error) {
	for {
		typ, _, _, payload, err := c.ReadMessage()
		if err != nil {
			return "", nil, err
		}
		if typ != MsgCommandAMF0 {
			continue
		}
		vals, err := DecodeAMF0(payload)
		if err != nil || len(vals) == 0 {
			continue
		}
		name, _ := vals[0].(string)
		return name, vals, nil
	}
}
