package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gin-gonic/gin"

	"switchyard/output/record"
)

// RecordDefaults are the record: settings used when a start request omits them.
type RecordDefaults struct {
	Program bool
	ISO     bool
}

func (s *Server) recordingRoutes(api *gin.RouterGroup) {
	api.POST("/recording/start", s.startRecording)
	api.POST("/recording/stop", func(c *gin.Context) {
		in, err := s.Recorder.Stop()
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, in)
	})
	api.POST("/recording/markers", s.addMarker)
	api.GET("/recordings", func(c *gin.Context) {
		list, err := s.Recorder.List()
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, list)
	})
	api.GET("/recordings/:session/:file", s.downloadRecording)
	api.DELETE("/recordings/:session", func(c *gin.Context) {
		if err := s.Recorder.Delete(c.Param("session")); err != nil {
			fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
}

type startRequest struct {
	Program *bool           `json:"program"`
	ISO     json.RawMessage `json:"iso"` // true/false or a list of source names
}

func (s *Server) startRecording(c *gin.Context) {
	var req startRequest
	if err := bindOptional(c, &req); err != nil {
		fail(c, err)
		return
	}
	r := record.StartRequest{Program: s.RecordDefaults.Program, Initial: s.Mixer.State().Program}
	if req.Program != nil {
		r.Program = *req.Program
	}
	iso := s.RecordDefaults.ISO
	if len(req.ISO) > 0 {
		var all bool
		if err := json.Unmarshal(req.ISO, &all); err == nil {
			iso = all
		} else if err := json.Unmarshal(req.ISO, &r.ISO); err != nil || r.ISO == nil {
			fail(c, badRequest("iso", `field "iso" must be true, false or a list of source names`))
			return
		} else {
			iso = true
		}
	}
	if !iso {
		r.ISO = []string{}
	}
	if !r.Program && len(r.ISO) == 0 && r.ISO != nil {
		fail(c, badRequest("program", "nothing to record: set program or iso"))
		return
	}
	in, err := s.Recorder.Start(r)
	if err != nil {
		if errors.Is(err, record.ErrNotFound) {
			fail(c, badRequest("iso", "%v", err))
			return
		}
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, in)
}

func (s *Server) downloadRecording(c *gin.Context) {
	p, err := s.Recorder.File(c.Param("session"), c.Param("file"))
	if err != nil {
		fail(c, err)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		fail(c, record.ErrNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filepath.Base(p)))
	http.ServeContent(c.Writer, c.Request, filepath.Base(p), st.ModTime(), f) // Range requests included
}

// markerRequest is POST /recording/markers.
type markerRequest struct {
	Name  string `json:"name"`
	Color string `json:"color,omitempty"` // red (the default), green, blue, cyan, magenta, yellow, black, white
}

// addMarker sets a marker at the current program frame of the running
// recording: in its edit lists, session.json and program.mp4's chapters.
func (s *Server) addMarker(c *gin.Context) {
	var req markerRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	m, err := s.Recorder.AddMarker(req.Name, req.Color)
	if err != nil { // a refused name or colour names its field
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}
