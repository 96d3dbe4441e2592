package control

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/ingest/replay"
)

// Replay is the instant replay machine (ingest/replay.Replayer).
type Replay interface {
	SetMark(source string, out bool) (replay.Mark, error)
	Play(req replay.Request) (replay.Info, error)
	Playing() (replay.Info, bool)
	List() []replay.Info
}

type markRequest struct {
	// Source to mark; empty: the source on program now.
	Source string `json:"source,omitempty"`
}

func (s *Server) replayRoutes(api *gin.RouterGroup) {
	mark := func(out bool) gin.HandlerFunc {
		return func(c *gin.Context) {
			var req markRequest
			if err := bindOptional(c, &req); err != nil {
				fail(c, err)
				return
			}
			if s.Replay == nil {
				fail(c, replay.ErrDisabled)
				return
			}
			m, err := s.Replay.SetMark(req.Source, out)
			if err != nil {
				fail(c, err)
				return
			}
			kind := "in"
			if out {
				kind = "out"
			}
			s.events.publish("replay_mark", map[string]any{"mark": kind, "source": m.Source, "pts_s": m.PTSS, "at": m.At})
			c.JSON(http.StatusOK, m)
		}
	}
	api.POST("/replay/mark-in", mark(false))
	api.POST("/replay/mark-out", mark(true))
	api.POST("/replay", func(c *gin.Context) {
		var req replay.Request
		if err := bind(c, &req); err != nil {
			fail(c, err)
			return
		}
		if s.Replay == nil {
			fail(c, replay.ErrDisabled)
			return
		}
		info, err := s.Replay.Play(req)
		if err != nil {
			fail(c, err)
			return
		}
		if req.Take { // cut while the marked frame stands, so the program starts on it
			select {
			case <-time.After(time.Until(info.OnAirAt)):
			case <-c.Request.Context().Done():
				return
			}
			if _, err := s.Mixer.SetProgram(replay.Source); err != nil {
				fail(c, err)
				return
			}
			s.watch.busesChanged()
		}
		s.events.publish("replay", info)
		c.JSON(http.StatusCreated, info)
	})
	api.GET("/replays", func(c *gin.Context) {
		if s.Replay == nil {
			fail(c, replay.ErrDisabled)
			return
		}
		c.JSON(http.StatusOK, s.Replay.List())
	})
}
