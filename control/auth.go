package control

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// TokenCookie is the cookie a browser may carry the token in.
const TokenCookie = "switchyard_token"

// requireToken guards /api when a token is set: "Authorization: Bearer
// TOKEN" on every request; a GET may instead carry it as ?token= or in the
// switchyard_token cookie, because EventSource and <img> cannot set headers.
// Changes need the header, so a page on another site cannot make them with
// the operator's cookie. Compared in constant time.
func (s *Server) requireToken(c *gin.Context) {
	if s.Token == "" {
		c.Next()
		return
	}
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok && c.Request.Method == http.MethodGet {
		if got = c.Query("token"); got == "" {
			got, _ = c.Cookie(TokenCookie)
		}
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="switchyard"`)
		fail(c, &APIError{Status: http.StatusUnauthorized,
			Msg: "missing or wrong token: send the http.token as Authorization: Bearer TOKEN"})
		return
	}
	c.Next()
}
