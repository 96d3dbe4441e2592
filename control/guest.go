package control

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"switchyard/internal/fault"
	"switchyard/output/tally"
)

// getGuestTally streams one source's tally lamp to its guest page
// (GET /guest/{source}/tally): an event "tally" with that source's lamp
// alone (`[{name, tally, color, …}]`) at once and at each change. A guest
// holds the source's publish key, not an API token: the key (`?key=` or
// a bearer) opens this stream, and only this one, on a show with tokens —
// what it tells (is my camera on air?) is what a guest must see. A wrong
// key counts against the address's throttle like a wrong token.
func (s *Server) getGuestTally(c *gin.Context) {
	name := c.Param("source")
	src, ok := s.Registry.Get(name)
	if !ok || s.Tally == nil {
		fail(c, fault.New(fault.NotFound, fmt.Sprintf("no source %q in this show", name)))
		return
	}
	if key := src.Config().PublishKey; key != "" && !s.knowsCaller(c) {
		addr := host(c.Request.RemoteAddr)
		if wait, no := s.auth.throttle.blocked(addr); no {
			c.Header("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
			c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"error": "too many wrong keys from this address; wait and try again"})
			return
		}
		given := c.Query("key")
		if b, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
			given = b
		}
		if subtle.ConstantTimeCompare([]byte(given), []byte(key)) != 1 {
			s.auth.throttle.failed(addr)
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "wrong or missing key: open the guest link with the source's publish key (?key=…)"})
			return
		}
	}
	if !s.limits.events.acquire() {
		refuseBusy(c, "event_clients", fmt.Sprintf("%d event-stream clients are connected, the most this server serves; retry later", MaxEventClients))
		return
	}
	defer s.limits.events.release()
	_, _, _, sub := s.events.subscribe(0, false)
	defer s.events.unsubscribe(sub)

	sw := s.openEventStream(c)
	last := ""
	send := func(lamps []tally.Lamp) error {
		for _, l := range lamps {
			if l.Name != name {
				continue
			}
			data, err := json.Marshal([]tally.Lamp{l})
			if err != nil || string(data) == last {
				return err
			}
			last = string(data)
			return sw.write(fmt.Appendf(nil, "event: tally\ndata: %s\n\n", data))
		}
		return nil
	}
	if sw.write([]byte("retry: 1000\n\n")) != nil || send(s.Tally.Status().Sources) != nil {
		return
	}
	s.pump(c, sw, sub, func(ev Event) error {
		if ev.Type != "tally" {
			return nil
		}
		var lamps []tally.Lamp
		if err := json.Unmarshal(ev.Data, &lamps); err != nil {
			return err
		}
		return send(lamps)
	})
}
