// Package hls is the LL-HLS origin: the program (with its renditions as
// the variants of a multivariant playlist), the preview and, when asked
// for, every source, cut into Low-Latency HLS segments and parts
// (github.com/bluenviron/gohlslib) from the encodes Switchyard already
// makes, with the headers a CDN or a caching proxy needs to carry many
// viewers for a few origin requests. See docs/hls.md; the LL-HLS rules are
// RFC 8216bis (draft-pantos-hls-rfc8216bis), section 6.2.5 and 6.2.6.
package hls

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchyard/internal/fault"
	"switchyard/media"
)

// Config is the hls: section of the show file.
type Config struct {
	// SegmentDuration is the least length of a segment (default 1s); a
	// segment is cut at the first key frame after it, so the program's
	// keyint sets the real length when it is longer.
	SegmentDuration time.Duration
	// PartDuration is the least length of an LL-HLS part (default 200ms).
	PartDuration time.Duration
	// SegmentCount is how many segments each playlist lists and the
	// origin keeps in memory (default 7, the least LL-HLS allows).
	SegmentCount int
	// Sources serves every source at /hls/live/NAME/index.m3u8 too.
	Sources bool
	// Ladder are the program's renditions, each a variant of
	// /hls/program/index.m3u8.
	Ladder []Rung
	// IdleTimeout stops a muxer nobody asked anything of for this long
	// (default 1 minute).
	IdleTimeout time.Duration
	// ReadyTimeout bounds how long a request waits for a starting muxer's
	// first segment (default 15s) before a 503.
	ReadyTimeout time.Duration
}

// Defaults fills what c leaves at zero.
func (c *Config) Defaults() {
	if c.SegmentDuration == 0 {
		c.SegmentDuration = time.Second
	}
	if c.PartDuration == 0 {
		c.PartDuration = 200 * time.Millisecond
	}
	if c.SegmentCount == 0 {
		c.SegmentCount = 7
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = time.Minute
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 15 * time.Second
	}
}

// Validate checks a defaulted c; the error names the field at fault.
func (c *Config) Validate() error {
	switch {
	case c.SegmentDuration < 200*time.Millisecond || c.SegmentDuration > 30*time.Second:
		return fault.Invalidf("segment_duration", "%s must be between 200ms and 30s", c.SegmentDuration)
	case c.PartDuration < 50*time.Millisecond || c.PartDuration > c.SegmentDuration/2:
		return fault.Invalidf("part_duration", "%s must be at least 50ms and at most half of segment_duration (%s)", c.PartDuration, c.SegmentDuration)
	case c.SegmentCount < 7 || c.SegmentCount > 60:
		return fault.Invalidf("segment_count", "%d must be between 7 (the least Low-Latency HLS allows) and 60", c.SegmentCount)
	}
	return nil
}

// Rung is one rendition of the program: an encode at BPS (bit/s, below
// the program's), Height pixels high (0: the program's size). Its files
// are in the folder Dir names: "1500k", or "360p800k".
type Rung struct {
	Height, BPS int
}

// Dir is the rung's folder under /hls/program/.
func (r Rung) Dir() string {
	if r.Height > 0 {
		return strconv.Itoa(r.Height) + "p" + strconv.Itoa(r.BPS/1000) + "k"
	}
	return strconv.Itoa(r.BPS/1000) + "k"
}

// Streams finds what a name serves: "program", "preview" or "live/NAME"
// (output/serve's path table). release is called when the origin stops
// reading it.
type Streams interface {
	Stream(name string) (st *media.Stream, release func(), err error)
}

// Renditions gives the program re-encoded at a lower bitrate, and at a
// smaller height when asked (the mixer; the same encodes the outputs with
// a video_bitrate share). Height 0 is the program's.
type Renditions interface {
	AcquireScaledRendition(height, bps int) (*media.Stream, error)
	ReleaseScaledRendition(height, bps int)
}

// Origin serves /hls/. Set the exported fields, then Start; Close stops
// every muxer.
type Origin struct {
	Config     Config
	Streams    Streams
	Renditions Renditions // nil: no ladder
	// ReadKey returns the key a reader of stream ("program", "preview" or a
	// source's name) must give as ?key=; empty: open.
	ReadKey func(stream string) string
	Log     *slog.Logger

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	variants map[string]*variant
	closed   bool
	stats    stats
	warned   sync.Map // renditions left out of the ladder, logged once
}

// Start fills defaults and checks the configuration.
func (o *Origin) Start() error {
	o.Config.Defaults()
	if err := o.Config.Validate(); err != nil {
		return err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Log = o.Log.With("component", "hls")
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.variants = map[string]*variant{}
	return nil
}

// Close stops every muxer (requests waiting on one are answered) and waits
// for them. Safe twice.
func (o *Origin) Close() {
	if o.cancel == nil {
		return
	}
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	o.wg.Wait()
}

// Muxers returns how many muxers run now.
func (o *Origin) Muxers() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.variants)
}

// errNotServed is a request for something the origin does not serve.
var errNotServed = errors.New("not served")

// variant returns the running muxer of key (a rendition's when rung is
// set), starting it when needed.
func (o *Origin) variant(key string, rung *Rung) (*variant, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, fmt.Errorf("the origin is closing")
	}
	if v := o.variants[key]; v != nil {
		select {
		case <-v.done:
		default:
			return v, nil
		}
	}
	var st *media.Stream
	var release func()
	var err error
	if rung != nil {
		if o.Renditions == nil {
			return nil, errNotServed
		}
		r := *rung
		if st, err = o.Renditions.AcquireScaledRendition(r.Height, r.BPS); err != nil {
			return nil, err
		}
		release = func() { o.Renditions.ReleaseScaledRendition(r.Height, r.BPS) }
	} else if st, release, err = o.Streams.Stream(key); err != nil {
		return nil, err
	}
	v, err := newVariant(key, st, release, o.Config, o.Log)
	if err != nil {
		release()
		return nil, err
	}
	o.variants[key] = v
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		v.run(o.ctx, o.Config, o.Log)
		o.mu.Lock()
		if o.variants[key] == v {
			delete(o.variants, key)
		}
		o.mu.Unlock()
	}()
	return v, nil
}

// ServeHTTP answers GET, HEAD and OPTIONS under /hls/.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range")
	h.Set("Access-Control-Max-Age", "86400")
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		o.fail(w, http.StatusMethodNotAllowed, "the HLS origin answers GET, HEAD and OPTIONS")
		return
	}
	// every request that reaches the origin is counted, by what it asks for
	rw := &writer{ResponseWriter: w, kind: kindOf(path.Base(r.URL.Path)), stats: &o.stats, blockMaxAge: o.blockMaxAge(),
		blocking: r.URL.Query().Get("_HLS_msn") != ""}
	defer rw.done()
	stream, dir, file, ok := o.route(strings.TrimPrefix(r.URL.Path, "/hls/"))
	if !ok {
		o.fail(rw, http.StatusNotFound, "no such HLS path; try /hls/program/index.m3u8")
		return
	}
	if want := o.readKey(stream); want != "" {
		got := r.URL.Query().Get("key")
		switch {
		case got == "":
			o.fail(rw, http.StatusUnauthorized, "this stream needs the read key: add ?key=READ_KEY to the playlist's URL")
			return
		case subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1:
			o.fail(rw, http.StatusForbidden, "wrong read key")
			return
		}
	}
	r = withQuery(r)
	if stream == "program" && dir == "" && file == "index.m3u8" && len(o.Config.Ladder) > 0 {
		o.serveLadder(rw, r)
		return
	}
	key := stream
	if stream != "program" && stream != "preview" {
		key = "live/" + stream
	}
	var rung *Rung
	if dir != "" {
		i := slices.IndexFunc(o.Config.Ladder, func(r Rung) bool { return r.Dir() == dir })
		if i < 0 {
			o.fail(rw, http.StatusNotFound, fmt.Sprintf("no rendition %q of the program", dir))
			return
		}
		rung = &o.Config.Ladder[i]
		key += "/" + dir
	}
	v, err := o.variant(key, rung)
	if err != nil {
		o.failErr(rw, err)
		return
	}
	o.serveVariant(rw, r, v)
}

// serveVariant hands r to v's muxer, with a 404 for a file it does not
// (or no longer) have and a 503 while it starts.
func (o *Origin) serveVariant(w *writer, r *http.Request, v *variant) {
	if !v.serve(w, r, o.Config) {
		if r.Context().Err() == nil {
			o.fail(w, http.StatusServiceUnavailable, "the stream is starting or ended; try again in a few seconds")
		}
		return
	}
	if !w.wrote {
		o.fail(w, http.StatusNotFound, "no such segment or part (it left the playlist, or the stream restarted): reload the playlist")
	}
}

// route splits a path under /hls/ into the stream's read-key name, a
// rendition's folder and the file.
func (o *Origin) route(p string) (stream, dir, file string, ok bool) {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 2 && (parts[0] == "program" || parts[0] == "preview"):
		return parts[0], "", parts[1], validFile(parts[1])
	case len(parts) == 3 && parts[0] == "program":
		return "program", parts[1], parts[2], validFile(parts[2]) && rungDir.MatchString(parts[1])
	case len(parts) == 3 && parts[0] == "live" && o.Config.Sources:
		return parts[1], "", parts[2], parts[1] != "" && validFile(parts[2])
	}
	return "", "", "", false
}

func validFile(f string) bool {
	return f != "" && (strings.HasSuffix(f, ".m3u8") || strings.HasSuffix(f, ".mp4"))
}

// rungDir is the shape of a rendition's folder (Rung.Dir).
var rungDir = regexp.MustCompile(`^([1-9][0-9]{0,4}p)?[1-9][0-9]{0,6}k$`)

func (o *Origin) readKey(stream string) string {
	if o.ReadKey == nil {
		return ""
	}
	return o.ReadKey(stream)
}

// blockMaxAge is how long a CDN may keep the answer to a blocking playlist
// request (one naming _HLS_msn): it names one moment of the stream, the
// same for every viewer, and is asked for while that segment is in the
// playlist, so a cache that keeps it that long collapses every viewer's
// request into one.
func (o *Origin) blockMaxAge() int {
	return max(1, int((time.Duration(o.Config.SegmentCount)*o.Config.SegmentDuration)/time.Second))
}

// withQuery keeps of r's query only what the origin reads (the read key and
// the LL-HLS directives), re-encoded: the muxer copies the query into every
// URL its playlists name, so a CDN's viewers pass the key on, and nothing
// else a client sends ends up in a playlist.
func withQuery(r *http.Request) *http.Request {
	q := r.URL.Query()
	keep := url.Values{}
	for _, k := range []string{"key", "_HLS_msn", "_HLS_part", "_HLS_skip"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = keep.Encode()
	return r2
}

func (o *Origin) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// failErr maps a start error: an unknown or not live stream is 404, the
// rest (no rendition to be had, no track HLS carries) 503.
func (o *Origin) failErr(w http.ResponseWriter, err error) {
	if errors.Is(err, errNotServed) || errors.Is(err, fault.NotFound) {
		o.fail(w, http.StatusNotFound, err.Error())
		return
	}
	o.fail(w, http.StatusServiceUnavailable, err.Error())
}
