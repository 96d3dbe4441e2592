package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/mixer/keyer"
	"switchyard/output/tally"
)

func intp(v int) *int { return &v }

// TestTallyTSL: TSL UMD receivers — 3.1 over UDP, 5.0 over UDP bare and
// wrapped, 5.0 over TCP — decode every packet against the spec's layout
// while the show cuts, runs an automatic transition (both sources red
// while it runs), keys a camera in a PiP and out; the state repeats every
// second; a TCP receiver that comes up late gets the state at once, and
// one whose connection drops is dialled again and brought up to date.
func TestTallyTSL(t *testing.T) {
	rx31 := newUDPRx(t, "tsl31", false)
	rx5 := newUDPRx(t, "tsl5", false)
	rx5w := newUDPRx(t, "tsl5", true)
	rxTCP := newTCPRx(t, "127.0.0.1:0")
	hold, err := net.Listen("tcp", "127.0.0.1:0") // a port for the receiver that comes up late
	require.NoError(t, err)
	lateAddr := hold.Addr().String()
	require.NoError(t, hold.Close())

	cfg := testConfig(t,
		ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red", Label: "Camera One"},
		ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue", TallyIndex: 12},
		ingest.SourceConfig{Name: "cam3", URL: "gen://color?c=green", Label: "Jib"})
	cfg.Tally = []tally.Config{
		{Protocol: "tsl31", Address: rx31.addr, Brightness: intp(2)},
		{Protocol: "tsl5", Address: rx5.addr, Screen: 3},
		{Protocol: "tsl5", Address: rx5w.addr, Wrap: true, Brightness: intp(1)},
		{Protocol: "tsl5", Address: rxTCP.addr, Transport: "tcp"},
		{Protocol: "tsl5", Address: lateAddr, Transport: "tcp"},
	}
	require.NoError(t, cfg.Validate())
	a, _ := startApp(t, cfg)
	rxs := []*tslRx{rx31, rx5, rx5w, rxTCP}
	expect := func(what string, want map[int]string) {
		t.Helper()
		for _, rx := range rxs {
			rx.waitColors(t, want, 15*time.Second)
		}
		t.Logf("%s: every receiver shows %v", what, want)
	}

	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	expect("program cam1, preview cam2", map[int]string{1: "red", 12: "green", 3: "off"})

	// the texts, brightness and screen, byte for byte as decoded
	require.Equal(t, "Camera One      ", rx31.last[1].Text, "TSL 3.1: 16 characters, space padded")
	require.Equal(t, "cam2            ", rx31.last[12].Text, "no label: the name")
	require.Equal(t, "Jib             ", rx31.last[3].Text)
	require.Equal(t, 2, rx31.last[1].Bright)
	require.Equal(t, "Camera One", rx5.last[1].Text, "TSL 5.0: the text as it is")
	require.Equal(t, 3, rx5.last[1].Bright, "default brightness: full")
	require.Equal(t, 1, rx5w.last[12].Bright)
	rx5.drain()
	p := rx5.next(t, 5*time.Second)
	require.Equal(t, 3, p.screen)
	require.Len(t, p.displays, 3, "one packet holds every display")

	mustAPI(t, "POST", a.apiURL("/cut"), "", nil)
	expect("cut", map[int]string{12: "red", 1: "green", 3: "off"})

	// an automatic transition: both red while it runs, then the swap
	mustAPI(t, "POST", a.apiURL("/auto"), `{"type":"mix","duration_ms":2500}`, nil)
	expect("mid-transition", map[int]string{12: "red", 1: "red", 3: "off"})
	expect("transition done", map[int]string{1: "red", 12: "green", 3: "off"})

	// a camera keyed in a PiP is on air too
	var k keyer.Status
	mustAPI(t, "POST", a.apiURL("/keyers"), `{"type":"pip","source":"cam3","rect":{"x":200,"y":10,"w":100,"h":76},"on":true}`, &k)
	expect("cam3 in a PiP on air", map[int]string{1: "red", 12: "green", 3: "red"})
	mustAPI(t, "POST", a.apiURL("/keyers/"+k.ID+"/off"), "", nil)
	expect("the PiP off", map[int]string{1: "red", 12: "green", 3: "off"})

	// nothing changes: the state comes again every second
	for _, rx := range []*tslRx{rx31, rx5, rxTCP} {
		rx.drain()
		seen := 0
		for seen < 2 { // two more of index 1's messages, unchanged
			p := rx.next(t, 5*time.Second)
			for _, d := range p.displays {
				if d.Index == 1 {
					require.Equal(t, "red", d.Color)
					seen++
				}
			}
		}
	}

	// the receiver that comes up late gets the state from its first packet
	late := newTCPRx(t, lateAddr)
	late.waitColors(t, map[int]string{1: "red", 12: "green", 3: "off"}, 30*time.Second)

	// a dropped connection is dialled again and brought up to date
	rxTCP.drain()
	for len(rxTCP.accepts) > 0 {
		<-rxTCP.accepts
	}
	rxTCP.dropConn()
	select {
	case <-rxTCP.accepts:
	case <-time.After(20 * time.Second):
		t.Fatal("the sender did not connect again")
	}
	mustAPI(t, "POST", a.apiURL("/cut"), "", nil)
	rxTCP.waitColors(t, map[int]string{12: "red", 1: "green"}, 15*time.Second)

	var st tally.Status
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	require.Len(t, st.Destinations, 5)
	for _, d := range st.Destinations {
		require.NotZero(t, d.Sent, "%s sent", d.Address)
	}
	require.Equal(t, "connected", st.Destinations[3].State)
	require.NotEmpty(t, st.Destinations[4].LastError, "the late receiver's refusals are in its status")
	require.Equal(t, []tally.Lamp{
		{Name: "cam1", Label: "Camera One", Index: 1, Tally: "preview", Color: "green"},
		{Name: "cam2", Label: "cam2", Index: 12, Tally: "program", Color: "red"},
		{Name: "cam3", Label: "Jib", Index: 3, Tally: "off", Color: "off"},
	}, st.Sources)
}

// TestTallyLatency: 50 cuts, each timed from before its POST to the first
// TSL 5.0 packet that shows it; every cut makes its packet, in order. The
// once-a-second repeat is off: each packet is sent because the mixer told
// of the change. The figures are logged (the tally's latency in the docs).
func TestTallyLatency(t *testing.T) {
	tallyRepeat = time.Hour
	t.Cleanup(func() { tallyRepeat = time.Second })
	rx := newUDPRx(t, "tsl5", false)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"}, ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue"})
	cfg.Tally = []tally.Config{{Protocol: "tsl5", Address: rx.addr}}
	a, _ := startApp(t, cfg)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	rx.waitColors(t, map[int]string{1: "red", 2: "green"}, 15*time.Second)
	var lat []time.Duration
	prog := 1
	for i := range 50 {
		rx.drain()
		prog = 3 - prog
		t0 := time.Now()
		mustAPI(t, "POST", a.apiURL("/cut"), "", nil)
		_, p := rx.waitColors(t, map[int]string{prog: "red", 3 - prog: "green"}, 10*time.Second)
		require.False(t, p.at.Before(t0), "cut %d: its packet came before it", i)
		lat = append(lat, p.at.Sub(t0))
	}

	// a label changed through the API goes out at once too
	mustAPI(t, "PATCH", a.apiURL("/sources/cam2"), `{"label":"CAM 2 Jib"}`, nil)
	for rx.last[2].Text != "CAM 2 Jib" {
		rx.next(t, 10*time.Second)
	}
	slices.Sort(lat)
	t.Logf("tally latency, cut (before the POST) to the TSL 5.0 packet received, over %d cuts: median %s, worst %s",
		len(lat), lat[len(lat)/2], lat[len(lat)-1])
}

// TestTallyHostileReceiver: a TCP receiver that accepts and never reads,
// and labels of 200 characters and beyond ASCII. The show goes on: the
// API answers, the program's frames keep coming, the other receiver gets
// every change; the stuck one is dropped at the write deadline (in its
// status) and dialled again. The texts are cut and transliterated as the
// formats say.
func TestTallyHostileReceiver(t *testing.T) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error { // a small window: it fills soon
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	stuck, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := stuck.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held, never read
		}
	}()
	t.Cleanup(func() {
		_ = stuck.Close()
		for c := range accepted {
			_ = c.Close()
		}
	})
	rx31 := newUDPRx(t, "tsl31", false)
	rx5 := newUDPRx(t, "tsl5", false)

	long := string([]rune(strings.Repeat("Kamera Überkopf — ", 12))[:200]) // 200 characters, accents and a dash
	srcs := []ingest.SourceConfig{{Name: "cam1", URL: "gen://color?c=red", Label: "Caméra Ünïcode 東京 wide"}}
	for i := 2; i <= 40; i++ { // pushed sources, offline: cheap, each with a long label
		srcs = append(srcs, ingest.SourceConfig{Name: fmt.Sprintf("cam%d", i), Label: long})
	}
	cfg := testConfig(t, srcs...)
	cfg.Tally = []tally.Config{{Protocol: "tsl5", Address: stuck.Addr().String(), Transport: "tcp"},
		{Protocol: "tsl31", Address: rx31.addr}, {Protocol: "tsl5", Address: rx5.addr}}
	a, _ := startApp(t, cfg)

	// the texts, as each format takes them
	last, _ := rx31.waitColors(t, map[int]string{1: "off"}, 15*time.Second)
	require.Equal(t, "Camera Unicode ?", last[1].Text, "TSL 3.1: ASCII, accents dropped, the rest '?', cut to 16")
	last, _ = rx5.waitColors(t, map[int]string{1: "off", 2: "off"}, 15*time.Second)
	require.Equal(t, "Camera Unicode ?? wide", last[1].Text)
	require.Equal(t, strings.Repeat("Kamera Uberkopf ? ", 12)[:200], last[2].Text, "TSL 5.0: the whole label, transliterated")

	// flood the stuck receiver with changes, 8 kB of state each: each cut
	// waits until the other receiver has it, so each is sent
	m0 := a.mixer.Stats()
	for i := range 200 {
		t0 := time.Now()
		n := 2 + i%39
		mustAPI(t, "POST", a.apiURL("/program"), fmt.Sprintf(`{"source":"cam%d"}`, n), nil)
		require.Less(t, time.Since(t0), 5*time.Second, "the API answers while a tally receiver is stuck")
		rx5.waitColors(t, map[int]string{n: "red"}, 10*time.Second)
	}
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam7"}`, nil)
	rx5.waitColors(t, map[int]string{7: "red", 1: "off"}, 15*time.Second)
	waitFor(t, 30*time.Second, "the stuck receiver dropped at the write deadline", func() bool {
		var st tally.Status
		mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
		return strings.Contains(st.Destinations[0].LastError, "timeout")
	})
	m1 := a.mixer.Stats()
	require.Greater(t, m1.FramesOut, m0.FramesOut, "the program's frames keep coming")
	t.Logf("program frames during the flood: %d out, %d late", m1.FramesOut-m0.FramesOut, m1.Late-m0.Late)
	select { // it was dialled again
	case <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck receiver was not dialled again")
	}
}

// TestTallyPageInBrowser: the web tally page in headless Chromium, on a
// show with a token (given in the address's fragment, which the page
// trades for the session cookie): dark while its camera is off, green
// when it goes to preview, red when it is cut to program, with the label
// large; the loss of the network is shown, and the page catches up by
// itself when it is back. An
// unknown source gets the 404 page.
func TestTallyPageInBrowser(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red", Label: "Camera One"},
		ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue"})
	cfg.HTTP.Token = "tally-token"
	a, _ := startApp(t, cfg)
	base := "http://" + a.http.Addr().String()
	call := func(method, path, body string) {
		t.Helper()
		req, err := http.NewRequest(method, base+"/api/v1"+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer tally-token")
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "%s %s", method, path)
	}
	px := newCutProxy(t, a.http.Addr().String()) // the browser's network, which the test can cut
	page := "http://" + px.addr
	ctx := newBrowser(t)
	var url, label, bg string
	waitTally := func(want string) {
		t.Helper()
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Poll(`window.tally && window.tally.ready && window.tally.tally === "`+want+`"`, nil, chromedp.WithPollingTimeout(20*time.Second)),
			chromedp.Evaluate(`getComputedStyle(document.body).backgroundColor`, &bg),
			chromedp.Text(`#label`, &label, chromedp.ByID)), "the page shows %s", want)
	}
	require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(page+"/tally/cam1#token=tally-token")))
	waitTally("off")
	require.Equal(t, "Camera One", label)
	require.Equal(t, "rgb(17, 17, 17)", bg, "dark")
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`location.href`, &url)))
	require.NotContains(t, url, "tally-token", "the token is dropped from the address")

	call("POST", "/preview", `{"source":"cam1"}`)
	waitTally("preview")
	require.Equal(t, "rgb(0, 176, 48)", bg, "green")
	call("POST", "/program", `{"source":"cam1"}`)
	waitTally("program")
	require.Equal(t, "rgb(224, 0, 0)", bg, "red")
	call("POST", "/program", `{"source":"cam2"}`)
	waitTally("preview")

	// the network goes away and comes back: the page shows the loss, and
	// catches up with what changed meanwhile by itself
	px.setDown(true)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`document.getElementById("link").className === "down"`, nil, chromedp.WithPollingTimeout(20*time.Second))))
	call("POST", "/program", `{"source":"cam1"}`)
	px.setDown(false)
	waitTally("program")

	// an unknown source: the 404 page says so (the browser has the
	// session: the server knows who asks)
	var text string
	require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(page+"/tally/nosuch"),
		chromedp.Poll(`document.body && document.body.className === "unknown"`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#label`, &text, chromedp.ByID)))
	require.Contains(t, text, "No source named “nosuch”")
}

// cutProxy forwards TCP connections to an address; setDown(true) cuts
// every connection and refuses new ones until setDown(false).
type cutProxy struct {
	addr  string
	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newCutProxy(t *testing.T, to string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		p.setDown(true)
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			p.mu.Lock()
			if err != nil || p.down {
				p.mu.Unlock()
				_ = c.Close()
				if up != nil {
					_ = up.Close()
				}
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				_ = dst.Close()
				_ = src.Close()
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return p
}

func (p *cutProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

// TestTallyConfig: the show file's tally settings are checked with the key
// at fault named; tally_keyers defaults to true and takes the environment.
func TestTallyConfig(t *testing.T) {
	for _, c := range []struct{ yaml, key string }{
		{"tally: [{ protocol: tsl31, address: \"10.0.0.20:4001\", transport: tcp }]", "tally[0].transport"},
		{"tally: [{ protocol: tsl5, address: \"10.0.0.20:8900\" }, { protocol: tsl4, address: \"x:1\" }]", "tally[1].protocol"},
		{"tally: [{ protocol: tsl5, address: \"10.0.0.20\" }]", "tally[0].address"},
		{"tally: [{ protocol: tsl5, address: \"10.0.0.20:8900\", brightness: 9 }]", "tally[0].brightness"},
		{"tally: [{ protocol: tsl5, address: \"10.0.0.20:8900\", colour: red }]", "tally[0].colour"},
		{"sources: [{ name: cam1, tally_index: 65535 }]", "sources[0].tally_index"},
		{"sources: [{ name: cam1, label: \"a\\tb\" }]", "sources[0].label"},
	} {
		cfg, err := ParseConfig([]byte(c.yaml))
		if err == nil {
			err = cfg.Validate()
		}
		require.Error(t, err, c.yaml)
		require.Contains(t, err.Error(), c.key, c.yaml)
	}
	p := filepath.Join(t.TempDir(), "show.yaml")
	require.NoError(t, os.WriteFile(p, []byte("tally: [{ protocol: tsl5, address: \"10.0.0.20:8900\", transport: tcp }]\n"), 0o600))
	cfg, err := LoadConfig(p, nil)
	require.NoError(t, err)
	require.True(t, cfg.TallyKeyers)
	cfg, err = LoadConfig(p, []string{"SWITCHYARD_TALLY_KEYERS=0"})
	require.NoError(t, err)
	require.False(t, cfg.TallyKeyers)
}
