package control

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"switchyard/internal/show"
	"switchyard/media"
	"switchyard/output/push"
)

func (s *Server) outputRoutes(api *gin.RouterGroup) {
	api.GET("/outputs", func(c *gin.Context) { c.JSON(http.StatusOK, s.Outputs.List()) })
	api.POST("/outputs", s.addOutput)
	api.GET("/outputs/:name", func(c *gin.Context) {
		st, err := s.Outputs.Get(c.Param("name"))
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, st)
	})
	api.PATCH("/outputs/:name", s.patchOutput)
	api.DELETE("/outputs/:name", func(c *gin.Context) {
		if err := s.Outputs.Remove(c.Param("name")); err != nil {
			fail(c, err)
			return
		}
		s.saveShow()
		c.Status(http.StatusNoContent)
	})
	api.POST("/outputs/:name/start", s.outputAction(s.Outputs.Start))
	api.POST("/outputs/:name/stop", s.outputAction(s.Outputs.Stop))
}

type outputRequest struct {
	Name         string         `json:"name"`
	URL          *string        `json:"url"`
	Enabled      *bool          `json:"enabled"`
	VideoBitrate *media.Bitrate `json:"video_bitrate"` // bit/s ("2500k" or 2500000); 0 shares the program encode
}

func (s *Server) addOutput(c *gin.Context) {
	var req outputRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if req.Name == "" {
		fail(c, badRequest("name", `field "name" is required`))
		return
	}
	if req.URL == nil || *req.URL == "" {
		fail(c, badRequest("url", `field "url" is required: rtmp://HOST/APP/KEY, rtmps://HOST/APP/KEY or srt://HOST:PORT?streamid=…&passphrase=…`))
		return
	}
	cfg := push.Config{Name: req.Name, URL: *req.URL, Enabled: true}
	if req.Enabled != nil {
		cfg.Enabled = *req.Enabled
	}
	if req.VideoBitrate != nil {
		cfg.VideoBitrate = *req.VideoBitrate
	}
	st, err := s.Outputs.Add(cfg)
	if err != nil {
		fail(c, err)
		return
	}
	s.saveShow()
	c.JSON(http.StatusCreated, st)
}

func (s *Server) patchOutput(c *gin.Context) {
	var req outputRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if req.Name != "" && req.Name != c.Param("name") {
		fail(c, badRequest("name", "an output cannot be renamed; delete it and add it again"))
		return
	}
	st, err := s.Outputs.Patch(c.Param("name"), push.Patch{URL: req.URL, Enabled: req.Enabled, VideoBitrate: req.VideoBitrate})
	if err != nil {
		fail(c, err)
		return
	}
	s.saveShow()
	c.JSON(http.StatusOK, st)
}

func (s *Server) outputAction(do func(string) (push.Status, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		st, err := do(c.Param("name"))
		if err != nil {
			fail(c, err)
			return
		}
		s.saveShow()
		c.JSON(http.StatusOK, st)
	}
}

// saveShow persists the runtime show; a failure is logged, the change stands.
func (s *Server) saveShow() {
	if s.Store == nil {
		return
	}
	var sh show.Show
	if s.Sources != nil {
		sh.Sources = show.StoredSources(s.Sources.Configs())
	}
	if s.Outputs != nil {
		sh.Outputs = s.Outputs.Configs()
	}
	audio, tr := s.Mixer.Audio(), s.Mixer.DefaultTransition()
	sh.Audio, sh.Transition = &audio, &tr
	sh.Keyers = s.Mixer.KeyerSpecs()
	sh.Macros = s.macrosList()
	if err := s.Store.Save(sh); err != nil {
		s.Log.Error("cannot save the show; changes will not survive a restart", "err", err)
	}
}
