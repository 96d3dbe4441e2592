package control

import (
	"fmt"
	"html"
	"net/http"

	"github.com/gin-gonic/gin"

	"switchyard/output/tally"
)

// Tally is the tally sender (*tally.Sender): the lamps, the destinations
// with their state, changes to them, and its news of a change.
type Tally interface {
	Status() tally.Status
	// OnChange sets who is told of the lamps when they change (the
	// event stream's "tally").
	OnChange(f func([]tally.Lamp))
	// Add, Patch and Remove change the destinations while the tally runs;
	// Configs returns them for show.json.
	Add(tally.Config) (tally.DestinationStatus, error)
	Patch(name string, p tally.Patch) (tally.DestinationStatus, error)
	Remove(name string) error
	Configs() []tally.Config
}

// tallyPatchRequest is the body of PATCH /tally/destinations/{name}: the
// name may be given, but not changed.
type tallyPatchRequest struct {
	Name string `json:"name"`
	tally.Patch
}

// tallyRoutes serves GET /api/v1/tally, the destinations' changes and the
// web tally page /tally/{source}; without a Tally, none.
func (s *Server) tallyRoutes(r *gin.Engine, api *gin.RouterGroup) {
	if s.Tally == nil {
		return
	}
	api.GET("/tally", func(c *gin.Context) { c.JSON(http.StatusOK, s.Tally.Status()) })
	api.POST("/tally/destinations", func(c *gin.Context) {
		var req tally.Config
		if err := bind(c, &req); err != nil {
			fail(c, err)
			return
		}
		st, err := s.Tally.Add(req)
		if err != nil {
			fail(c, err)
			return
		}
		s.saveShow()
		c.JSON(http.StatusCreated, st)
	})
	api.PATCH("/tally/destinations/:name", func(c *gin.Context) {
		var req tallyPatchRequest
		if err := bind(c, &req); err != nil {
			fail(c, err)
			return
		}
		if req.Name != "" && req.Name != c.Param("name") {
			fail(c, badRequest("name", "a tally destination cannot be renamed; delete it and add it again"))
			return
		}
		st, err := s.Tally.Patch(c.Param("name"), req.Patch)
		if err != nil {
			fail(c, err)
			return
		}
		s.saveShow()
		c.JSON(http.StatusOK, st)
	})
	api.DELETE("/tally/destinations/:name", func(c *gin.Context) {
		if err := s.Tally.Remove(c.Param("name")); err != nil {
			fail(c, err)
			return
		}
		s.saveShow()
		c.Status(http.StatusNoContent)
	})
	page := loadPanel()["tally.html"]
	r.GET("/tally/:source", func(c *gin.Context) {
		name := c.Param("source")
		// Who may see the show learns at once that a source is unknown;
		// anyone else gets the page, which logs in first and then asks
		// the API (so the names are no more public than the API makes them).
		if _, ok := s.Registry.Get(name); !ok && s.knowsCaller(c) {
			c.Data(http.StatusNotFound, "text/html; charset=utf-8", fmt.Appendf(nil, unknownTallyPage, html.EscapeString(name)))
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page.body)
	})
	s.Tally.OnChange(func(l []tally.Lamp) { s.events.publish("tally", l) })
}

// knowsCaller reports whether the server is open or the request carries
// a valid token or session. A wrong one counts against its address as on
// the API (throttle): the answer must not be a way around it to try tokens.
func (s *Server) knowsCaller(c *gin.Context) bool {
	if s.auth.open() {
		return true
	}
	if !presentsCredential(c) {
		return false
	}
	addr := host(c.Request.RemoteAddr)
	if _, no := s.auth.throttle.blocked(addr); no {
		return false
	}
	_, ok, _ := s.credential(c, routeKey(c))
	if !ok {
		s.auth.throttle.failed(addr)
	}
	return ok
}

const unknownTallyPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>No such source · Switchyard tally</title><link rel="stylesheet" href="/panel/tally.css"></head>
<body class="unknown"><main><p id="label">No source named “%s”</p>
<p id="state">This show has no such source: check the name in the address (/tally/SOURCE, as the panel lists the sources).</p></main></body></html>
`
