package control

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"switchyard/ingest"
)

// Sources adds, changes and removes sources at runtime.
type Sources interface {
	Add(ingest.SourceConfig) (ingest.Status, error)
	Update(ingest.SourceConfig) (ingest.Status, error)
	Remove(name string) error
	// Configs returns every source's settings, keys included, for show.json.
	Configs() []ingest.SourceConfig
}

func (s *Server) sourceRoutes(api *gin.RouterGroup) {
	api.GET("/sources", s.listSources)
	api.GET("/sources/:name", s.getSource)
	api.GET("/sources/:name/snapshot.jpg", s.snapshot)
	if s.Sources == nil {
		return
	}
	api.POST("/sources", s.addSource)
	api.PATCH("/sources/:name", s.patchSource)
	api.DELETE("/sources/:name", func(c *gin.Context) {
		if err := s.Sources.Remove(c.Param("name")); err != nil {
			fail(c, err)
			return
		}
		s.saveShow()
		s.watch.busesChanged() // a bus that showed it is black now
		c.Status(http.StatusNoContent)
	})
}

// sourceRequest is the body of POST and PATCH /sources. The publish and
// read keys can be set but are never shown.
type sourceRequest struct {
	Name       string  `json:"name"`
	URL        *string `json:"url"`
	PublishKey *string `json:"publish_key"`
	ReadKey    *string `json:"read_key"`
	Takeover   *bool   `json:"takeover"`
	Transport  *string `json:"transport"`
	// JitterBufferMS: the source's own jitter buffer (0: the program's;
	// "auto": adaptive); Follows: the source whose buffer it uses ("": its own)
	JitterBufferMS *ingest.JitterMS `json:"jitter_buffer_ms"`
	Follows        *string          `json:"follows"`
	// Label is the display text on tally displays (empty: the name);
	// TallyIndex the display index (0: the source's position).
	Label      *string `json:"label"`
	TallyIndex *int    `json:"tally_index"`
	// Clip sources (url file:NAME): the rest of the playlist, loop,
	// on_end (hold, black, next), autoplay (on-program or false).
	Files    *[]string `json:"files"`
	Loop     *bool     `json:"loop"`
	OnEnd    *string   `json:"on_end"`
	Autoplay *autoplay `json:"autoplay"`
}

// autoplay is "on-program", or false ("false"), as the show file writes it.
type autoplay string

// UnmarshalJSON takes a string or false.
func (a *autoplay) UnmarshalJSON(b []byte) error {
	if string(b) == "false" {
		*a = "false"
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return badRequest("autoplay", `autoplay must be "on-program" or false`)
	}
	*a = autoplay(s)
	return nil
}

func (r sourceRequest) apply(cfg *ingest.SourceConfig) {
	if r.URL != nil {
		cfg.URL = *r.URL
	}
	if r.PublishKey != nil {
		cfg.PublishKey = *r.PublishKey
	}
	if r.ReadKey != nil {
		cfg.ReadKey = *r.ReadKey
	}
	if r.Takeover != nil {
		cfg.Takeover = *r.Takeover
	}
	if r.Transport != nil {
		cfg.Transport = *r.Transport
	}
	if r.JitterBufferMS != nil {
		cfg.JitterBufferMS = *r.JitterBufferMS
	}
	if r.Follows != nil {
		cfg.Follows = *r.Follows
	}
	if r.Label != nil {
		cfg.Label = *r.Label
	}
	if r.TallyIndex != nil {
		cfg.TallyIndex = *r.TallyIndex
	}
	if r.Files != nil {
		cfg.Files = *r.Files
	}
	if r.Loop != nil {
		cfg.Loop = *r.Loop
	}
	if r.OnEnd != nil {
		cfg.OnEnd = *r.OnEnd
	}
	if r.Autoplay != nil {
		cfg.Autoplay = string(*r.Autoplay)
	}
}

func (s *Server) addSource(c *gin.Context) {
	var req sourceRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if req.Name == "" {
		fail(c, badRequest("name", `field "name" is required`))
		return
	}
	cfg := ingest.SourceConfig{Name: req.Name}
	req.apply(&cfg)
	st, err := s.Sources.Add(cfg)
	if err != nil {
		fail(c, err)
		return
	}
	s.saveShow()
	s.watch.sourceChanged(cfg.Name) // with the mixer's view, which the registry's own news may precede
	if src, ok := s.Registry.Get(cfg.Name); ok {
		st = s.sourceStatus(src) // with the mixer's view: the jitter buffer in use
	}
	c.JSON(http.StatusCreated, st)
}

func (s *Server) patchSource(c *gin.Context) {
	var req sourceRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	name := c.Param("name")
	if req.Name != "" && req.Name != name {
		fail(c, badRequest("name", "a source cannot be renamed; delete it and add it again"))
		return
	}
	src, ok := s.Registry.Get(name)
	if !ok {
		fail(c, notFound("no source named %q", name))
		return
	}
	cfg := src.Config()
	req.apply(&cfg)
	if _, err := s.Sources.Update(cfg); err != nil {
		fail(c, err)
		return
	}
	s.saveShow()
	s.watch.sourceChanged(name)                // the buffer in use is the mixer's: the registry's news may precede it
	c.JSON(http.StatusOK, s.sourceStatus(src)) // with the mixer's view: the buffer in use
}

// snapshot serves the latest picture decoded from a source as a JPEG, at
// most 1280 pixels wide (?width= asks for less).
func (s *Server) snapshot(c *gin.Context) {
	width := 1280
	if v := c.Query("width"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 16 || n > 1920 {
			fail(c, badRequest("width", "width must be a number of pixels from 16 to 1920"))
			return
		}
		width = n
	}
	img, err := s.Mixer.Snapshot(c.Param("name"), width)
	if err != nil {
		fail(c, err)
		return
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "image/jpeg", buf.Bytes())
}
