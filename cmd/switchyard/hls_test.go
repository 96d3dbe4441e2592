package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"switchyard/ingest"
	"switchyard/output/hls"
	"switchyard/output/push"
)

// hlsGet fetches url and returns the answer with its body read.
func hlsGet(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// hlsMetric reads one of the origin's counters from /metrics.
func hlsMetric(t *testing.T, a *app, name, kind string) float64 {
	t.Helper()
	body := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	m := regexp.MustCompile(`(?m)^switchyard_` + name + `\{kind="` + kind + `"\} (\S+)$`).FindStringSubmatch(body)
	require.NotNil(t, m, "%s{kind=%q} in /metrics", name, kind)
	var v float64
	_, err := fmt.Sscan(m[1], &v)
	require.NoError(t, err)
	return v
}

var uriAttr = regexp.MustCompile(`URI="([^"]+)"|(?m)^([^#\s][^\s]*)$`)

// playlistURIs lists every URL a playlist names.
func playlistURIs(pl string) []string {
	var out []string
	for _, m := range uriAttr.FindAllStringSubmatch(pl, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

// TestHLSOrigin reads the program, a rendition and a source over LL-HLS as
// a player behind a CDN does, through the HTTP listener: the muxers start
// at the first request and stop when idle; the read key is asked for and
// carried into every URL; the cache headers, the content types and CORS
// are what a CDN and a player on another origin need, and the API keeps
// its own protection.
func TestHLSOrigin(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // after the show closed: every muxer gone
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"})
	cfg.Buses.Program = "cam1"
	cfg.ReadKey = "r3ad"
	cfg.HLS.Sources = true
	cfg.HLS.Renditions = []HLSRendition{{Height: 120, VideoBitrate: 300_000}}
	cfg.Outputs = []OutputConfig{{Name: "low", URL: "rtmp://127.0.0.1:1/live/k", VideoBitrate: 400_000, Enabled: new(bool)}}
	hlsIdleTimeout = 3 * time.Second
	t.Cleanup(func() { hlsIdleTimeout = 0 })
	require.NoError(t, cfg.Validate())
	a, _ := startApp(t, cfg)
	waitLive(t, a, "cam1")
	base := "http://" + a.http.Addr().String()
	require.Equal(t, 0, a.hls.Muxers(), "nothing is muxed before anyone asks")

	// The read key: none is 401, a wrong one 403, for every file.
	for _, u := range []string{"/hls/program/index.m3u8", "/hls/program/x_video1_part1.mp4", "/hls/live/cam1/index.m3u8"} {
		res, body := hlsGet(t, "GET", base+u)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode, u)
		require.Contains(t, body, "?key=")
		res, _ = hlsGet(t, "GET", base+u+"?key=wrong")
		require.Equal(t, http.StatusForbidden, res.StatusCode, u)
		require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"), "a refusal a player on another origin can read")
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"), "no cache keeps a refusal")
	}
	require.Equal(t, 0, a.hls.Muxers(), "a refused request starts nothing")

	// The multivariant playlist: the program, the output's encode and hls.renditions.
	res, mv := hlsGet(t, "GET", base+"/hls/program/index.m3u8?key=r3ad&junk=%22x")
	require.Equal(t, http.StatusOK, res.StatusCode, mv)
	require.Equal(t, "application/vnd.apple.mpegurl", res.Header.Get("Content-Type"))
	require.Equal(t, "public, max-age=1", res.Header.Get("Cache-Control"))
	require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, 3, strings.Count(mv, "#EXT-X-STREAM-INF"), mv)
	require.Contains(t, mv, "400k/video1_stream.m3u8?key=r3ad")
	require.Contains(t, mv, "120p300k/video1_stream.m3u8?key=r3ad")
	require.Contains(t, mv, "RESOLUTION=160x120", "the scaled rendition, at the program's aspect")
	require.Contains(t, mv, "RESOLUTION=320x240")
	require.NotContains(t, mv, "junk", "only the key is carried into the playlists")
	require.Equal(t, 3, a.hls.Muxers())

	// Each variant's media playlist, its parts and segments, key carried on.
	media := func(dir string) string {
		res, pl := hlsGet(t, "GET", base+"/hls/program/"+dir+"video1_stream.m3u8?key=r3ad")
		require.Equal(t, http.StatusOK, res.StatusCode, pl)
		require.Equal(t, "public, max-age=1", res.Header.Get("Cache-Control"))
		require.Contains(t, pl, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES")
		require.Contains(t, pl, "#EXT-X-PART:")
		for _, u := range playlistURIs(pl) {
			if u == "gap.mp4" { // EXT-X-GAP: the LL-HLS start's placeholders, never fetched
				continue
			}
			require.Contains(t, u, "key=r3ad", "every URL of the playlist carries the key")
		}
		return pl
	}
	pl := media("")
	media("120p300k/")
	uris := playlistURIs(pl)
	var part, seg, init string
	for _, u := range uris {
		switch {
		case strings.Contains(u, "_part"):
			part = u
		case strings.Contains(u, "_seg"):
			seg = u
		case strings.Contains(u, "_init"):
			init = u
		}
	}
	require.NotEmpty(t, part)
	require.NotEmpty(t, seg)
	require.NotEmpty(t, init)
	for _, u := range []string{part, seg, init} {
		res, body := hlsGet(t, "GET", base+"/hls/program/"+u)
		require.Equal(t, http.StatusOK, res.StatusCode, u)
		require.Equal(t, "video/mp4", res.Header.Get("Content-Type"), u)
		require.Equal(t, "public, max-age=3600, immutable", res.Header.Get("Cache-Control"), u)
		require.NotEmpty(t, body)
	}

	// A blocking reload (RFC 8216bis 6.2.5.2): the next part; cacheable by all.
	msn := regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`).FindStringSubmatch(pl)
	require.NotNil(t, msn)
	n := strings.Count(pl, "#EXTINF")
	lastParts := strings.Count(pl[strings.LastIndex(pl, "#EXTINF"):], "#EXT-X-PART:")
	var seq int
	fmt.Sscan(msn[1], &seq)
	blockURL := fmt.Sprintf("%s/hls/program/video1_stream.m3u8?_HLS_msn=%d&_HLS_part=%d&key=r3ad", base, seq+n, lastParts)
	res, blocked := hlsGet(t, "GET", blockURL)
	require.Equal(t, http.StatusOK, res.StatusCode, blocked)
	require.Regexp(t, `^public, max-age=\d+$`, res.Header.Get("Cache-Control"))
	require.NotEqual(t, "public, max-age=1", res.Header.Get("Cache-Control"), "a blocking answer is the same for every viewer: kept longer")

	// Hostile or broken directives: 400 (RFC 8216bis 6.2.5.2), never kept,
	// and the show goes on; a path trick is no path.
	for _, q := range []string{"_HLS_msn=99999999&_HLS_part=0", "_HLS_msn=-1", "_HLS_msn=x", "_HLS_part=2", "_HLS_msn=1&_HLS_part=99999999999999999999"} {
		res, _ := hlsGet(t, "GET", base+"/hls/program/video1_stream.m3u8?key=r3ad&"+q)
		require.Equal(t, http.StatusBadRequest, res.StatusCode, q)
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"), q)
	}
	for _, p := range []string{"/hls/live/..%2f..%2fprogram/index.m3u8?key=r3ad", "/hls/live/cam1/..%2f..%2fprogram%2findex.m3u8?key=r3ad",
		"/hls/program/video1_stream.m3u8%00.mp4?key=r3ad", "/hls/live/nosuch/index.m3u8?key=r3ad"} {
		res, _ := hlsGet(t, "GET", base+p)
		require.Equal(t, http.StatusNotFound, res.StatusCode, p)
	}

	// A part that left the playlist (or never was) is 404, never kept.
	res, _ = hlsGet(t, "GET", base+"/hls/program/000000000000_video1_part1.mp4?key=r3ad")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	res, _ = hlsGet(t, "GET", base+"/hls/program/999k/video1_stream.m3u8?key=r3ad")
	require.Equal(t, http.StatusNotFound, res.StatusCode, "a rendition not in the ladder")

	// A source, and the preflight of a player on another origin.
	res, spl := hlsGet(t, "GET", base+"/hls/live/cam1/index.m3u8?key=r3ad")
	require.Equal(t, http.StatusOK, res.StatusCode, spl)
	res, _ = hlsGet(t, "OPTIONS", base+"/hls/live/cam1/index.m3u8", "Origin", "https://player.example", "Access-Control-Request-Method", "GET")
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, res.Header.Get("Access-Control-Allow-Methods"), "GET")
	// The API is not opened by it: no CORS, and a change from that origin refused.
	res, _ = hlsGet(t, "GET", base+"/api/v1/state", "Origin", "https://player.example")
	require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "CORS is for /hls only")
	res, _ = hlsGet(t, "POST", base+"/api/v1/ftb", "Origin", "https://player.example", "Content-Type", "application/json")
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	// The origin's requests by kind in /metrics.
	require.GreaterOrEqual(t, hlsMetric(t, a, "hls_origin_requests_total", "playlist"), 4.0)
	require.GreaterOrEqual(t, hlsMetric(t, a, "hls_origin_requests_total", "part"), 1.0)
	require.GreaterOrEqual(t, hlsMetric(t, a, "hls_origin_requests_total", "segment"), 1.0)
	require.Greater(t, hlsMetric(t, a, "hls_origin_bytes_total", "segment"), 1000.0)

	// Nobody asks: the muxers stop, the renditions' encodes with them.
	waitFor(t, 20*time.Second, "the idle muxers stopped", func() bool { return a.hls.Muxers() == 0 })
	path, err := a.paths.Get("program")
	require.NoError(t, err)
	require.Equal(t, 0, path.Watchers(), "the program is no longer read for HLS")
	// and start again on the next request
	res, _ = hlsGet(t, "GET", base+"/hls/program/video1_stream.m3u8?key=r3ad")
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// TestHLSConfig: the hls: keys' defaults, the environment, and each bad
// value refused with an error naming its key.
func TestHLSConfig(t *testing.T) {
	cfg, err := LoadConfig("", nil)
	require.NoError(t, err)
	require.True(t, cfg.HLS.Enabled, "the origin is on by default")
	oc := cfg.HLS.origin()
	oc.Defaults()
	require.Equal(t, time.Second, oc.SegmentDuration)
	require.Equal(t, 200*time.Millisecond, oc.PartDuration)
	require.Equal(t, 7, oc.SegmentCount)
	require.Equal(t, time.Minute, oc.IdleTimeout)

	cfg, err = LoadConfig("", []string{"SWITCHYARD_HLS_ENABLED=false", "SWITCHYARD_HLS_SEGMENT_DURATION=2s"})
	require.NoError(t, err)
	require.False(t, cfg.HLS.Enabled)
	require.Equal(t, 2*time.Second, time.Duration(cfg.HLS.SegmentDuration))

	cfg, err = ParseConfig([]byte("program: {video_bitrate: 4M}\noutputs: [{name: yt, url: 'rtmp://x/a/k', video_bitrate: 2M}]\n" +
		"hls: {renditions: [{video_bitrate: 1M}, {video_bitrate: 2M, height: 720}]}"))
	require.NoError(t, err)
	var outs []push.Config
	for _, o := range cfg.Outputs {
		outs = append(outs, o.Push())
	}
	require.Equal(t, []hls.Rung{{BPS: 2_000_000}, {BPS: 1_000_000}}, hlsLadder(cfg.HLS, outs, 720, int(cfg.Program.VideoBitrate)),
		"the outputs' encodes and hls.renditions, highest first, each once")
	cfg.HLS.Renditions = append(cfg.HLS.Renditions, HLSRendition{Height: 360, VideoBitrate: 800_000}, HLSRendition{Height: 360, VideoBitrate: 600_000})
	require.Equal(t, []hls.Rung{{BPS: 2_000_000}, {BPS: 1_000_000}, {Height: 360, BPS: 800_000}, {Height: 360, BPS: 600_000}},
		hlsLadder(cfg.HLS, outs, 720, int(cfg.Program.VideoBitrate)), "the tallest first")

	five := "outputs: ["
	for i := 1; i <= 5; i++ {
		five += fmt.Sprintf("{name: o%d, url: 'rtmp://x/a/k', video_bitrate: %dk},", i, i*100)
	}
	p := filepath.Join(t.TempDir(), "five.yaml")
	require.NoError(t, os.WriteFile(p, []byte(five+"]"), 0o644))
	_, err = LoadConfig(p, nil)
	require.NoError(t, err, "outputs past the cap of encodes are not the ladder's to refuse")

	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "hls: {segments: 3}", "hls.segments: unknown key"},
		{"segment too short", "hls: {segment_duration: 10ms}", "hls.segment_duration"},
		{"part longer than half a segment", "hls: {segment_duration: 1s, part_duration: 600ms}", "hls.part_duration"},
		{"too few segments for LL-HLS", "hls: {segment_count: 3}", "hls.segment_count"},
		{"rendition above the program", "hls: {renditions: [{video_bitrate: 9M}]}", "hls.renditions[0].video_bitrate"},
		{"rendition without a bitrate", "hls: {renditions: [{height: 720}]}", "hls.renditions[0].video_bitrate"},
		{"rendition of an odd height", "hls: {renditions: [{height: 361, video_bitrate: 1M}]}", "hls.renditions[0].height"},
		{"rendition taller than the program", "hls: {renditions: [{height: 1080, video_bitrate: 1M}]}", "hls.renditions[0].height"},
		{"unknown rendition key", "hls: {renditions: [{bitrate: 1M}]}", "hls.renditions[0].bitrate: unknown key"},
		{"too many encodes", "hls: {renditions: [{video_bitrate: 1M}, {video_bitrate: 2M}, {video_bitrate: 3M}, {video_bitrate: 500k}, {video_bitrate: 700k}]}", "hls.renditions"},
		{"bad duration", "hls: {part_duration: soon}", "duration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "show.yaml")
			require.NoError(t, os.WriteFile(p, []byte(c.yaml), 0o644))
			_, err := LoadConfig(p, nil)
			require.ErrorContains(t, err, c.want)
		})
	}
}
