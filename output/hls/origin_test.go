package hls

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/internal/fault"
	"switchyard/media"
)

func TestRoute(t *testing.T) {
	o := &Origin{Config: Config{Sources: true}}
	for _, c := range []struct {
		path, stream, dir, file string
		ok                      bool
	}{
		{"program/index.m3u8", "program", "", "index.m3u8", true},
		{"program/abc_video1_part3.mp4", "program", "", "abc_video1_part3.mp4", true},
		{"program/2500k/video1_stream.m3u8", "program", "2500k", "video1_stream.m3u8", true},
		{"preview/index.m3u8", "preview", "", "index.m3u8", true},
		{"live/cam1/index.m3u8", "cam1", "", "index.m3u8", true},
		{"live//index.m3u8", "", "", "", false},
		{"program/360p800k/video1_stream.m3u8", "program", "360p800k", "video1_stream.m3u8", true},
		{"program/2500/video1_stream.m3u8", "", "", "", false},
		{"program/p800k/video1_stream.m3u8", "", "", "", false},
		{"program/0360p800k/video1_stream.m3u8", "", "", "", false},
		{"program/02500k/video1_stream.m3u8", "", "", "", false},
		{"program/-5k/video1_stream.m3u8", "", "", "", false},
		{"program/index.html", "", "", "", false},
		{"program", "", "", "", false},
		{"preview/1k/index.m3u8", "", "", "", false},
		{"live/cam1/x/index.m3u8", "", "", "", false},
		{"other/index.m3u8", "", "", "", false},
	} {
		stream, dir, file, ok := o.route(c.path)
		require.Equal(t, c.ok, ok, c.path)
		if ok {
			require.Equal(t, []string{c.stream, c.dir, c.file}, []string{stream, dir, file}, c.path)
		}
	}
	o.Config.Sources = false
	_, _, _, ok := o.route("live/cam1/index.m3u8")
	require.False(t, ok, "sources are served only with Config.Sources")
}

func TestRungDir(t *testing.T) {
	require.Equal(t, "1500k", Rung{BPS: 1_500_000}.Dir())
	require.Equal(t, "360p800k", Rung{Height: 360, BPS: 800_000}.Dir())
	for _, r := range []Rung{{BPS: 1_500_000}, {Height: 360, BPS: 800_000}, {Height: 1080, BPS: 100_000}} {
		require.True(t, rungDir.MatchString(r.Dir()), r.Dir())
	}
}

func TestKindOf(t *testing.T) {
	for file, k := range map[string]Kind{
		"index.m3u8": KindPlaylist, "video1_stream.m3u8": KindPlaylist,
		"0a1b2c_video1_part12.mp4": KindPart, "0a1b2c_video1_seg3.mp4": KindSegment, "0a1b2c_video1_init.mp4": KindInit,
	} {
		require.Equal(t, k, kindOf(file), file)
	}
}

// TestQueryKept: only the key and the LL-HLS directives reach the muxer
// (which copies the query into every URL of its playlists), re-encoded.
func TestQueryKept(t *testing.T) {
	r := httptest.NewRequest("GET", `/hls/program/video1_stream.m3u8?key=a%20b&_HLS_msn=9&_HLS_part=2&x="><script>&_HLS_skip=YES`, nil)
	require.Equal(t, "_HLS_msn=9&_HLS_part=2&_HLS_skip=YES&key=a+b", withQuery(r).URL.RawQuery)
	require.Contains(t, r.URL.RawQuery, "script", "the caller's request is left as it was")
}

func TestConfigValidate(t *testing.T) {
	var c Config
	c.Defaults()
	require.NoError(t, c.Validate())
	for field, bad := range map[string]Config{
		"segment_duration": {SegmentDuration: 100 * time.Millisecond},
		"part_duration":    {PartDuration: 900 * time.Millisecond},
		"segment_count":    {SegmentCount: 6},
	} {
		bad.Defaults()
		err := bad.Validate()
		var fe *fault.Invalid
		require.ErrorAs(t, err, &fe, field)
		require.Equal(t, field, fe.Field)
	}
}

type noStreams struct{}

func (noStreams) Stream(name string) (*media.Stream, func(), error) {
	if name == "live/silent" { // a source with nothing HLS carries
		st := media.NewStream()
		st.SetTracks(&media.Track{Kind: media.KindAudio, Codec: media.CodecPCMA})
		return st, func() {}, nil
	}
	return nil, nil, fault.New(fault.NotFound, "no such path")
}

// TestRefusals: what the origin answers without a muxer, with CORS and
// never kept by a cache.
func TestRefusals(t *testing.T) {
	o := &Origin{Config: Config{Sources: true}, Streams: noStreams{}, ReadKey: func(s string) string {
		if s == "locked" {
			return "k"
		}
		return ""
	}}
	require.NoError(t, o.Start())
	defer o.Close()
	for _, c := range []struct {
		method, url string
		status      int
	}{
		{"GET", "/hls/nothing/index.m3u8", http.StatusNotFound},
		{"GET", "/hls/live/gone/index.m3u8", http.StatusNotFound},
		{"GET", "/hls/live/silent/index.m3u8", http.StatusServiceUnavailable},
		{"GET", "/hls/live/locked/index.m3u8", http.StatusUnauthorized},
		{"GET", "/hls/live/locked/index.m3u8?key=K", http.StatusForbidden},
		{"GET", "/hls/program/1000k/index.m3u8", http.StatusNotFound}, // not in the ladder
		{"POST", "/hls/program/index.m3u8", http.StatusMethodNotAllowed},
		{"OPTIONS", "/hls/program/index.m3u8", http.StatusNoContent},
	} {
		w := httptest.NewRecorder()
		o.ServeHTTP(w, httptest.NewRequest(c.method, c.url, nil))
		require.Equal(t, c.status, w.Code, "%s %s: %s", c.method, c.url, w.Body)
		require.Equal(t, "*", w.Header().Get("Access-Control-Allow-Origin"), c.url)
		if c.status >= 400 {
			require.Equal(t, "no-store", w.Header().Get("Cache-Control"), c.url)
		}
	}
	require.Equal(t, 0, o.Muxers())
	st := o.Stats()
	require.Equal(t, uint64(6), st[KindPlaylist].Requests, "every playlist request that reached the origin is counted; the preflight and the POST are not")
}
