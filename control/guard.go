package control

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// Protection against pages on other sites, on by default.
//
// A page the operator visits can send the API "simple" requests with no
// CORS preflight — a form POST, fetch(…, {mode: "no-cors"}) — with a body
// of text/plain or a form encoding, and the browser adds the operator's
// cookie when it may. So a request that changes state must come with
// Content-Type: application/json (which such a request cannot have; 415
// otherwise), and from the panel's own origin or one of http.allowed_origins
// (403 for another Origin, or for Sec-Fetch-Site: cross-site without an
// allowed Origin). A page that rebinds its own DNS name to 127.0.0.1 reaches
// a loopback listener with its own name as Host: there, only 127.0.0.1,
// localhost, [::1] and http.hosts are served (421 otherwise), GETs too.

// panelCSP lets the panel load only its own script, style, pictures and
// API, and be framed by no one.
const panelCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// changes reports whether a method changes state.
func changes(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// loopbackHosts are the Host names a loopback listener answers to.
var loopbackHosts = []string{"127.0.0.1", "localhost", "::1"}

// guard sets the security headers on every answer and refuses foreign
// Hosts (421) and cross-site changes (403), before anything else reads
// the request.
func (s *Server) guard(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", panelCSP)
	if s.loopback && !s.hostAllowed(c.Request.Host) {
		fail(c, &APIError{Status: http.StatusMisdirectedRequest, Msg: fmt.Sprintf(
			"this server answers to 127.0.0.1, localhost and [::1] (and http.hosts), not to %q", c.Request.Host)})
		return
	}
	if !changes(c.Request.Method) || signalling(c) {
		c.Next()
		return
	}
	if o := c.GetHeader("Origin"); o != "" {
		if !s.originAllowed(o, c.Request.Host) {
			fail(c, &APIError{Status: http.StatusForbidden, Msg: fmt.Sprintf(
				"a page of %s may not change this show; list it in http.allowed_origins to let it", o)})
			return
		}
	} else if c.GetHeader("Sec-Fetch-Site") == "cross-site" {
		fail(c, &APIError{Status: http.StatusForbidden, Msg: "a page of another site may not change this show"})
		return
	}
	c.Next()
}

// requireBodyType refuses a change whose Content-Type is not JSON (or, on
// the image upload, an image type) with 415, after authorize: a request
// without a token hears that first.
func (s *Server) requireBodyType(c *gin.Context) {
	if !changes(c.Request.Method) || c.FullPath() == "" || signalling(c) {
		c.Next()
		return
	}
	want := []string{"application/json"}
	if types := bodyTypes[routeKey(c)]; types != nil {
		want = types
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || !slices.Contains(want, mt) {
		fail(c, &APIError{Status: http.StatusUnsupportedMediaType, Msg: fmt.Sprintf(
			"send this request with Content-Type: %s (a change needs it, even with no body)", strings.Join(want, " or "))})
		return
	}
	c.Next()
}

// hostAllowed reports whether host (a Host header) names this loopback server.
func (s *Server) hostAllowed(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	if slices.Contains(loopbackHosts, name) || name == s.listenIP {
		return true
	}
	for _, h := range s.Hosts {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// originAllowed reports whether a request's Origin is the panel's own (the
// Host it was sent to) or one of AllowedOrigins.
func (s *Server) originAllowed(origin, host string) bool {
	for _, o := range s.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false // "null" (a sandboxed frame, a file), or junk
	}
	return strings.EqualFold(u.Host, host)
}
