package testpeer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// StartNginxCache starts nginx as a caching reverse proxy for /hls/ in front
// of origin (host:port), the way a CDN's edge sits in front of an LL-HLS
// origin: proxy_cache keeps what the origin's Cache-Control allows, and
// proxy_cache_lock sends one request per URL to the origin while the
// others wait for its answer (the blocking playlist reloads and the
// preload-hinted parts every viewer asks for at once).
func StartNginxCache(t testing.TB, origin string) *Nginx {
	t.Helper()
	n := &Nginx{t: t, dir: t.TempDir(), Port: FreePort(t)}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	proxy_cache_path %[1]s/cache levels=1:2 keys_zone=hls:16m max_size=512m inactive=2m use_temp_path=off;
	upstream origin { server %[2]s; keepalive 64; }
	server {
		listen 127.0.0.1:%[3]d;
		location /hls/ {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host; # the loopback origin answers to 127.0.0.1 (or http.hosts)
			proxy_cache hls;
			proxy_cache_lock on;
			proxy_cache_lock_timeout 15s;
			proxy_cache_lock_age 15s;
			proxy_read_timeout 30s;
			add_header X-Cache $upstream_cache_status;
		}
	}
}
`, n.dir, origin, n.Port)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// HLSClient follows one media playlist as a player does — blocking
// playlist reloads and parts (LowLatency), or polling and whole segments —
// and fetches what it names without decoding it. It keeps a player's
// clock: playback starts when the first media is in, then runs in real
// time; media that arrives after the play position reached it is a stall
// (counted, and the clock waits for it), and media that left the playlist
// before it was fetched is a stall and counted as missed.
type HLSClient struct {
	// URL is the media playlist's, with ?key=… when the origin needs it.
	URL        string
	LowLatency bool
	HTTP       *http.Client
	// HoldBack is how far behind the newest media playback starts: by
	// default three segments (RFC 8216bis 6.3.3), or with LowLatency
	// three parts (PART-HOLD-BACK is at least two).
	HoldBack time.Duration

	// After Run: what was fetched and how it went.
	Fetched   map[string]bool // parts' or segments' paths
	Stalls    int
	StallTime time.Duration
	Missed    int
	Bytes     int64
	Media     time.Duration // of media fetched
	Err       error         // what ended Run, besides its context

	playStart time.Time
	stalled   time.Duration
	buffered  time.Duration
}

type hlsItem struct {
	msn, part int
	uri       string
	dur       time.Duration
	lastOfSeg bool // the last part of a segment the playlist shows complete
}

// Run follows the playlist until ctx ends.
func (c *HLSClient) Run(ctx context.Context) {
	c.Fetched = map[string]bool{}
	base, err := url.Parse(c.URL)
	if err != nil {
		c.Err = err
		return
	}
	c.Err = c.run(ctx, base)
	if ctx.Err() != nil && (errors.Is(c.Err, context.Canceled) || errors.Is(c.Err, context.DeadlineExceeded)) {
		c.Err = nil
	}
}

func (c *HLSClient) run(ctx context.Context, base *url.URL) error {
	pl, err := c.playlist(ctx, base.String())
	if err != nil {
		return err
	}
	if pl.Map != nil {
		if _, err := c.get(ctx, base, pl.Map.URI); err != nil {
			return err
		}
	}
	items := c.items(pl)
	if len(items) == 0 {
		return fmt.Errorf("%s lists nothing", base)
	}
	start, held := len(items)-1, items[len(items)-1].dur
	for start > 0 && (c.HoldBack > 0 && held < c.HoldBack || c.HoldBack == 0 && len(items)-start < 3) {
		start--
		held += items[start].dur
	}
	last := items[start]
	if err := c.fetch(ctx, base, last); err != nil {
		return err
	}
	for _, it := range items[start+1:] { // the hold-back, then playback starts
		if err := c.fetch(ctx, base, it); err != nil {
			return err
		}
		last = it
	}
	c.playStart = time.Now()
	for {
		for _, it := range items {
			if it.after(last) {
				if !it.next(last, c.LowLatency) {
					c.Stalls++
					c.Missed++
				}
				if err := c.fetch(ctx, base, it); err != nil {
					return err
				}
				last = it
			}
		}
		if c.LowLatency {
			q := base.Query()
			m, p := last.msn, last.part+1
			if last.lastOfSeg { // the next segment's first part (RFC 8216bis 6.2.5.2), as hls.js asks
				m, p = last.msn+1, 0
			}
			q.Set("_HLS_msn", strconv.Itoa(m))
			q.Set("_HLS_part", strconv.Itoa(p))
			u := *base
			u.RawQuery = q.Encode()
			pl, err = c.playlist(ctx, u.String())
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(pl.TargetDuration) * time.Second / 2):
			}
			pl, err = c.playlist(ctx, base.String())
		}
		if err != nil {
			return err
		}
		items = c.items(pl)
		if len(items) > 0 && last.before(items[0]) && !items[0].next(last, c.LowLatency) { // fell out of the window
			c.Stalls++
			c.Missed++
			last = hlsItem{msn: items[0].msn, part: items[0].part - 1}
		}
	}
}

// items lists the playlist's parts (LowLatency) or segments in order.
func (c *HLSClient) items(pl *playlist.Media) []hlsItem {
	var out []hlsItem
	for i, s := range pl.Segments {
		msn := pl.MediaSequence + i
		if s.Gap {
			continue
		}
		if !c.LowLatency {
			out = append(out, hlsItem{msn: msn, part: -1, uri: s.URI, dur: s.Duration})
			continue
		}
		for j, p := range s.Parts {
			out = append(out, hlsItem{msn: msn, part: j, uri: p.URI, dur: p.Duration, lastOfSeg: j == len(s.Parts)-1})
		}
	}
	if c.LowLatency {
		msn := pl.MediaSequence + len(pl.Segments)
		for j, p := range pl.Parts {
			out = append(out, hlsItem{msn: msn, part: j, uri: p.URI, dur: p.Duration})
		}
	}
	return out
}

func (a hlsItem) after(b hlsItem) bool  { return a.msn > b.msn || (a.msn == b.msn && a.part > b.part) }
func (a hlsItem) before(b hlsItem) bool { return b.after(a) }

// next reports whether a follows b directly.
func (a hlsItem) next(b hlsItem, ll bool) bool {
	if !ll {
		return a.msn == b.msn+1
	}
	return (a.msn == b.msn && a.part == b.part+1) || (a.msn == b.msn+1 && a.part == 0)
}

// fetch gets one part or segment and runs the player's clock.
func (c *HLSClient) fetch(ctx context.Context, base *url.URL, it hlsItem) error {
	p, err := c.get(ctx, base, it.uri)
	if err != nil {
		return err
	}
	if !c.playStart.IsZero() {
		if pos := time.Since(c.playStart) - c.stalled; pos > c.buffered {
			c.Stalls++ // the picture froze until this came in
			c.StallTime += pos - c.buffered
			c.stalled += pos - c.buffered
		}
	}
	c.buffered += it.dur
	c.Media += it.dur
	c.Fetched[p] = true
	return nil
}

func (c *HLSClient) playlist(ctx context.Context, u string) (*playlist.Media, error) {
	body, err := c.body(ctx, u)
	if err != nil {
		return nil, err
	}
	pl, err := playlist.Unmarshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	m, ok := pl.(*playlist.Media)
	if !ok {
		return nil, fmt.Errorf("%s is not a media playlist", u)
	}
	return m, nil
}

// get fetches ref relative to base, returning its path.
func (c *HLSClient) get(ctx context.Context, base *url.URL, ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := base.ResolveReference(r)
	_, err = c.body(ctx, u.String())
	return u.Path, err
}

func (c *HLSClient) body(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, res.Status, b)
	}
	c.Bytes += int64(len(b))
	return b, nil
}
