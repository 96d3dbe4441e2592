package hls

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// Kind is what an origin request asked for, for the metrics.
type Kind int

// Request kinds.
const (
	KindPlaylist Kind = iota // a multivariant or media playlist
	KindPart                 // an LL-HLS part
	KindSegment              // a whole segment
	KindInit                 // an fMP4 initialisation section
	numKinds
)

func (k Kind) String() string {
	return [...]string{"playlist", "part", "segment", "init"}[k]
}

// Kinds lists every kind, in order.
func Kinds() []Kind { return []Kind{KindPlaylist, KindPart, KindSegment, KindInit} }

// kindOf tells a file's kind by the names gohlslib gives:
// PREFIX_STREAM_partN.mp4, PREFIX_STREAM_segN.mp4, PREFIX_STREAM_init.mp4.
func kindOf(file string) Kind {
	switch {
	case strings.HasSuffix(file, ".m3u8"):
		return KindPlaylist
	case strings.Contains(file, "_part"):
		return KindPart
	case strings.HasSuffix(file, "_init.mp4"):
		return KindInit
	}
	return KindSegment
}

// stats counts origin requests and the bytes of their bodies by kind.
type stats struct {
	requests [numKinds]atomic.Uint64
	bytes    [numKinds]atomic.Uint64
}

// Stat is one kind's origin requests and bytes since start.
type Stat struct {
	Kind     Kind
	Requests uint64
	Bytes    uint64
}

// Stats returns the origin's requests and bytes by kind.
func (o *Origin) Stats() []Stat {
	out := make([]Stat, 0, numKinds)
	for _, k := range Kinds() {
		out = append(out, Stat{Kind: k, Requests: o.stats.requests[k].Load(), Bytes: o.stats.bytes[k].Load()})
	}
	return out
}

// writer sets the cache headers a CDN needs on the muxer's answers and
// counts the request and its bytes.
//
// Segments, parts and init sections never change under their name:
// immutable, kept an hour. A playlist asked for plainly changes every part:
// max-age=1. A blocking playlist request (_HLS_msn, RFC 8216bis 6.2.5.2)
// is answered when that part exists and means the same to every viewer:
// kept while the segment can be asked for (blockMaxAge), so a cache with a
// request lock sends one of them to the origin. Errors are never kept.
type writer struct {
	http.ResponseWriter
	kind        Kind
	blocking    bool
	blockMaxAge int
	stats       *stats
	wrote       bool
	n           uint64
}

func (w *writer) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	h := w.Header()
	switch {
	case code != http.StatusOK:
		h.Set("Cache-Control", "no-store")
	case w.kind != KindPlaylist:
		h.Set("Cache-Control", "public, max-age=3600, immutable")
	case w.blocking:
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(w.blockMaxAge))
	default:
		h.Set("Cache-Control", "public, max-age=1")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += uint64(n)
	return n, err
}

// Flush lets a long answer out as it is written.
func (w *writer) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *writer) done() {
	w.stats.requests[w.kind].Add(1)
	w.stats.bytes[w.kind].Add(w.n)
}

// serveLadder answers /hls/program/index.m3u8 when the program has
// renditions: one multivariant playlist whose variants are the program's
// own muxer and one per rendition (in folders "2500k/"), each variant with
// its own audio group (each muxer cuts its own copy of the program's
// sound on its own timeline). A rendition that cannot be had (the mixer's
// cap on second encodes) is left out and logged.
func (o *Origin) serveLadder(w *writer, r *http.Request) {
	out := &playlist.Multivariant{Version: 10, IndependentSegments: true}
	dirs := []string{""}
	for _, r := range o.Config.Ladder {
		dirs = append(dirs, r.Dir())
	}
	sub := r.Clone(r.Context())
	sub.URL.Path = "/hls/program/index.m3u8"
	for i, dir := range dirs {
		key, rung := "program", (*Rung)(nil)
		if dir != "" {
			key, rung = "program/"+dir, &o.Config.Ladder[i-1]
		}
		v, err := o.variant(key, rung)
		if err != nil {
			if dir == "" {
				o.failErr(w, err)
				return
			}
			if _, told := o.warned.LoadOrStore(dir, true); !told { // once, not once a playlist load
				o.Log.Warn("rendition left out of the hls ladder", "rendition", dir, "err", err)
			}
			continue
		}
		rec := httptest.NewRecorder()
		if !v.serve(rec, sub, o.Config) || rec.Code != http.StatusOK {
			if dir == "" {
				if r.Context().Err() == nil {
					o.fail(w, http.StatusServiceUnavailable, "the program is starting; try again in a few seconds")
				}
				return
			}
			continue // still starting: it joins the ladder on the next load
		}
		pl, err := playlist.Unmarshal(rec.Body.Bytes())
		mv, ok := pl.(*playlist.Multivariant)
		if err != nil || !ok {
			continue
		}
		prefix, group := "", "audio"
		if dir != "" {
			prefix, group = dir+"/", "audio-"+dir
		}
		for _, va := range mv.Variants {
			va.URI = prefix + va.URI
			if va.Audio != "" {
				va.Audio = group
			}
			out.Variants = append(out.Variants, va)
		}
		for _, re := range mv.Renditions {
			if re.URI != nil {
				u := prefix + *re.URI
				re.URI = &u
			}
			re.GroupID = group
			out.Renditions = append(out.Renditions, re)
		}
	}
	b, err := out.Marshal()
	if err != nil {
		o.fail(w, http.StatusInternalServerError, "multivariant playlist: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.WriteHeader(http.StatusOK)
	_, _ = bytes.NewReader(b).WriteTo(w)
}
