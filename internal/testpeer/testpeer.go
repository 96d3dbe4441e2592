// Package testpeer starts the real peers Switchyard's tests talk to: nginx with
// the RTMP module as a stand-in platform, a TLS-terminating proxy for RTMPS, a
// TCP proxy whose connections can be cut or stalled, and a black hole that
// accepts connections and never reads. Everything listens on loopback and is
// stopped by t.Cleanup.
package testpeer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// NginxModule is where Debian's libnginx-mod-rtmp installs the module.
const NginxModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// Nginx is an nginx-rtmp server on a loopback port.
type Nginx struct {
	t    testing.TB
	dir  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartNginx starts nginx with an RTMP application "live" on a free port.
func StartNginx(t testing.TB) *Nginx {
	t.Helper()
	if _, err := os.Stat(NginxModule); err != nil {
		t.Fatalf("nginx RTMP module missing (%v): run `make deps` (libnginx-mod-rtmp)", err)
	}
	n := &Nginx{t: t, dir: t.TempDir(), Port: FreePort(t)}
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 256; }
rtmp { server { listen 127.0.0.1:%d; chunk_size 4096; application live { live on; record off; } } }
`, NginxModule, n.dir, n.dir, n.Port)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Start (re)starts the server on its port and waits until it accepts.
func (n *Nginx) Start() {
	n.t.Helper()
	n.cmd = exec.Command("nginx", "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"), "-e", filepath.Join(n.dir, "error.log"))
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("start nginx: %v", err)
	}
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(n.cmd, n.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", n.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-n.done:
			b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
			n.t.Fatalf("nginx exited: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("nginx not accepting on %s", n.Addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server and waits for it.
func (n *Nginx) Stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
}

// Addr is host:port.
func (n *Nginx) Addr() string { return fmt.Sprintf("127.0.0.1:%d", n.Port) }

// PublishEnd tells how the last publish of stream key name ended, from
// nginx-rtmp's log (at info level it logs each command by connection):
// clean when the publisher sent deleteStream before its connection closed
// (an encoder stopping: FCUnpublish, deleteStream), not clean when the
// connection closed first (nginx then deletes the stream itself, after its
// "disconnect"); ended is false while the publish goes on, or when there
// was none.
func (n *Nginx) PublishEnd(name string) (clean, ended bool) {
	b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	conn := ""
	var events []string // the connection's commands after its publish, in order
	for _, m := range nginxEvent.FindAllStringSubmatch(string(b), -1) {
		id, what := m[1], m[2]
		switch {
		case strings.HasPrefix(what, "publish: name='"+name+"'"):
			conn, events = id, nil
		case id == conn && (strings.HasPrefix(what, "deleteStream") || strings.HasPrefix(what, "disconnect")):
			events = append(events, strings.TrimRight(strings.Fields(what)[0], ","))
		}
	}
	for i, e := range events {
		if e == "disconnect" {
			return i > 0 && events[i-1] == "deleteStream", true
		}
	}
	return false, false
}

// nginxEvent is an info line of nginx's log: the connection ("*12") and
// what it did.
var nginxEvent = regexp.MustCompile(`(?m)\[info\] \d+#\d+: (\*\d+) (.*)$`)

// URL is the RTMP URL of a stream key in the "live" application.
func (n *Nginx) URL(key string) string { return fmt.Sprintf("rtmp://%s/live/%s", n.Addr(), key) }

// group owns a listener and the goroutines serving it.
type group struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (g *group) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns == nil {
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *group) closeConns() {
	g.mu.Lock()
	for c := range g.conns {
		c.Close()
	}
	g.conns = map[net.Conn]struct{}{}
	g.mu.Unlock()
}

func (g *group) close() {
	g.ln.Close()
	g.mu.Lock()
	for c := range g.conns {
		c.Close()
	}
	g.conns = nil
	g.mu.Unlock()
	g.wg.Wait()
}

func (g *group) serve(handle func(net.Conn)) {
	g.conns = map[net.Conn]struct{}{}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for {
			c, err := g.ln.Accept()
			if err != nil {
				return
			}
			if !g.track(c) {
				c.Close()
				return
			}
			g.wg.Add(1)
			go func() { defer g.wg.Done(); handle(c) }()
		}
	}()
}

// BlackHole accepts TCP connections and never reads from them.
func BlackHole(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &group{ln: ln}
	g.serve(func(c net.Conn) {}) // held open until cleanup
	t.Cleanup(g.close)
	return ln.Addr().String()
}

// Proxy forwards TCP connections to a backend; Cut closes the live ones and
// Stall stops reading from clients (a destination that stops taking data).
type Proxy struct {
	group
	backend string
	mu2     sync.Mutex
	stalled bool
	jitter  time.Duration
	cond    *sync.Cond
}

// Jitter delays what clients send by a random 0..max each read, keeping its
// order: a network whose delay wanders.
func (p *Proxy) Jitter(max time.Duration) {
	p.mu2.Lock()
	p.jitter = max
	p.mu2.Unlock()
}

// StartProxy listens on loopback and forwards to backend.
func StartProxy(t testing.TB, backend string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{group: group{ln: ln}, backend: backend}
	p.cond = sync.NewCond(&p.mu2)
	p.serve(func(c net.Conn) { p.pipe(c) })
	t.Cleanup(func() {
		p.Stall(false)
		p.close()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every live connection (both sides see the connection drop).
func (p *Proxy) Cut() { p.closeConns() }

// Stall stops (or resumes) reading from clients.
func (p *Proxy) Stall(on bool) {
	p.mu2.Lock()
	p.stalled = on
	p.mu2.Unlock()
	p.cond.Broadcast()
}

func (p *Proxy) pipe(c net.Conn) {
	b, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(b) {
		b.Close()
		c.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(c, b)
		c.Close()
	}()
	// Chunks read from the client go out through a queue, each no sooner
	// than its read time plus the path's delay, in order.
	type chunk struct {
		data []byte
		at   time.Time
	}
	queue := make(chan chunk, 4096)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		var last time.Time
		for ch := range queue {
			last = later(last, ch.at)
			time.Sleep(time.Until(last)) // the simulated path's delay, not synchronisation
			if _, err := b.Write(ch.data); err != nil {
				b.Close() // the reader below sees it
				for range queue {
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		p.mu2.Lock()
		for p.stalled {
			p.cond.Wait()
		}
		jitter := p.jitter
		p.mu2.Unlock()
		n, err := c.Read(buf)
		if n > 0 {
			at := time.Now()
			if jitter > 0 {
				at = at.Add(time.Duration(mrand.Int64N(int64(jitter))))
			}
			queue <- chunk{data: append([]byte(nil), buf[:n]...), at: at}
		}
		if err != nil {
			break
		}
	}
	close(queue)
	<-sent
	b.Close()
	<-done
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TLSProxy terminates TLS with a certificate for "localhost" and 127.0.0.1
// signed by its own CA, and forwards plain TCP to a backend.
type TLSProxy struct {
	group
	// CAFile is the PEM of the CA to trust.
	CAFile  string
	Port    int
	mu      sync.Mutex
	sniSeen []string
}

// StartTLSProxy listens on loopback.
func StartTLSProxy(t testing.TB, backend string) *TLSProxy {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "switchyard test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &TLSProxy{CAFile: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(p.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	conf := &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		p.mu.Lock()
		p.sniSeen = append(p.sniSeen, h.ServerName)
		p.mu.Unlock()
		return &cert, nil
	}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	p.ln = ln
	p.Port = ln.Addr().(*net.TCPAddr).Port
	p.serve(func(c net.Conn) {
		b, err := net.DialTimeout("tcp", backend, 5*time.Second)
		if err != nil {
			c.Close()
			return
		}
		done := make(chan struct{})
		go func() { defer close(done); _, _ = io.Copy(b, c); b.Close() }()
		_, _ = io.Copy(c, b)
		c.Close()
		<-done
	})
	t.Cleanup(p.close)
	return p
}

// SNI returns the server names clients asked for.
func (p *TLSProxy) SNI() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sniSeen...)
}
