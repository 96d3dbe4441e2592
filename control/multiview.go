package control

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// multiview streams the monitor wall as Motion JPEG
// (multipart/x-mixed-replace): a browser's <img>, VLC and ffmpeg play it.
func (s *Server) multiview(c *gin.Context) {
	pics, stop := s.Mixer.Multiview().Subscribe()
	defer stop()
	const boundary = "switchyardframe"
	w := c.Writer
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// Each part is followed at once by the next boundary, so a browser
	// shows a picture as soon as it has it rather than when the next comes.
	if _, err := fmt.Fprintf(w, "--%s\r\n", boundary); err != nil {
		return
	}
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case jpg, ok := <-pics:
			if !ok {
				return
			}
			if _, err := fmt.Fprintf(w, "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(jpg)); err != nil {
				return
			}
			if _, err := w.Write(jpg); err != nil { // shared with other viewers: not appended to
				return
			}
			if _, err := fmt.Fprintf(w, "\r\n--%s\r\n", boundary); err != nil {
				return
			}
			w.Flush()
		}
	}
}
