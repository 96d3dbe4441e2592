package gortsplib

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bluenviron/gortsplib/v5/pkg/base"
)

type clientTunnelHTTP struct {
	readChan  net.Conn
	readBuf   *bufio.Reader
	writeChan net.Conn
}

func (c *clientTunnelHTTP) Read(p []byte) (n int, err error) {
	return c.readBuf.Read(p)
}

func (c *clientTunnelHTTP) Write(p []byte) (n int, err error) {
	return c.writeChan.Write([]byte(base64.StdEncoding.EncodeToString(p)))
}

func (c *clientTunnelHTTP) Close() error {
	c.readChan.Close()
	c.writeChan.Close()
	return nil
}

func (c *clientTunnelHTTP) LocalAddr() net.Addr {
	return c.readChan.LocalAddr()
}

func (c *clientTunnelHTTP) RemoteAddr() net.Addr {
	return c.readChan.RemoteAddr()
}

func (c *clientTunnelHTTP) SetDeadline(_ time.Time) error {
	panic("unimplemented")
}

func (c *clientTunnelHTTP) SetReadDeadline(t time.Time) error {
	return c.readChan.SetReadDeadline(t)
}

func (c *clientTunnelHTTP) SetWriteDeadline(t time.Time) error {
	return c.writeChan.SetWriteDeadline(t)
}

func newClientTunnelHTTP(
	ctx context.Context,
	addr string,
	secure bool,
	tlsConfig *tls.Config,
	dialContext func(ctx context.Context, network, address string) (net.Conn, error),
	dialTLSContext func(ctx context.Context, network string, addr string) (net.Conn, error),
	u *base.URL,
) (net.Conn, error) {
	c := &clientTunnelHTTP{}

	if secure {
		// clone TLS config and fill ServerName if empty.
		// this is the same behavior of http.Client.
		// https://cs.opensource.google/go/go/+/master:src/net/http/transport.go;l=1754;drc=a4b534f5e42fe58d58c0ff0562d76680cedb0466

		if tlsConfig == nil {
			tlsConfig = &tls.Config{}
		} else {
			tlsConfig = tlsConfig.Clone()
		}

		if tlsConfig.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			tlsConfig.ServerName = host
		}
	}

	if secure && dialTLSContext != nil {
		var err error
		c.readChan, err = dialTLSContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
	} else {
		var err error
		c.readChan, err = dialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}

		if secure {
			c.readChan = tls.Client(c.readChan, tlsConfig)
		}
	}

	ok := false

	defer func() {
		if !ok {
			c.readChan.Close()
		}
	}()

	ctxCheckerReadDone := make(chan struct{})
	defer func() { <-ctxCheckerReadDone }()

	ctxCheckerReadTerminate := make(chan struct{})
	defer close(ctxCheckerReadTerminate)

	go func() {
		defer close(ctxCheckerReadDone)
		select {
		case <-ctx.Done():
			c.readChan.Close()
		case <-ctxCheckerReadTerminate:
		}
	}()

	tunnelID := strings.ReplaceAll(uuid.New().String(), "-", "")
	requestTarget := clientTunnelHTTPRequestTarget(u)

	// do not use http.Request
	// since Content-Length requires a Body of same size
	_, err := c.readChan.Write([]byte(
		"GET " + requestTarget + " HTTP/1.1\r\n" +
			"Host: " + addr + "\r\n" +
			"X-Sessioncookie: " + tunnelID + "\r\n" +
			"Accept: application/x-rtsp-tunnelled\r\n" +
			"Content-Length: 30000\r\n" +
			"\r\n",
	))
	if err != nil {
		return nil, err
	}

	c.readBuf = bufio.NewReader(c.readChan)
	res, err := http.ReadResponse(c.readBuf, nil)
	if err != nil {
		return nil, err
	}
	res.Body.Close()

	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bad status code: %v", res.StatusCode)
	}

	if secure && dialTLSContext != nil {
		c.writeChan, err = dialTLSContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
	} else {
		c.writeChan, err = dialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}

		if secure {
			c.writeChan = tls.Client(c.writeChan, tlsConfig)
		}
	}

	defer func() {
		if !ok {
			c.writeChan.Close()
		}
	}()

	ctxCheckerWriteDone := make(chan struct{})
	defer func() { <-ctxCheckerWriteDone }()

	ctxCheckerWriteTerminate := make(chan struct{})
	defer close(ctxCheckerWriteTerminate)

	go func() {
		defer close(ctxCheckerWriteDone)
		select {
		case <-ctx.Done():
			c.writeChan.Close()
		case <-ctxCheckerWriteTerminate:
		}
	}()

	// do not use http.Request
	// since Content-Length requires a Body of same size
	_, err = c.writeChan.Write([]byte(
		"POST " + requestTarget + " HTTP/1.1\r\n" +
			"Host: " + addr + "\r\n" +
			"X-Sessioncookie: " + tunnelID + "\r\n" +
			"Content-Type: application/x-rtsp-tunnelled\r\n" +
			"Content-Length: 30000\r\n" +
			"\r\n",
	))
	if err != nil {
		return nil, err
	}

	// do not wait for writeChan response, since some servers don't send it.

	ok = true
	return c, nil
}

func clientTunnelHTTPRequestTarget(u *base.URL) string {
	if u == nil {
		return "/"
	}

	ret := u.Path
	if ret == "" {
		ret = "/"
	}

	if u.RawQuery != "" {
		ret += "?" + u.RawQuery
	}

	return ret
}
