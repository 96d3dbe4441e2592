package control

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/goregular"

	"switchyard/ingest"
	"switchyard/mixer/keyer"
	"switchyard/output/tally"
)

// fuzzRoutes are the routes that take a request body, with their path
// parameters filled in with things that exist (or not, for {session}).
var fuzzRoutes = func() []operation {
	var out []operation
	for _, op := range operations {
		if op.method != http.MethodGet && (op.body != nil || op.bodyBinary != nil) {
			out = append(out, op)
		}
	}
	return out
}()

var fuzzParams = strings.NewReplacer("{name}", "cam1", "{id}", "base", "{source}", "cam1", "{session}", "nosuch", "{file}", "x")

// FuzzAPI sends any body to every route that decodes one, through the
// whole stack (guard, roles, decoder, the apply step on the fake owners,
// which validate and render with the real cgo-free parts):
// whatever the body, the answer is never a 500 and an error is a JSON
// sentence; the show is put back as it was after each input.
func FuzzAPI(f *testing.F) {
	for i := range fuzzRoutes {
		for _, seed := range []string{`{}`, `{"x":1}`, `[`, `null`, `{"type":"image","rect":{"x":9223370937343148032,"y":0,"w":1099511627776,"h":2}}`,
			`{"type":"text","text":"hi","font":"go.ttf","size":40}`, `{"type":"image","path":"logo.png"}`, `{"type":"image","path":"/etc/passwd"}`,
			`{"type":"text","font":"../../etc/passwd","text":"x"}`, `{"type":"pip","source":"cam1","border":{"width":4}}`,
			`{"rect":{"x":-2,"y":0,"w":4,"h":4}}`, `{"title":"a","subtitle":"b"}`, `{"type":"lowerthird","title":"Ada"}`,
			`{"type":"clock","mode":"countdown","duration_s":300}`, `{"source":"cam1"}`, `{"source":"black"}`, `{"position":0.5}`,
			`{"type":"wipe","duration_ms":800,"direction":"circle","softness_px":40}`, `{"type":"dip","color":"#fff"}`,
			`{"type":"stinger","clip":"sting.mov","cut_at_ms":400}`, `{"type":"stinger","clip":"../../etc/passwd","cut_at_ms":-1}`,
			`{"gain_db":-3,"mute":true,"mode":"on"}`, `{"gain_db":1e308}`, `{"name":"cam2","url":"gen://image?path=logo.png"}`,
			`{"name":"cam3","url":"gen://color?c=red","jitter_buffer_ms":999999999999}`, `{"jitter_buffer_ms":400}`,
			`{"name":"o1","url":"rtmp://127.0.0.1:1/live/k","enabled":false,"video_bitrate":250000}`, `{"program":true,"iso":["cam1"]}`,
			`{"token":"x"}`, "\x89PNG\r\n\x1a\n",
			`{"action":"seek","position_s":1e308}`, `{"action":"seek","position_s":-9223372036854775808}`, `{"action":"play"}`,
			`{"source":"cam1","from_s":5,"to_s":1,"speed":0.5,"take":true}`, `{"from_s":1e308,"speed":-1e308}`,
			`{"name":"desk","protocol":"tsl5","address":"127.0.0.1:9","screen":70000,"brightness":-1}`, `{"screen":3,"transport":"tcp"}`,
			`{"name":"m1","steps":[{"method":"POST","path":"/api/v1/cut","wait_ms":9223372036854775807}]}`,
			`{"name":"m2","steps":[{"method":"POST","path":"/api/v1/macros"}]}`} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	s, o := unstartedServer(f, io.Discard)
	withMoreOwners(s) // the clips folder, replay, WHIP/WHEP and HLS on fakes: their apply steps run
	h := s.Handler()
	sink := udpSink(f)
	dir := s.Assets.Path()
	if err := os.WriteFile(filepath.Join(dir, "go.ttf"), goregular.TTF, 0o640); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logo.png"), tinyPNG(), 0o640); err != nil {
		f.Fatal(err)
	}
	reset := func() {
		for _, k := range s.Mixer.KeyerSpecs() {
			_ = s.Mixer.DeleteKeyer(k.ID)
		}
		for _, o := range s.Outputs.List() {
			_ = s.Outputs.Remove(o.Name)
		}
		for _, src := range s.Registry.List() {
			if src.Name() != "cam1" {
				_ = s.Sources.Remove(src.Name())
			}
		}
		if _, ok := s.Registry.Get("cam1"); !ok {
			if _, err := s.Sources.Add(ingest.SourceConfig{Name: "cam1"}); err != nil {
				f.Fatal(err)
			}
		}
		if _, err := s.Mixer.AddKeyer(keyer.Spec{ID: "base", Type: keyer.TypeText, Text: "base"}); err != nil {
			f.Fatal(err)
		}
		for _, d := range o.tally.Configs() {
			_ = o.tally.Remove(d.Name)
		}
		// the destination {name} reaches, on a port nothing else reads
		if _, err := o.tally.Add(tally.Config{Name: "cam1", Protocol: tally.TSL5, Address: sink}); err != nil {
			f.Fatal(err)
		}
		s.macros.mu.Lock()
		s.macros.list = nil
		s.macros.mu.Unlock()
		s.Clips.(*fakeClipLib).reset()
	}
	reset()
	errBody := regexp.MustCompile(`^\{"error":"[^"]`)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		op := fuzzRoutes[int(route)%len(fuzzRoutes)]
		if strings.Contains(op.path, "/outputs") && !loopbackURL(body) {
			t.Skip("an output would connect to another host")
		}
		if strings.Contains(op.path, "/tally/") && !loopbackAddress(body) {
			t.Skip("a tally destination would send to another host")
		}
		defer reset()
		ctype := "application/json"
		if op.bodyBinary != nil {
			ctype = op.bodyBinary[0]
		}
		req := httptest.NewRequest(op.method, fuzzParams.Replace(op.path), strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: %d %s", op.method, op.path, body, w.Code, w.Body)
		}
		if w.Code >= 400 && !errBody.Match(w.Body.Bytes()) {
			t.Fatalf("%s %s %q: %d with no error sentence: %s", op.method, op.path, body, w.Code, w.Body)
		}
	})
}

// loopbackURL reports whether body's "url", if any, points at this machine.
func loopbackURL(body []byte) bool {
	var v struct {
		URL *string `json:"url"`
	}
	if json.Unmarshal(body, &v) != nil || v.URL == nil {
		return true // refused before anything connects
	}
	u, err := url.Parse(*v.URL)
	return err != nil || u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost"
}

// loopbackAddress reports whether body's "address", if any, is on this
// machine (a tally destination's).
func loopbackAddress(body []byte) bool {
	var v struct {
		Address *string `json:"address"`
	}
	if json.Unmarshal(body, &v) != nil || v.Address == nil {
		return true
	}
	h, _, err := net.SplitHostPort(*v.Address)
	return err != nil || h == "127.0.0.1" || h == "localhost"
}

// tinyPNG is a 2×2 PNG.
func tinyPNG() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 2, 2)))
	return b.Bytes()
}
