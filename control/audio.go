package control

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"switchyard/mixer/audio"
)

func (s *Server) audioRoutes(api *gin.RouterGroup) {
	api.GET("/audio", func(c *gin.Context) { c.JSON(http.StatusOK, s.Mixer.Audio()) })
	api.PATCH("/audio/master", func(c *gin.Context) {
		var p audio.Patch
		if err := bind(c, &p); err != nil {
			fail(c, err)
			return
		}
		st, err := s.Mixer.SetMaster(p)
		if err != nil {
			fail(c, err)
			return
		}
		s.audioChanged()
		c.JSON(http.StatusOK, st)
	})
	api.PATCH("/audio/:source", func(c *gin.Context) {
		var p audio.Patch
		if err := bind(c, &p); err != nil {
			fail(c, err)
			return
		}
		st, err := s.Mixer.SetAudio(c.Param("source"), p)
		if err != nil {
			fail(c, err)
			return
		}
		s.audioChanged()
		c.JSON(http.StatusOK, st)
	})
}

// audioChanged tells the event stream and keeps the settings in show.json.
func (s *Server) audioChanged() {
	s.events.publish("audio", s.Mixer.Audio())
	s.saveShow()
}
