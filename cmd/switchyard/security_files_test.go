package main

import (
	"encoding/json"
	"image/color"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/font/gofont/goregular"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/mixer/keyer"
)

// TestFilesStayInTheAssetsFolder: keyer paths and fonts and gen://image
// read only regular files inside data_dir/assets. /etc/passwd, "..", a
// symbolic link out, /dev/zero and a FIFO are refused at once, in words
// that do not tell what exists — and GET /state answers meanwhile.
func TestFilesStayInTheAssetsFolder(t *testing.T) {
	cfg := testConfig(t)
	a, _ := startApp(t, cfg)
	dir := filepath.Join(cfg.DataDir, "assets")
	st, err := os.Stat(dir)
	require.NoError(t, err, "the assets folder is made at start")
	require.True(t, st.IsDir())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logo.png"), solidPNG(t, 32, 16, color.NRGBA{G: 255, A: 255}), 0o640))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.ttf"), goregular.TTF, 0o640))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe.ttf"), 0o640))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "passwd.png")))
	outside := filepath.Join(cfg.DataDir, "secret.png") // exists, readable, outside the folder
	require.NoError(t, os.WriteFile(outside, solidPNG(t, 8, 8, color.White), 0o640))

	// GET /state keeps answering while the hostile requests run.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var slowest time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			if code := api(t, "GET", a.apiURL("/state"), "", nil); code != http.StatusOK {
				t.Errorf("GET /state: %d", code)
			}
			slowest = max(slowest, time.Since(t0))
			time.Sleep(20 * time.Millisecond)
		}
	}()

	refusal := func(body string) control.APIError {
		t.Helper()
		var e control.APIError
		require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/keyers"), body, &e), body)
		return e
	}
	same := func(e control.APIError, name string) string { return strings.ReplaceAll(e.Msg, name, "NAME") }
	want := same(refusal(`{"type":"image","path":"/nonexistent/x.png"}`), "/nonexistent/x.png")
	for _, c := range []struct{ field, value string }{
		{"path", "/etc/passwd"}, {"path", "../../../../../../etc/passwd"}, {"path", outside}, {"path", "../secret.png"},
		{"path", "passwd.png"}, {"path", "pipe.ttf"}, {"path", "/dev/zero"}, {"path", "nosuch.png"},
		{"font", "/etc/passwd"}, {"font", "pipe.ttf"}, {"font", "/dev/zero"}, {"font", "../secret.png"}, {"font", "passwd.png"},
	} {
		body := `{"type":"image","path":"` + c.value + `"}`
		if c.field == "font" {
			body = `{"type":"text","text":"x","font":"` + c.value + `"}`
		}
		e := refusal(body)
		require.Equal(t, c.field, e.Field, c.value)
		require.Equal(t, want, strings.Replace(same(e, c.value), "font: ", "path: ", 1), "%s: the same words whatever is there", c.value)
		require.NotContains(t, e.Msg, "root:")
	}
	var e control.APIError
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources"), `{"name":"x","url":"gen://image?path=/etc/passwd"}`, &e))
	require.Contains(t, e.Msg, "not a file in the assets folder")
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/sources"), `{"name":"x","url":"gen://image?path=pipe.ttf"}`, &e))
	close(stop)
	wg.Wait()
	t.Logf("slowest GET /state during the refusals: %s", slowest)

	// What is in the folder is used, by its name or its full path.
	var k keyer.Status
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/keyers"), `{"type":"image","path":"logo.png"}`, &k))
	require.Equal(t, keyer.Rect{X: 144, Y: 112, W: 32, H: 16}, *k.Rect, "its own size, centred")
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/keyers"), `{"type":"text","text":"hi","font":"`+filepath.Join(dir, "go.ttf")+`"}`, &k))
	require.Equal(t, "go.ttf", k.Font, "kept relative to the folder")
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/sources"), `{"name":"slate","url":"gen://image?path=logo.png"}`, nil))
	waitLive(t, a, "slate")
}

// TestOldKeyerFilesOnRestart: a show.json from before the assets folder —
// an uploaded image in data_dir/keyers, a logo at an absolute path
// elsewhere — starts: the upload moves into the folder and its keyer comes
// back; the other keyer is left out with a warning that says what to do.
func TestOldKeyerFilesOnRestart(t *testing.T) {
	cfg := testConfig(t)
	old := filepath.Join(cfg.DataDir, "keyers")
	require.NoError(t, os.MkdirAll(old, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(old, "k1.png"), solidPNG(t, 16, 16, color.White), 0o644))
	elsewhere := filepath.Join(t.TempDir(), "logo.png")
	require.NoError(t, os.WriteFile(elsewhere, solidPNG(t, 16, 16, color.White), 0o644))
	show := map[string]any{"sources": []any{}, "outputs": []any{}, "keyers": []map[string]any{
		{"id": "k1", "type": "image", "path": filepath.Join(old, "k1.png"), "rect": map[string]int{"x": 0, "y": 0, "w": 16, "h": 16}},
		{"id": "k2", "type": "image", "path": elsewhere, "rect": map[string]int{"x": 0, "y": 0, "w": 16, "h": 16}},
	}}
	b, err := json.Marshal(show)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cfg.DataDir, "show.json"), b, 0o644))

	a, logs := startApp(t, cfg)
	var k keyer.Status
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/keyers/k1"), "", &k))
	require.Equal(t, "keyers/k1.png", k.Path)
	require.FileExists(t, filepath.Join(cfg.DataDir, "assets", "keyers", "k1.png"))
	require.Contains(t, logs.String(), "uploaded keyer image moved into the assets folder")
	require.Equal(t, http.StatusNotFound, api(t, "GET", a.apiURL("/keyers/k2"), "", nil))
	require.Contains(t, logs.String(), `msg="keyer from show.json not restored`)
	require.Contains(t, logs.String(), "keyer=k2")
	require.Contains(t, logs.String(), "put the file there and give its name relative to it")
}

// TestFilesArePrivate: recordings and show.json are readable by the show's
// user and group only (0640 files, 0750 folders).
func TestFilesArePrivate(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"})
	a, _ := startApp(t, cfg)
	waitPicture(t, a, "bars")
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/audio/master"), `{"gain_db":-3}`, nil)) // writes show.json
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, nil))
	waitFor(t, 10*time.Second, "media in every file", func() bool {
		in, ok := a.recorder.Active()
		for _, f := range in.Files {
			ok = ok && f.Bytes > 0
		}
		return ok && len(in.Files) > 0
	})
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, nil))

	files := 0
	for _, root := range []string{filepath.Join(cfg.DataDir, "recordings"), filepath.Join(cfg.DataDir, "show.json")} {
		require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			info, err := d.Info()
			require.NoError(t, err)
			perm := info.Mode().Perm()
			if d.IsDir() {
				require.Zero(t, perm&^0o750, "%s is %o", p, perm)
			} else {
				require.Zero(t, perm&^0o640, "%s is %o", p, perm)
				files++
			}
			require.Zero(t, perm&0o007, "%s: nothing for others", p)
			return nil
		}))
	}
	require.Greater(t, files, 3, "program, ISO, edit lists, show.json")
}
