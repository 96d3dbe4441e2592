package control

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Role is what a token may do. Each route needs one (the OpenAPI
// description states it as x-switchyard-role); admin may do everything.
type Role string

// Roles, from the least to the most a token may do.
const (
	// RolePublic routes need no token: health, metrics, the panel's files, logging in.
	RolePublic Role = "public"
	// RoleViewer: every GET — state, events, the multiview, snapshots.
	RoleViewer Role = "viewer"
	// RoleAudio: a viewer that also rides the audio (gains, mutes, modes).
	RoleAudio Role = "audio"
	// RoleDirector: a viewer that also runs the show: buses, transitions,
	// keyers, recording, clips and replays — not outputs, sources or tokens.
	RoleDirector Role = "director"
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
)

// Roles lists the roles a token may have.
var Roles = []Role{RoleAdmin, RoleDirector, RoleAudio, RoleViewer}

// allows reports whether a token of role r may use a route that needs need.
func (r Role) allows(need Role) bool {
	switch need {
	case RolePublic:
		return true
	case RoleViewer:
		return r != ""
	case RoleAudio, RoleDirector:
		return r == need || r == RoleAdmin
	case RoleAdmin:
		return r == RoleAdmin
	}
	return false
}

// Token is one API credential: who (for the audit log), the secret, its role.
type Token struct {
	Name   string
	Secret string
	Role   Role
}

// SessionCookie is the cookie POST /api/v1/session sets for the panel: an
// opaque session id (never the token), HttpOnly, SameSite=Strict.
const SessionCookie = "switchyard_session"

// Sessions last this long; logging in again starts a new one.
const (
	sessionTTL  = 12 * time.Hour
	maxSessions = 1024
)

// ctx keys gin carries for a request.
const (
	whoKey  = "switchyard.who"  // the token's name, for the audit log
	credKey = "switchyard.cred" // the credential (a macro's run keeps it for its steps)
)

type credential struct {
	name string
	role Role
	sum  [32]byte
}

// auth holds the tokens (by SHA-256, so each compare is of equal length) and
// the panel's sessions.
type auth struct {
	tokens   []credential
	throttle *throttle // wrong tokens by address

	mu       sync.Mutex
	sessions map[string]session
}

type session struct {
	cred    credential
	expires time.Time
}

func newAuth(tokens []Token) *auth {
	a := &auth{sessions: map[string]session{}, throttle: newThrottle()}
	for _, t := range tokens {
		a.tokens = append(a.tokens, credential{name: t.Name, role: t.Role, sum: sha256.Sum256([]byte(t.Secret))})
	}
	return a
}

// open reports whether no token is set: every request may do everything
// (the listener is on loopback, or http.insecure says so).
func (a *auth) open() bool { return len(a.tokens) == 0 }

// match finds the token whose secret is secret. Every token is compared, in
// constant time, so the time taken says nothing of which (if any) matched.
func (a *auth) match(secret string) (credential, bool) {
	sum := sha256.Sum256([]byte(secret))
	var found credential
	ok := 0
	for _, t := range a.tokens {
		eq := subtle.ConstantTimeCompare(sum[:], t.sum[:])
		if eq == 1 {
			found = t
		}
		ok |= eq
	}
	return found, ok == 1
}

func (a *auth) newSession(c credential) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, s := range a.sessions { // expired ones go; past the cap, the oldest
		if now.After(s.expires) {
			delete(a.sessions, k)
		}
	}
	for len(a.sessions) >= maxSessions {
		oldest := ""
		for k, s := range a.sessions {
			if oldest == "" || s.expires.Before(a.sessions[oldest].expires) {
				oldest = k
			}
		}
		delete(a.sessions, oldest)
	}
	a.sessions[id] = session{cred: c, expires: now.Add(sessionTTL)}
	return id, nil
}

func (a *auth) session(id string) (credential, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok || time.Now().After(s.expires) {
		delete(a.sessions, id)
		return credential{}, false
	}
	return s.cred, true
}

func (a *auth) endSession(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, id)
}

// queryTokenRoutes are the only routes a token may come in the URL on: an
// <img> cannot send a header, and a URL ends up in proxy logs and history.
var queryTokenRoutes = map[string]bool{
	"GET /multiview.mjpeg":                    true,
	"GET /api/v1/sources/{name}/snapshot.jpg": true,
}

// authorize lets a request through when its route is public, when no token
// is set, or when its credential has the role the route needs: 401 without
// a valid credential, 403 naming the role needed. A credential is
// "Authorization: Bearer TOKEN", the panel's session cookie, or — on the
// multiview and snapshots only — ?token=.
func (s *Server) authorize(c *gin.Context) {
	key := routeKey(c)
	need := routeRoles[key]
	switch {
	case c.FullPath() == "": // no such route: its 404 needs no token
		c.Next()
		return
	case need == "":
		fail(c, &APIError{Status: http.StatusForbidden, Msg: fmt.Sprintf("route %s has no role; nobody may use it", key)})
		return
	case need == RolePublic:
		c.Next()
		return
	case s.auth.open():
		c.Set(whoKey, "open")
		c.Set(credKey, credential{name: "open", role: RoleAdmin})
		c.Next()
		return
	}
	if sc, ok := fromStep(c); ok { // a macro's step: its runner's credential, nothing else
		c.Set(whoKey, sc.cred.name+" (macro "+sc.macro+")")
		s.admit(c, sc.cred, need)
		return
	}
	addr := host(c.Request.RemoteAddr)
	if wait, no := s.auth.throttle.blocked(addr); no && presentsCredential(c) {
		refuseGuessing(c, wait)
		return
	}
	cred, ok, msg := s.credential(c, key)
	if !ok {
		if presentsCredential(c) {
			s.auth.throttle.failed(addr)
		}
		c.Header("WWW-Authenticate", `Bearer realm="switchyard"`)
		fail(c, &APIError{Status: http.StatusUnauthorized, Msg: msg})
		return
	}
	c.Set(whoKey, cred.name)
	s.admit(c, cred, need)
}

// admit lets a request with credential cred through when its role allows
// need, and refuses it with 403 naming the role needed otherwise.
func (s *Server) admit(c *gin.Context, cred credential, need Role) {
	c.Set(credKey, cred)
	if !cred.role.allows(need) {
		or := " (or admin)"
		if need == RoleAdmin {
			or = ""
		}
		fail(c, &APIError{Status: http.StatusForbidden, Msg: fmt.Sprintf(
			"%s %s needs the %s role%s; token %q has the %s role", c.Request.Method, c.FullPath(), need, or, cred.name, cred.role)})
		return
	}
	c.Next()
}

func (s *Server) credential(c *gin.Context, key string) (credential, bool, string) {
	const how = "send a token as Authorization: Bearer TOKEN, or log in with POST /api/v1/session"
	if h := c.GetHeader("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if cred, match := s.auth.match(tok); ok && match {
			return cred, true, ""
		}
		return credential{}, false, "wrong token: " + how
	}
	if tok, ok := c.GetQuery("token"); ok {
		if !queryTokenRoutes[key] {
			return credential{}, false, "?token= is taken only on /multiview.mjpeg and snapshots (it ends up in logs and history): " + how
		}
		if cred, match := s.auth.match(tok); match {
			return cred, true, ""
		}
		return credential{}, false, "wrong token: " + how
	}
	if id, err := c.Cookie(SessionCookie); err == nil && id != "" {
		if cred, ok := s.auth.session(id); ok {
			return cred, true, ""
		}
		return credential{}, false, "the session has ended: log in again"
	}
	return credential{}, false, "missing token: " + how
}

// presentsCredential reports whether a request tries a credential: a
// bearer token, ?token= or a session cookie.
func presentsCredential(c *gin.Context) bool {
	if c.GetHeader("Authorization") != "" {
		return true
	}
	if _, ok := c.GetQuery("token"); ok {
		return true
	}
	id, err := c.Cookie(SessionCookie)
	return err == nil && id != ""
}

// refuseGuessing answers a credential tried from an address that has tried
// too many wrong ones lately (throttle): 429, and when to come back.
func refuseGuessing(c *gin.Context, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	c.Set(limitKey, "token_attempts")
	c.Header("Retry-After", strconv.Itoa(secs))
	fail(c, &APIError{Status: http.StatusTooManyRequests, Msg: fmt.Sprintf(
		"%d wrong tokens from this address within %s: token attempts are refused for %d s", maxTokenFailures, tokenWindow, secs)})
}

// sessionBody is POST /api/v1/session's body.
type sessionBody struct {
	Token string `json:"token"`
}

// Who is the caller, as GET and POST /api/v1/session answer.
type Who struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Open is true when the server has no token: anyone who reaches it may do everything.
	Open bool `json:"open,omitempty"`
}

func (s *Server) sessionRoutes(api *gin.RouterGroup) {
	api.POST("/session", s.login)
	api.GET("/session", s.whoAmI)
	api.DELETE("/session", s.logout)
}

// login takes a token and answers with a session cookie: the panel keeps no
// token where a script could read it.
func (s *Server) login(c *gin.Context) {
	var req sessionBody
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if s.auth.open() {
		c.JSON(http.StatusOK, Who{Name: "open", Role: RoleAdmin, Open: true})
		return
	}
	addr := host(c.Request.RemoteAddr)
	if wait, no := s.auth.throttle.blocked(addr); no {
		refuseGuessing(c, wait)
		return
	}
	cred, ok := s.auth.match(req.Token)
	if !ok || req.Token == "" {
		s.auth.throttle.failed(addr)
		fail(c, &APIError{Status: http.StatusUnauthorized, Msg: "wrong token", Field: "token"})
		return
	}
	c.Set(whoKey, cred.name)
	id, err := s.auth.newSession(cred)
	if err != nil {
		fail(c, err)
		return
	}
	// no Max-Age: the browser forgets it when it closes (the server after sessionTTL)
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Request.TLS != nil})
	c.JSON(http.StatusOK, Who{Name: cred.name, Role: cred.role})
}

func (s *Server) whoAmI(c *gin.Context) {
	if s.auth.open() {
		c.JSON(http.StatusOK, Who{Name: "open", Role: RoleAdmin, Open: true})
		return
	}
	cred, _, _ := s.credential(c, routeKey(c)) // authorize let it through
	c.JSON(http.StatusOK, Who{Name: cred.name, Role: cred.role})
}

func (s *Server) logout(c *gin.Context) {
	if id, err := c.Cookie(SessionCookie); err == nil {
		s.auth.endSession(id)
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Request.TLS != nil})
	c.Status(http.StatusNoContent)
}
