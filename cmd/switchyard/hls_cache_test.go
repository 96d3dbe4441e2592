package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
)

// hlsLoad is what n lightweight HLS clients saw in a window, and what the
// origin served meanwhile (from its /metrics).
type hlsLoad struct {
	clients          int
	window           time.Duration
	stalls, missed   int
	stallTime        time.Duration
	errs             []string
	parts, segments  int // distinct ones the clients fetched
	originByKind     map[string]float64
	originBytes      float64
	clientBytes      int64
	media            time.Duration
	ll, plain        int
	playlistsFetched int
}

func (l hlsLoad) perPart() float64    { return l.originByKind["part"] / float64(max(1, l.parts)) }
func (l hlsLoad) perSegment() float64 { return l.originByKind["segment"] / float64(max(1, l.segments)) }

func (l hlsLoad) String() string {
	return fmt.Sprintf("%d clients (%d LL-HLS, %d plain) for %s: %d stalls (%s in all), %d missed; %d parts and %d segments fetched; origin requests: %.0f playlist, %.0f part (%.2f per part), %.0f segment (%.2f per segment), %.0f init; origin bytes %.1f MB for %.1f MB delivered",
		l.clients, l.ll, l.plain, l.window, l.stalls, l.stallTime, l.missed, l.parts, l.segments, l.originByKind["playlist"], l.originByKind["part"], l.perPart(),
		l.originByKind["segment"], l.perSegment(), l.originByKind["init"], l.originBytes/1e6, float64(l.clientBytes)/1e6)
}

var originMetric = regexp.MustCompile(`(?m)^switchyard_hls_origin_(requests|bytes)_total\{kind="(\w+)"\} (\S+)$`)

// originCounters reads the origin's requests by kind and its bytes.
func originCounters(tb testing.TB, metricsURL string) (map[string]float64, float64) {
	tb.Helper()
	res, err := http.Get(metricsURL)
	require.NoError(tb, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	out, bytes := map[string]float64{}, 0.0
	for _, m := range originMetric.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[3], 64)
		if m[1] == "requests" {
			out[m[2]] = v
		} else {
			bytes += v
		}
	}
	require.NotEmpty(tb, out, "the origin's counters in %s", metricsURL)
	return out, bytes
}

// runHLSLoad starts n clients on the program's multivariant playlist at
// viewBase (a cache or the origin itself), each following one media
// playlist of it (video or audio; LL-HLS parts or plain segments, in
// turn), for d, and counts what the origin served meanwhile.
func runHLSLoad(tb testing.TB, viewBase, metricsURL, key string, n int, d time.Duration) hlsLoad {
	tb.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 4 * n, MaxIdleConnsPerHost: 4 * n,
		MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}}
	defer hc.CloseIdleConnections()
	q := ""
	if key != "" {
		q = "?key=" + url.QueryEscape(key)
	}
	// What a player reads first: the multivariant playlist names the media playlists.
	mvURL := viewBase + "/hls/program/index.m3u8" + q
	res, err := hc.Get(mvURL)
	require.NoError(tb, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(tb, http.StatusOK, res.StatusCode, string(body))
	pl, err := playlist.Unmarshal(body)
	require.NoError(tb, err)
	mv := pl.(*playlist.Multivariant)
	base, _ := url.Parse(mvURL)
	resolve := func(ref string) string {
		r, err := url.Parse(ref)
		require.NoError(tb, err)
		return base.ResolveReference(r).String()
	}
	var media []string
	media = append(media, resolve(mv.Variants[0].URI))
	for _, r := range mv.Renditions {
		if r.URI != nil && r.GroupID == mv.Variants[0].Audio {
			media = append(media, resolve(*r.URI))
		}
	}

	// The muxers started with that request; viewers arrive at a stream
	// that runs: its playlists list a few segments.
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range media {
		for {
			res, err := hc.Get(u)
			require.NoError(tb, err)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Count(string(b), "#EXTINF")-strings.Count(string(b), "#EXT-X-GAP") >= 3 { // past the start's placeholders
				break
			}
			require.True(tb, time.Now().Before(deadline), "%s lists 3 segments within 30 s: %s", u, b)
			time.Sleep(200 * time.Millisecond)
		}
	}

	before, bytes0 := originCounters(tb, metricsURL)
	clients := make([]*testpeer.HLSClient, n)
	var wg sync.WaitGroup
	out := hlsLoad{clients: n, window: d}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for i := range clients {
		c := &testpeer.HLSClient{URL: media[i%len(media)], LowLatency: (i/len(media))%2 == 0, HTTP: hc}
		if c.LowLatency {
			// nginx's proxy_cache_lock lets the requests that wait for
			// another's answer look for it every 500 ms (a fixed timer in
			// ngx_http_file_cache.c): behind it, a part comes up to half a
			// second after it is out, so an LL-HLS player holds back a
			// second, as hls.js settles after its first stall
			// (liveSyncOnStallIncrease). Plain players hold three segments.
			c.HoldBack = time.Second
			out.ll++
		} else {
			out.plain++
		}
		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			select { // viewers come in over a second or two, not in one instant
			case <-time.After(rand.N(2 * time.Second)):
			case <-ctx.Done():
				return
			}
			c.Run(ctx)
		}()
	}
	wg.Wait()
	after, bytes1 := originCounters(tb, metricsURL)
	out.originByKind = map[string]float64{}
	for k, v := range after {
		out.originByKind[k] = v - before[k]
	}
	out.originBytes = bytes1 - bytes0
	parts, segs := map[string]bool{}, map[string]bool{}
	for i, c := range clients {
		out.stalls += c.Stalls
		out.stallTime += c.StallTime
		if c.Stalls > 0 {
			tb.Logf("client %d (%s, LL-HLS %v): %d stalls, %s in all", i, c.URL, c.LowLatency, c.Stalls, c.StallTime)
		}
		out.missed += c.Missed
		out.clientBytes += c.Bytes
		out.media += c.Media
		if c.Err != nil {
			out.errs = append(out.errs, fmt.Sprintf("client %d (%s): %v", i, c.URL, c.Err))
		}
		for p := range c.Fetched {
			if strings.Contains(p, "_part") {
				parts[p] = true
			} else {
				segs[p] = true
			}
		}
	}
	out.parts, out.segments = len(parts), len(segs)
	return out
}

// TestHLSBehindCache: 50 clients watch the program through nginx as a
// caching proxy (proxy_cache, proxy_cache_lock) for 15 s. Every client
// keeps up (no stall: each part or segment in before its play time, none
// missed), and the origin serves at most ~2 requests per part and per
// segment, counted in its own /metrics, however many clients. ffmpeg then
// plays the HLS through the same cache and decodes it without an error.
func TestHLSBehindCache(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"}, ingest.SourceConfig{Name: "tone", URL: "gen://tone"})
	cfg.Buses.Program = "bars"
	cfg.ReadKey = "viewers-key"
	// Segments of 2 s, as program.keyint's default makes them: a player
	// without LL-HLS holds three (RFC 8216bis 6.3.3), and a playlist a
	// cache keeps for max-age=1 may be up to two seconds old there (nginx
	// counts whole seconds).
	cfg.HLS.SegmentDuration = Duration(2 * time.Second)
	require.NoError(t, cfg.Validate())
	a, _ := startApp(t, cfg)
	waitLive(t, a, "bars")
	origin := a.http.Addr().String()
	cache := testpeer.StartNginxCache(t, origin)
	view := "http://" + cache.Addr()

	// The clients' play clocks run in this process beside the origin: a
	// stall of the whole process (a loaded machine) stops the origin and
	// runs their clocks on. A run with stalls while the process was held
	// back at least a fifth of a second (a 10-ms ticker's worst lateness)
	// is the machine's, and is run again, once — unless a client also
	// failed or missed a part or segment, which no stall of the clients
	// excuses.
	var load hlsLoad
	for try := 1; ; try++ {
		stalls := watchStalls()
		t.Cleanup(func() { stalls() })
		load = runHLSLoad(t, view, "http://"+origin+"/metrics", cfg.ReadKey, 50, soakLength(t, 15*time.Second))
		held := stalls()
		t.Logf("%s (the process held back %v at worst)", load, held.Round(time.Millisecond))
		if load.stalls == 0 || held < 200*time.Millisecond || len(load.errs) > 0 || load.missed > 0 || try == 2 {
			break
		}
		t.Logf("%d stalls while the process was held back %v: run again", load.stalls, held.Round(time.Millisecond))
	}
	require.Empty(t, load.errs)
	require.Zero(t, load.stalls, "every client keeps up: %s", load)
	require.Zero(t, load.missed)
	require.Greater(t, load.parts, 30, "the LL-HLS clients followed the parts")
	require.Greater(t, load.segments, 10, "the plain clients followed the segments")
	require.LessOrEqual(t, load.perPart(), 2.0, "origin requests per part behind the cache: %s", load)
	require.LessOrEqual(t, load.perSegment(), 2.0, "origin requests per segment behind the cache: %s", load)

	// ffmpeg, a player without LL-HLS, through the cache: some seconds decoded, no error.
	out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", view+"/hls/program/index.m3u8?key="+cfg.ReadKey,
		"-t", "5", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "ffmpeg decodes without an error")
}
