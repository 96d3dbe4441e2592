package control

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"switchyard/internal/servers/webrtc"
)

// WebRTC is the WHIP ingest (internal/servers/webrtc.Server): served at
// /whip/ outside the API, open to pages of any origin (CORS) and guarded by
// the source's publish key as the bearer token, not by the API's tokens.
type WebRTC interface {
	Publish(source, key string, offer []byte) (*webrtc.Answer, error)
	End(source, id string) error
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
	return strings.HasPrefix(c.Request.URL.Path, "/whip/")
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
	r.OPTIONS("/whip/:source", preflight)
	r.OPTIONS("/whip/:source/:id", preflight)
	r.POST("/whip/:source", func(c *gin.Context) {
		whipCORS(c)
		if off(c) {
			return
		}
		if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/sdp" {
			fail(c, &APIError{Status: http.StatusUnsupportedMediaType, Msg: "send the offer with Content-Type: application/sdp"})
			return
		}
		offer, err := readBody(c, webrtc.MaxOfferBytes)
		if err != nil {
			fail(c, err)
			return
		}
		key, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		a, err := s.WebRTC.Publish(c.Param("source"), strings.TrimSpace(key), offer)
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
		c.Header("Location", "/whip/"+url.PathEscape(c.Param("source"))+"/"+a.ID)
		c.Data(http.StatusCreated, "application/sdp", []byte(a.SDP))
	})
	r.PATCH("/whip/:source/:id", func(c *gin.Context) {
		whipCORS(c)
		c.Header("Allow", "DELETE, OPTIONS")
		fail(c, &APIError{Status: http.StatusMethodNotAllowed, Msg: "trickle ICE and ICE restarts are not taken: gather every candidate before the offer " +
			"(the answer has all of the server's); to restart, DELETE this session and POST a new offer"})
	})
	r.DELETE("/whip/:source/:id", func(c *gin.Context) {
		whipCORS(c)
		if off(c) {
			return
		}
		if err := s.WebRTC.End(c.Param("source"), c.Param("id")); err != nil {
			fail(c, err)
			return
		}
		c.Status(http.StatusOK)
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
