package control

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"switchyard/output/hls"
)

// HLS is the LL-HLS origin (output/hls): served at /hls/ outside the API,
// open to players of any origin (CORS) and guarded by the read key, not by
// the API's tokens.
type HLS interface {
	http.Handler
	Stats() []hls.Stat
	Muxers() int
}

// watchCSP lets /watch play through hls.js: media from blob: URLs (Media
// Source Extensions) and hls.js's worker from a blob:, the script and the
// playlists from this server only.
const watchCSP = "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; " +
	"connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// hlsRoutes serves /hls/… from the origin, and /watch, a page that plays
// /hls/program/index.m3u8 with hls.js (control/panel/hls.min.js).
func (s *Server) hlsRoutes(r *gin.Engine, files map[string]asset) {
	h := func(c *gin.Context) {
		if s.HLS == nil {
			fail(c, notFound("the HLS origin is off: set hls.enabled: true"))
			return
		}
		s.HLS.ServeHTTP(c.Writer, c.Request)
	}
	r.GET("/hls/*path", h)
	r.HEAD("/hls/*path", h)
	r.OPTIONS("/hls/*path", h)
	r.GET("/watch", func(c *gin.Context) {
		if s.HLS == nil {
			fail(c, notFound("the HLS origin is off: set hls.enabled: true"))
			return
		}
		a := files["watch.html"]
		c.Header("Content-Security-Policy", watchCSP)
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, a.ctype, a.body)
	})
}

var (
	dHLSRequests = desc("hls_origin_requests_total", "Requests the HLS origin answered, by kind (playlist, part, segment, init): behind a CDN, what reached the origin.", "kind")
	dHLSBytes    = desc("hls_origin_bytes_total", "Bytes of the HLS origin's answers, by kind.", "kind")
	dHLSMuxers   = desc("hls_muxers", "HLS muxers running (each started by a request, stopped when idle).")
)

// hlsCollector reads the origin's counters when /metrics is scraped.
type hlsCollector struct{ h HLS }

func (c hlsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dHLSRequests
	ch <- dHLSBytes
	ch <- dHLSMuxers
}

func (c hlsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.h.Stats() {
		ch <- prometheus.MustNewConstMetric(dHLSRequests, prometheus.CounterValue, float64(st.Requests), st.Kind.String())
		ch <- prometheus.MustNewConstMetric(dHLSBytes, prometheus.CounterValue, float64(st.Bytes), st.Kind.String())
	}
	ch <- prometheus.MustNewConstMetric(dHLSMuxers, prometheus.GaugeValue, float64(c.h.Muxers()))
}
