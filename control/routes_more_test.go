package control

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/ingest/replay"
	"switchyard/internal/fault"
	"switchyard/internal/protocols/whip"
	"switchyard/output/hls"
)

// routeVisits records which operation each request of TestRoutes reached
// and what it answered, so the test can say which operations of the
// OpenAPI table it never drove.
type routeVisits struct {
	mu  sync.Mutex
	ops map[string][]int // "METHOD /path/{param}" → statuses seen
}

// visits is TestRoutes' record; nil outside it.
var visits *routeVisits

var (
	opPatternsOnce sync.Once
	opPatterns     []opPattern
)

type opPattern struct {
	key    string
	method string
	re     *regexp.Regexp
	params int
}

// operationOf names the operation of the table that method and path reach,
// the one with the fewest parameters when several match (a fixed segment
// wins over a parameter, as in the router).
func operationOf(method, path string) string {
	opPatternsOnce.Do(func() {
		for _, op := range operations {
			params := strings.Count(op.path, "{")
			expr := regexp.QuoteMeta(op.path)
			expr = strings.ReplaceAll(expr, `\{path\}`, `.+`)
			expr = strings.ReplaceAll(expr, `\{file\}`, `[^/]+`)
			expr = regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(expr, `[^/]+`)
			opPatterns = append(opPatterns, opPattern{key: op.method + " " + op.path, method: op.method,
				re: regexp.MustCompile("^" + expr + "$"), params: params})
		}
		sort.SliceStable(opPatterns, func(i, j int) bool { return opPatterns[i].params < opPatterns[j].params })
	})
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for _, p := range opPatterns {
		if p.method == method && p.re.MatchString(path) {
			return p.key
		}
	}
	return ""
}

func (v *routeVisits) add(method, path string, status int) {
	if v == nil {
		return
	}
	key := operationOf(method, path)
	if key == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ops[key] = append(v.ops[key], status)
}

// noRefusal are the operations with no refusal of their own to drive: what
// any caller may ask and always gets (the guard's and the roles' refusals
// are driven elsewhere, once for all routes).
var noRefusal = map[string]string{
	"GET /healthz":                "always answers",
	"GET /metrics":                "always answers",
	"GET /":                       "always answers",
	"GET /api/v1/openapi.json":    "always answers",
	"GET /api/v1/state":           "always answers",
	"GET /api/v1/sources":         "a list",
	"GET /api/v1/keyers":          "a list",
	"GET /api/v1/outputs":         "a list",
	"GET /api/v1/recordings":      "a list",
	"GET /api/v1/tally":           "a list",
	"GET /api/v1/macros":          "a list",
	"GET /api/v1/audio":           "a list",
	"GET /api/v1/clips":           "a list",
	"GET /api/v1/session":         "who the caller is: refused only with tokens (TestTokenGuessingThrottled)",
	"DELETE /api/v1/session":      "logging out always works",
	"GET /api/v1/events":          "a stream: refused only over the client cap (control's limits)",
	"GET /multiview.mjpeg":        "a stream: refused only over the viewer cap",
	"POST /api/v1/cut":            "takes no body and always cuts",
	"POST /api/v1/ftb":            "takes no body and always fades",
	"POST /api/v1/recording/stop": "its refusal (nothing running, 409) is its first step",
	"OPTIONS /hls/{path}":         "a preflight",
	"OPTIONS /whip/{source}":      "a preflight",
	"OPTIONS /whip/{source}/{id}": "a preflight",
	"OPTIONS /whep/{source}":      "a preflight",
	"OPTIONS /whep/{source}/{id}": "a preflight",
}

// checkEveryOperation fails for each operation of the table that the
// visits never saw answer its documented status (its happy path) or, but
// for those in noRefusal, a 4xx or 5xx (its main refusal).
func checkEveryOperation(t *testing.T, v *routeVisits) {
	t.Helper()
	var missing []string
	for _, op := range operations {
		key := op.method + " " + op.path
		seen := v.ops[key]
		if !slices.Contains(seen, op.status) {
			missing = append(missing, fmt.Sprintf("%s: never answered %d (saw %v)", key, op.status, seen))
		}
		if _, ok := noRefusal[key]; ok || op.status >= 400 {
			continue
		}
		if !slices.ContainsFunc(seen, func(s int) bool { return s >= 400 && s != op.status }) {
			missing = append(missing, fmt.Sprintf("%s: never refused (saw %v)", key, seen))
		}
	}
	require.Empty(t, missing, "every operation of the OpenAPI table is driven by TestRoutes, its happy path and its main refusal")
}

// fakeClipLib is a clips folder held in memory: names must end in a
// container's extension.
type fakeClipLib struct {
	mu    sync.Mutex
	clips map[string]int64
}

func (f *fakeClipLib) List() ([]ingest.ClipInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []ingest.ClipInfo{}
	for n, size := range f.clips {
		out = append(out, ingest.ClipInfo{Name: n, SizeBytes: size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeClipLib) Put(name string, r io.Reader) (ingest.ClipInfo, error) {
	n, _ := io.Copy(io.Discard, r)
	if !strings.HasSuffix(name, ".mp4") && !strings.HasSuffix(name, ".mov") {
		return ingest.ClipInfo{}, fault.Invalidf("file", "a clip's name ends in .mp4, .mov, .mkv or .webm")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clips == nil {
		f.clips = map[string]int64{}
	}
	f.clips[name] = n
	return ingest.ClipInfo{Name: name, SizeBytes: n}, nil
}

func (f *fakeClipLib) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clips = nil
}

func (f *fakeClipLib) Delete(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.clips[name]; !ok {
		return fault.New(fault.NotFound, "no such clip")
	}
	delete(f.clips, name)
	return nil
}

// fakeReplay is the replay machine without buffers: marks on known
// sources, the speeds the real one takes.
type fakeReplay struct {
	mu     sync.Mutex
	known  func(string) bool
	in     *replay.Mark
	played []replay.Info
}

func (f *fakeReplay) SetMark(source string, out bool) (replay.Mark, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if out {
		if f.in == nil {
			return replay.Mark{}, fault.New(fault.Conflict, "mark in first")
		}
		source = f.in.Source
	}
	if source == "" || !f.known(source) {
		return replay.Mark{}, fault.Errorf(fault.NotFound, "no source named %q", source)
	}
	m := replay.Mark{Source: source, PTSS: 1.5, At: time.Now()}
	if !out {
		f.in = &m
	}
	return m, nil
}

func (f *fakeReplay) Play(req replay.Request) (replay.Info, error) {
	speed := req.Speed
	if speed == 0 {
		speed = 1
	}
	if !slices.Contains(replay.Speeds, speed) {
		return replay.Info{}, fault.Invalidf("speed", "speed %g is not one of 0.25, 0.5, 0.75, 1", req.Speed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	source := req.Source
	if source == "" && f.in != nil {
		source = f.in.Source
	}
	if !f.known(source) {
		return replay.Info{}, fault.Errorf(fault.NotFound, "no source named %q", source)
	}
	in := replay.Info{ID: fmt.Sprintf("r%d", len(f.played)+1), Source: source, Speed: speed, StartedAt: time.Now(), OnAirAt: time.Now()}
	f.played = append([]replay.Info{in}, f.played...)
	return in, nil
}

func (f *fakeReplay) Playing() (replay.Info, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.played) == 0 {
		return replay.Info{}, false
	}
	return f.played[0], true
}

func (f *fakeReplay) List() []replay.Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.played)
}

// fakeWebRTC is the WHIP/WHEP server without ICE: an offer that is SDP
// gets an answer; the key, the source and the session are checked as the
// real one does.
type fakeWebRTC struct {
	mu       sync.Mutex
	known    func(string) bool
	key      string
	sessions map[string]bool
	counts   whip.Counts
}

func (f *fakeWebRTC) start(source, key string, offer []byte) (*whip.Answer, error) {
	if !strings.HasPrefix(string(offer), "v=0") {
		return nil, fault.Invalidf("sdp", "the offer is not SDP")
	}
	if !f.known(source) {
		return nil, fault.Errorf(fault.NotFound, "no source named %q", source)
	}
	if key != f.key {
		return nil, fault.New(fault.Forbidden, "wrong key")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("s%d", len(f.sessions)+1)
	if f.sessions == nil {
		f.sessions = map[string]bool{}
	}
	f.sessions[source+"/"+id] = true
	return &whip.Answer{ID: id, SDP: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}, nil
}

func (f *fakeWebRTC) end(source, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.sessions[source+"/"+id] {
		return fault.New(fault.NotFound, "no such session")
	}
	delete(f.sessions, source+"/"+id)
	return nil
}

func (f *fakeWebRTC) Publish(source, key string, offer []byte) (*whip.Answer, error) {
	return f.start(source, key, offer)
}
func (f *fakeWebRTC) End(source, id string) error { return f.end(source, id) }
func (f *fakeWebRTC) Play(name, key string, offer []byte) (*whip.Answer, error) {
	return f.start(name, key, offer)
}
func (f *fakeWebRTC) StopPlay(name, id string) error { return f.end(name, id) }
func (f *fakeWebRTC) Stats() *whip.Counts            { return &f.counts }
func (f *fakeWebRTC) Open() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// fakeHLS is the origin's handler with one playlist: the program's.
type fakeHLS struct{}

func (fakeHLS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	switch {
	case r.Method == http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/hls/program/index.m3u8":
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = io.WriteString(w, "#EXTM3U\n")
	default:
		http.Error(w, "no such stream", http.StatusNotFound)
	}
}
func (fakeHLS) Stats() []hls.Stat { return nil }
func (fakeHLS) Muxers() int       { return 0 }

// streamStep opens a stream over a real listener, reads until it holds
// want, and records the visit.
func streamStep(t *testing.T, base, method, path, want string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	visits.add(method, path, resp.StatusCode)
	require.Equal(t, status, resp.StatusCode, "%s %s", method, path)
	if want == "" {
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return
		}
	}
	t.Fatalf("%s %s: no %q in the stream (%v)", method, path, want, sc.Err())
}

// udpSink is a UDP port nothing but the test reads: where a tally
// destination under test sends.
func udpSink(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// withMoreOwners gives s the owners TestRoutes drives beyond the fakes of
// unstartedServer: a clips folder, replay, WHIP/WHEP, the HLS origin and
// an SRT listener.
func withMoreOwners(s *Server) {
	known := func(name string) bool { _, ok := s.Registry.Get(name); return ok }
	s.Clips = &fakeClipLib{}
	s.Replay = &fakeReplay{known: known}
	s.WebRTC = &fakeWebRTC{known: known}
	s.HLS = fakeHLS{}
	s.SRT = &fakeSRT{}
}

// moreRoutes drives the routes added after TestRoutes was first written:
// clips and the player, replay, tally destinations, macros, WHIP, WHEP,
// the guest page, /watch and /hls, the panel's files, the session, the
// readiness, and the streams (over a real listener). Each with its happy
// path and its main refusal; off is a server with none of the optional
// owners, for the "this is off" answers. It needs the source cam1.
func moreRoutes(t *testing.T, h, off http.Handler, o *testOwners) {
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	t.Run("service more", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"GET", "/readyz", "", 503, []string{`program clock not started`}, ""},
			{"GET", "/panel/panel.js", "", 200, nil, ""},
			{"GET", "/panel/nosuch.js", "", 404, []string{`no panel file \"nosuch.js\"`}, ""},
			{"POST", "/api/v1/session", `{"token":"x"}`, 200, []string{`"open":true`}, ""},
			{"POST", "/api/v1/session", `{"tokn":"x"}`, 400, []string{`unknown field \"tokn\"`}, ""},
			{"DELETE", "/api/v1/session", "", 204, nil, ""},
			{"GET", "/api/v1/srt/connections", "", 200, nil, ""},
			// the refusals the first steps left out
			{"POST", "/api/v1/preview", `{"source":"nosuch"}`, 404, []string{`no source named \"nosuch\"`}, ""},
			{"POST", "/api/v1/keyers/nosuch/off", "", 404, []string{`unknown keyer`}, ""},
			{"POST", "/api/v1/outputs/nosuch/stop", "", 404, []string{`no output with that name`}, ""},
		})
		runSteps(t, off, []routeStep{{"GET", "/api/v1/srt/connections", "", 404, []string{`SRT is off`}, ""}})
		o.mix.mu.Lock()
		o.mix.stats.LastFrameAt = time.Now()
		o.mix.mu.Unlock()
		runSteps(t, h, []routeStep{{"GET", "/readyz", "", 200, []string{`"ready":true`}, ""}})
	})
	t.Run("clips", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"GET", "/api/v1/clips", "", 200, []string{`[]`}, ""},
			{"PUT", "/api/v1/clips/intro.mp4", "not really a movie", 201, []string{`"name":"intro.mp4"`, `"size_bytes":18`}, "video/mp4"},
			{"PUT", "/api/v1/clips/intro.txt", "text", 400, []string{`"field":"file"`}, "video/mp4"},
			{"PUT", "/api/v1/clips/intro.mp4", "{}", 415, nil, "application/json"},
			{"GET", "/api/v1/clips", "", 200, []string{`"name":"intro.mp4"`}, ""},
			{"DELETE", "/api/v1/clips/intro.mp4", "", 204, nil, ""},
			{"DELETE", "/api/v1/clips/intro.mp4", "", 404, []string{`no such clip`}, ""},
			{"POST", "/api/v1/sources/cam1/player", `{"action":"play"}`, 200, []string{`"name":"cam1"`}, ""},
			{"POST", "/api/v1/sources/cam1/player", `{"action":"seek"}`, 400, []string{`"field":"position_s"`}, ""},
			{"POST", "/api/v1/sources/cam1/player", `{"action":"seek","position_s":2.5}`, 200, nil, ""},
			{"POST", "/api/v1/sources/cam1/player", `{"action":"fly"}`, 400, []string{`"field":"action"`}, ""},
			{"POST", "/api/v1/sources/nosuch/player", `{"action":"play"}`, 404, []string{`no source named \"nosuch\"`}, ""},
		})
	})
	t.Run("replay", func(t *testing.T) {
		runSteps(t, off, []routeStep{
			{"POST", "/api/v1/replay/mark-in", "", 503, []string{`instant replay is not enabled`}, ""},
			{"POST", "/api/v1/replay", `{"from_s":5}`, 503, []string{`instant replay is not enabled`}, ""},
			{"GET", "/api/v1/replays", "", 503, []string{`instant replay is not enabled`}, ""},
		})
		runSteps(t, h, []routeStep{
			{"POST", "/api/v1/replay/mark-out", "", 409, []string{`mark in first`}, ""},
			{"POST", "/api/v1/replay/mark-in", `{"source":"nosuch"}`, 404, []string{`no source named \"nosuch\"`}, ""},
			{"POST", "/api/v1/replay/mark-in", `{"sourc":"cam1"}`, 400, []string{`unknown field \"sourc\"`}, ""},
			{"POST", "/api/v1/replay/mark-in", `{"source":"cam1"}`, 200, []string{`"source":"cam1"`}, ""},
			{"POST", "/api/v1/replay/mark-out", "", 200, []string{`"source":"cam1"`}, ""},
			{"POST", "/api/v1/replay", `{"speed":0.3}`, 400, []string{`"field":"speed"`}, ""},
			{"POST", "/api/v1/replay", `{"source":"nosuch","from_s":5}`, 404, []string{`no source named \"nosuch\"`}, ""},
			{"POST", "/api/v1/replay", `{"source":"cam1","from_s":5,"speed":0.5}`, 201, []string{`"id":"r1"`, `"speed":0.5`}, ""},
			{"GET", "/api/v1/replays", "", 200, []string{`"id":"r1"`}, ""},
		})
	})
	t.Run("tally destinations", func(t *testing.T) {
		sink := udpSink(t)
		runSteps(t, h, []routeStep{
			{"GET", "/api/v1/tally", "", 200, []string{`"sources"`}, ""},
			{"POST", "/api/v1/tally/destinations", `{"name":"booth","protocol":"tsl5","address":"` + sink + `"}`, 201, []string{`"name":"booth"`, `"transport":"udp"`}, ""},
			{"POST", "/api/v1/tally/destinations", `{"name":"booth","protocol":"tsl5","address":"` + sink + `"}`, 409, []string{`already exists`}, ""},
			{"POST", "/api/v1/tally/destinations", `{"protocol":"tsl5","address":"` + sink + `"}`, 400, []string{`"field":"name"`}, ""},
			{"PATCH", "/api/v1/tally/destinations/booth", `{"screen":3}`, 200, []string{`"screen":3`}, ""},
			{"PATCH", "/api/v1/tally/destinations/booth", `{"transport":"sctp"}`, 400, []string{`"field":"transport"`}, ""},
			{"PATCH", "/api/v1/tally/destinations/booth", `{"screen":"x"}`, 400, []string{`"field":"screen"`, `field \"screen\" must be`}, ""},
			{"PATCH", "/api/v1/tally/destinations/nosuch", `{"screen":3}`, 404, nil, ""},
			{"DELETE", "/api/v1/tally/destinations/booth", "", 204, nil, ""},
			{"DELETE", "/api/v1/tally/destinations/booth", "", 404, nil, ""},
			{"GET", "/tally/cam1", "", 200, []string{"<html"}, ""},
			{"GET", "/tally/nosuch", "", 404, nil, ""},
		})
	})
	t.Run("macros", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"GET", "/api/v1/macros", "", 200, nil, ""},
			{"POST", "/api/v1/macros", `{"name":"open","steps":[{"method":"POST","path":"/api/v1/ftb"},{"method":"POST","path":"/api/v1/ftb","wait_ms":10}]}`, 201, []string{`"name":"open"`}, ""},
			{"POST", "/api/v1/macros", `{"name":"bad","steps":[{"method":"POST","path":"/api/v1/nosuch"}]}`, 400, []string{`no route`}, ""},
			{"POST", "/api/v1/macros", `{"name":"bad","steps":[{"method":"POST","path":"/api/v1/ftb","wait_ms":-1}]}`, 400, []string{`wait_ms`}, ""},
			{"GET", "/api/v1/macros", "", 200, []string{`"name":"open"`}, ""},
			{"POST", "/api/v1/macros/open/run", "", 202, nil, ""},
			{"POST", "/api/v1/macros/nosuch/run", "", 404, nil, ""},
			{"DELETE", "/api/v1/macros/nosuch", "", 404, nil, ""},
			{"DELETE", "/api/v1/macros/open", "", 204, nil, ""},
		})
	})
	t.Run("whip whep guest", func(t *testing.T) {
		for _, kind := range []string{"whip", "whep"} {
			runSteps(t, h, []routeStep{
				{"OPTIONS", "/" + kind + "/cam1", "", 204, nil, ""},
				{"OPTIONS", "/" + kind + "/cam1/s1", "", 204, nil, ""},
				{"POST", "/" + kind + "/cam1", sdp, 415, []string{`Content-Type: application/sdp`}, "text/plain"},
				{"POST", "/" + kind + "/cam1", "hello", 400, []string{`"field":"sdp"`}, "application/sdp"},
				{"POST", "/" + kind + "/nosuch", sdp, 404, []string{`no source named \"nosuch\"`}, "application/sdp"},
				{"POST", "/" + kind + "/cam1", sdp, 201, []string{"v=0"}, "application/sdp"},
				{"PATCH", "/" + kind + "/cam1/s1", "", 405, []string{`trickle ICE`}, ""},
				{"DELETE", "/" + kind + "/cam1/s1", "", 200, nil, ""},
				{"DELETE", "/" + kind + "/cam1/s1", "", 404, []string{`no such session`}, ""},
			})
			runSteps(t, off, []routeStep{{"POST", "/" + kind + "/cam1", sdp, 404, []string{`WebRTC is off`}, "application/sdp"}})
		}
		runSteps(t, h, []routeStep{
			{"GET", "/guest/cam1", "", 200, []string{"<html"}, ""},
			{"GET", "/guest/nosuch/tally", "", 404, []string{`no source \"nosuch\"`}, ""},
		})
		runSteps(t, off, []routeStep{{"GET", "/guest/cam1", "", 404, []string{`WebRTC is off`}, ""}})
	})
	t.Run("hls", func(t *testing.T) {
		runSteps(t, h, []routeStep{
			{"GET", "/hls/program/index.m3u8", "", 200, []string{"#EXTM3U"}, ""},
			{"HEAD", "/hls/program/index.m3u8", "", 200, nil, ""},
			{"OPTIONS", "/hls/program/index.m3u8", "", 204, nil, ""},
			{"GET", "/hls/nosuch/index.m3u8", "", 404, nil, ""},
			{"HEAD", "/hls/nosuch/index.m3u8", "", 404, nil, ""},
			{"GET", "/watch", "", 200, []string{"<html"}, ""},
		})
		runSteps(t, off, []routeStep{
			{"GET", "/watch", "", 404, []string{`the HLS origin is off`}, ""},
			{"GET", "/hls/program/index.m3u8", "", 404, []string{`the HLS origin is off`}, ""},
		})
	})
	t.Run("streams", func(t *testing.T) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		defer srv.CloseClientConnections()
		streamStep(t, srv.URL, "GET", "/api/v1/events", "event: state", 200)
		streamStep(t, srv.URL, "GET", "/guest/cam1/tally", "event: tally", 200)
		o.mix.multiview <- []byte("\xff\xd8fake jpeg\xff\xd9")
		streamStep(t, srv.URL, "GET", "/multiview.mjpeg", "Content-Type: image/jpeg", 200)
	})
}
