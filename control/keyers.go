package control

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/internal/atomicfile"
	"switchyard/internal/show"
	"switchyard/mixer/keyer"
)

func (s *Server) keyerRoutes(api *gin.RouterGroup) {
	api.GET("/keyers", func(c *gin.Context) { c.JSON(http.StatusOK, s.Mixer.Keyers()) })
	api.POST("/keyers", s.addKeyer)
	api.GET("/keyers/:id", func(c *gin.Context) {
		k, err := s.Mixer.Keyer(c.Param("id"))
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, k)
	})
	api.PATCH("/keyers/:id", s.patchKeyer)
	api.DELETE("/keyers/:id", s.deleteKeyer)
	api.POST("/keyers/:id/on", s.keyerOn(true))
	api.POST("/keyers/:id/off", s.keyerOn(false))
	api.PUT("/keyers/:id/image", s.putKeyerImage)
}

func (s *Server) addKeyer(c *gin.Context) {
	var spec keyer.Spec
	if err := bind(c, &spec); err != nil {
		fail(c, err)
		return
	}
	k, err := s.Mixer.AddKeyer(spec)
	if err != nil {
		fail(c, err)
		return
	}
	s.keyersChanged()
	c.JSON(http.StatusCreated, k)
}

func (s *Server) patchKeyer(c *gin.Context) {
	body, err := readBody(c, MaxBodyBytes)
	if err != nil {
		fail(c, err)
		return
	}
	k, err := s.Mixer.UpdateKeyer(c.Param("id"), func(spec *keyer.Spec) error { return decodeStrict(body, spec) })
	if err != nil {
		fail(c, err)
		return
	}
	s.keyersChanged()
	c.JSON(http.StatusOK, k)
}

func (s *Server) deleteKeyer(c *gin.Context) {
	id := c.Param("id")
	if err := s.Mixer.DeleteKeyer(id); err != nil {
		fail(c, err)
		return
	}
	if dir := s.keyerDir(); dir != "" {
		for _, ext := range []string{".png", ".jpg"} {
			_ = os.Remove(filepath.Join(dir, id+ext)) // its uploaded image, if any
		}
	}
	s.keyersChanged()
	c.Status(http.StatusNoContent)
}

func (s *Server) keyerOn(on bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		k, err := s.Mixer.SetKeyerOn(c.Param("id"), on)
		if err != nil {
			fail(c, err)
			return
		}
		s.keyersChanged()
		c.JSON(http.StatusOK, k)
	}
}

// putKeyerImage takes a PNG or JPEG as the request body for an image
// keyer, keeps it in the assets folder as keyers/{id}.png|jpg and shows it.
func (s *Server) putKeyerImage(c *gin.Context) {
	id := c.Param("id")
	k, err := s.Mixer.Keyer(id)
	if err != nil {
		fail(c, err)
		return
	}
	if k.Type != keyer.TypeImage {
		fail(c, badRequest("type", "keyer %s is a %s keyer; images go to image keyers", id, k.Type))
		return
	}
	dir := s.keyerDir()
	if dir == "" {
		fail(c, &APIError{Status: http.StatusServiceUnavailable, Msg: "no assets folder to keep uploaded images in"})
		return
	}
	// up to 32 MiB: more time than ReadTimeout gives a request
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(UploadTimeout))
	data, err := readBody(c, keyer.MaxImageBytes)
	if err != nil {
		fail(c, err)
		return
	}
	format, err := keyer.CheckImage(data)
	if err != nil {
		fail(c, badRequest("", "%v", err))
		return
	}
	ext := map[string]string{"png": ".png", "jpeg": ".jpg"}[format]
	path := filepath.Join(dir, id+ext)
	if err := atomicfile.Write(path, data); err != nil {
		fail(c, fmt.Errorf("cannot keep the image: %w", err))
		return
	}
	st, err := s.Mixer.UpdateKeyer(id, func(spec *keyer.Spec) error {
		spec.Path = show.KeyerUploads + "/" + id + ext // relative to the assets folder
		spec.DropImage()                               // the same name may hold a new picture
		return nil
	})
	if err != nil {
		fail(c, err)
		return
	}
	for _, other := range []string{".png", ".jpg"} {
		if other != ext {
			_ = os.Remove(filepath.Join(dir, id+other))
		}
	}
	s.keyersChanged()
	c.JSON(http.StatusOK, st)
}

// UploadTimeout is how long an image upload may take to arrive.
const UploadTimeout = 2 * time.Minute

// keyerDir is where uploaded keyer images are kept ("" without an assets folder).
func (s *Server) keyerDir() string {
	if s.Assets == nil {
		return ""
	}
	return filepath.Join(s.Assets.Path(), show.KeyerUploads)
}

// keyersChanged tells the event stream and keeps the keyers in show.json.
func (s *Server) keyersChanged() {
	s.events.publish("keyers", s.Mixer.Keyers())
	s.saveShow()
}
