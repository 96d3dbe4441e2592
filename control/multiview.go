package control

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// multiview streams the monitor wall as Motion JPEG
// (multipart/x-mixed-replace): a browser's <img>, VLC and ffmpeg play it.
func (s *Server) multiview(c *gin.Context) {
	if !s.limits.multiview.acquire() {
		refuseBusy(c, "multiview_viewers", fmt.Sprintf("%d multiview viewers are watching, the most this server serves; close one or retry later",
			MaxMultiviewViewers))
		return
	}
	defer s.limits.multiview.release()
	pics, stop := s.Mixer.SubscribeMultiview()
	defer stop()
	const boundary = "switchyardframe"
	c.Writer.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	c.Writer.Header().Set("Cache-Control", "no-store")
	c.Writer.WriteHeader(http.StatusOK)
	sw := newStreamWriter(c, s.WriteTimeout)
	// Each part is followed at once by the next boundary, so a browser
	// shows a picture as soon as it has it rather than when the next comes.
	if sw.write([]byte("--"+boundary+"\r\n")) != nil {
		return
	}
	next := []byte("\r\n--" + boundary + "\r\n")
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
			head := fmt.Appendf(nil, "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(jpg))
			if sw.write(head, jpg, next) != nil { // jpg is shared with other viewers: not appended to
				return
			}
		}
	}
}
