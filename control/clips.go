package control

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/ingest"
)

// Players run the transport of clip sources (internal/show.Sources).
type Players interface {
	// PlayerCommand runs play, pause, stop or seek (to pos) on a clip
	// source's player.
	PlayerCommand(source, action string, pos time.Duration) error
}

// ClipLibrary is the clips folder (ingest/clip.Library).
type ClipLibrary interface {
	List() ([]ingest.ClipInfo, error)
	Put(name string, r io.Reader) (ingest.ClipInfo, error)
	Delete(name string) error
}

// playerBody is the body of POST /sources/{name}/player.
type playerBody struct {
	// Action is play, pause, stop (back to the top, cued) or seek.
	Action string `json:"action"`
	// PositionS is where a seek goes, in seconds from the clip's start.
	PositionS *float64 `json:"position_s,omitempty"`
}

func (s *Server) clipRoutes(api *gin.RouterGroup) {
	if s.Players != nil {
		api.POST("/sources/:name/player", s.playerCommand)
	}
	if s.Clips == nil {
		return
	}
	api.GET("/clips", func(c *gin.Context) {
		list, err := s.Clips.List()
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, list)
	})
	api.PUT("/clips/:file", func(c *gin.Context) {
		in, err := s.Clips.Put(c.Param("file"), c.Request.Body)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, in)
	})
	api.DELETE("/clips/:file", func(c *gin.Context) {
		if err := s.Clips.Delete(c.Param("file")); err != nil {
			fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
}

func (s *Server) playerCommand(c *gin.Context) {
	var req playerBody
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	name := c.Param("name")
	if _, ok := s.Registry.Get(name); !ok {
		fail(c, notFound("no source named %q", name))
		return
	}
	var pos time.Duration
	if req.Action == "seek" {
		if req.PositionS == nil {
			fail(c, badRequest("position_s", `a seek needs "position_s", in seconds from the clip's start`))
			return
		}
		pos = time.Duration(*req.PositionS * float64(time.Second))
	}
	if err := s.Players.PlayerCommand(name, req.Action, pos); err != nil {
		fail(c, err)
		return
	}
	s.watch.sourceChanged(name)
	src, _ := s.Registry.Get(name)
	c.JSON(http.StatusOK, s.sourceStatus(src))
}
