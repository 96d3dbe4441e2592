package control

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"switchyard/ingest"
	"switchyard/internal/protocols/whip"
)

// WebRTC is the WHIP ingest (internal/servers/webrtc.Server): served at
// /whip/ outside the API, open to pages of any origin (CORS) and guarded by
// the source's publish key as the bearer token, not by the API's tokens.
type WebRTC interface {
	Publish(source, key string, offer []byte) (*whip.Answer, error)
	End(source, id string) error
	Play(name, key string, offer []byte) (*whip.Answer, error)
	StopPlay(name, id string) error
	// Stats are the server's counters, Open its sessions open now.
	Stats() *whip.Counts
	Open() int
}

// whipCORS are the CORS headers of every WHIP answer: any origin may
// publish, since the credential is the publish key the page must be given
// (never a cookie of this server's).
func whipCORS(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, Link, ETag, Accept-Patch")
	h.Set("Access-Control-Max-Age", "600")
}

// signalling reports whether a request is WHIP's (its own CORS, its own
// credential, its own body types): the guard's Origin rule and the API's
// JSON rule are not for it.
func signalling(c *gin.Context) bool {
	return strings.HasPrefix(c.Request.URL.Path, "/whip/") || strings.HasPrefix(c.Request.URL.Path, "/whep/")
}

// guestCSP lets the guest page show its camera (a MediaStream) and talk to
// this server only.
const guestCSP = "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// webrtcRoutes serves WHIP (/whip/{source}, and each session's resource
// /whip/{source}/{id}) and the guest page /guest/{source}.
func (s *Server) webrtcRoutes(r *gin.Engine, files map[string]asset) {
	off := func(c *gin.Context) bool {
		if s.WebRTC == nil {
			fail(c, notFound("WebRTC is off: set webrtc.udp to turn it on"))
			return true
		}
		return false
	}
	preflight := func(c *gin.Context) {
		whipCORS(c)
		c.Header("Accept-Post", "application/sdp")
		c.Status(http.StatusNoContent)
	}
	for _, kind := range []struct {
		prefix string
		start  func(name, key string, offer []byte) (*whip.Answer, error)
		end    func(name, id string) error
	}{
		{"/whip/", func(n, k string, o []byte) (*whip.Answer, error) { return s.WebRTC.Publish(n, k, o) }, func(n, id string) error { return s.WebRTC.End(n, id) }},
		{"/whep/", func(n, k string, o []byte) (*whip.Answer, error) { return s.WebRTC.Play(n, k, o) }, func(n, id string) error { return s.WebRTC.StopPlay(n, id) }},
	} {
		r.OPTIONS(kind.prefix+":source", preflight)
		r.OPTIONS(kind.prefix+":source/:id", preflight)
		r.POST(kind.prefix+":source", func(c *gin.Context) {
			whipCORS(c)
			if off(c) {
				return
			}
			if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/sdp" {
				fail(c, &APIError{Status: http.StatusUnsupportedMediaType, Msg: "send the offer with Content-Type: application/sdp"})
				return
			}
			offer, err := readBody(c, whip.MaxOfferBytes)
			if err != nil {
				fail(c, err)
				return
			}
			key, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
			a, err := kind.start(c.Param("source"), strings.TrimSpace(key), offer)
			if err != nil {
				fail(c, err)
				return
			}
			for _, is := range a.ICEServers {
				for _, u := range is.URLs {
					link := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
					if is.Username != "" {
						link += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", is.Username, is.Credential)
					}
					c.Writer.Header().Add("Link", link)
				}
			}
			c.Header("Location", kind.prefix+url.PathEscape(c.Param("source"))+"/"+a.ID)
			c.Data(http.StatusCreated, "application/sdp", []byte(a.SDP))
		})
		r.PATCH(kind.prefix+":source/:id", func(c *gin.Context) {
			whipCORS(c)
			c.Header("Allow", "DELETE, OPTIONS")
			fail(c, &APIError{Status: http.StatusMethodNotAllowed, Msg: "trickle ICE and ICE restarts are not taken: gather every candidate before the offer " +
				"(the answer has all of the server's); to restart, DELETE this session and POST a new offer"})
		})
		r.DELETE(kind.prefix+":source/:id", func(c *gin.Context) {
			whipCORS(c)
			if off(c) {
				return
			}
			if err := kind.end(c.Param("source"), c.Param("id")); err != nil {
				fail(c, err)
				return
			}
			c.Status(http.StatusOK)
		})
	}
	r.GET("/guest/:source/tally", func(c *gin.Context) {
		if off(c) {
			return
		}
		s.getGuestTally(c)
	})
	r.GET("/guest/:source", func(c *gin.Context) {
		if off(c) {
			return
		}
		// an unknown source or a wrong key is said by the WHIP answer the
		// page gets when it joins, by the rules every publisher follows
		a := files["guest.html"]
		c.Header("Content-Security-Policy", guestCSP)
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, a.ctype, a.body)
	})
}

var (
	dWebRTCSessions = desc("webrtc_sessions_total", "WHIP sessions by outcome: answered, refused (bad SDP, key, busy), abandoned (no ICE and DTLS within 10 s), failed (ICE lost the peer after connecting).", "outcome")
	dWebRTCOpen     = desc("webrtc_sessions_open", "WHIP sessions open now.")
	dSrcRTCRTT      = desc("source_webrtc_rtt_seconds", "A WHIP publisher's round trip (ICE checks).", "source")
	dSrcRTCJitter   = desc("source_webrtc_jitter_seconds", "A WHIP publisher's video RTP interarrival jitter.", "source")
	dSrcRTCRecv     = desc("source_webrtc_packets_received_total", "RTP packets received from a WHIP publisher (this session).", "source")
	dSrcRTCLost     = desc("source_webrtc_packets_lost_total", "RTP packets of a WHIP publisher never received (this session).", "source")
	dSrcRTCNACK     = desc("source_webrtc_nacks_total", "NACKs (retransmission requests) sent to a WHIP publisher (this session).", "source")
	dSrcRTCNACKed   = desc("source_webrtc_nacked_packets_total", "RTP packets a WHIP publisher was asked for again by NACKs (this session).", "source")
	dSrcRTCRecov    = desc("source_webrtc_packets_recovered_total", "RTP packets of a WHIP publisher that came out of order (a retransmission, or reordered) and were still in time (this session).", "source")
	dSrcRTCSkipped  = desc("source_webrtc_packets_skipped_total", "RTP packets of a WHIP publisher the jitter buffer gave up waiting for: their picture or sound was lost (this session).", "source")
	dSrcRTCPLI      = desc("source_webrtc_plis_total", "PLIs (key frame requests) sent to a WHIP publisher (this session).", "source")
	dSrcRTCKbps     = desc("source_webrtc_kbps", "What a WHIP publisher sent over the last second or more (RTP, headers included).", "source")
)

func describeWebRTC(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dWebRTCSessions, dWebRTCOpen, dSrcRTCRTT, dSrcRTCJitter, dSrcRTCRecv, dSrcRTCLost, dSrcRTCNACK, dSrcRTCNACKed, dSrcRTCRecov, dSrcRTCSkipped, dSrcRTCPLI, dSrcRTCKbps} {
		ch <- d
	}
}

// collectWebRTC sends the WHIP server's counters.
func collectWebRTC(ch chan<- prometheus.Metric, w WebRTC) {
	c := w.Stats()
	for outcome, n := range map[string]uint64{"answered": c.Sessions.Load(), "refused": c.Refused.Load(),
		"abandoned": c.Abandoned.Load(), "failed": c.Failed.Load()} {
		ch <- prometheus.MustNewConstMetric(dWebRTCSessions, prometheus.CounterValue, float64(n), outcome)
	}
	ch <- prometheus.MustNewConstMetric(dWebRTCOpen, prometheus.GaugeValue, float64(w.Open()))
}

// collectSourceWebRTC sends one WHIP publisher's session.
func collectSourceWebRTC(ch chan<- prometheus.Metric, name string, r ingest.WebRTCStats) {
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, name)
	}
	gauge(dSrcRTCRTT, r.RTTMS/1000)
	gauge(dSrcRTCJitter, r.JitterMS/1000)
	counter(dSrcRTCRecv, float64(r.PacketsReceived))
	counter(dSrcRTCLost, float64(max(r.PacketsLost, 0)))
	counter(dSrcRTCNACK, float64(r.NACKs))
	counter(dSrcRTCNACKed, float64(r.NACKedPackets))
	counter(dSrcRTCRecov, float64(r.PacketsRecovered))
	counter(dSrcRTCSkipped, float64(r.PacketsSkipped))
	counter(dSrcRTCPLI, float64(r.PLIs))
	gauge(dSrcRTCKbps, r.BitrateKbps)
}
