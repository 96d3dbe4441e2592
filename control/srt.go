package control

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"switchyard/ingest"
	"switchyard/internal/protocols/srt"
)

// SRTListener is the SRT listener as the API sees it: its open
// connections (internal/servers/srt.Server).
type SRTListener interface {
	Connections() []srt.Connection
}

// getSRTConnections lists the SRT listener's publishers and readers with
// their links; 404 when SRT is off.
func (s *Server) getSRTConnections(c *gin.Context) {
	if s.SRT == nil {
		fail(c, notFound("SRT is off: set srt.listen to turn the listener on"))
		return
	}
	c.JSON(http.StatusOK, s.SRT.Connections())
}

// linksEvent is the "links" event: the SRT link of every source and
// output that has one, and the WebRTC (WHIP) session of every source
// published that way, once a second while any has (numbers that move all
// the time, so not kept for replay), and once empty when the last has
// gone. A source or output missing from it has no such link now.
type linksEvent struct {
	Sources map[string]srt.Stats          `json:"sources"`
	Outputs map[string]srt.Stats          `json:"outputs"`
	WebRTC  map[string]ingest.WebRTCStats `json:"webrtc"`
}

// any reports whether the event has a link.
func (l linksEvent) any() bool { return len(l.Sources)+len(l.Outputs)+len(l.WebRTC) > 0 }

// links reads every SRT link and WebRTC session for the "links" event.
func (s *Server) links() linksEvent {
	ev := linksEvent{Sources: map[string]srt.Stats{}, Outputs: map[string]srt.Stats{}, WebRTC: map[string]ingest.WebRTCStats{}}
	for _, src := range s.Registry.List() {
		st := src.Status()
		if st.SRT != nil {
			ev.Sources[st.Name] = *st.SRT
		}
		if st.WebRTC != nil {
			ev.WebRTC[st.Name] = *st.WebRTC
		}
	}
	if s.Outputs != nil {
		for _, o := range s.Outputs.List() {
			if o.SRT != nil {
				ev.Outputs[o.Name] = *o.SRT
			}
		}
	}
	return ev
}

// srtMetrics are the link metrics of one kind of SRT connection (a
// source's, an output's), labelled by its name.
type srtMetrics struct {
	rtt, latency, recv, send, received, sent, lost, retrans, dropped *prometheus.Desc
}

// newSRTMetrics names the metrics switchyard_<of>_srt_…, labelled <of>.
func newSRTMetrics(of string) srtMetrics {
	d := func(name, help string) *prometheus.Desc { return desc(of+"_srt_"+name, help, of) }
	return srtMetrics{
		rtt:      d("rtt_seconds", "The SRT link's smoothed round-trip time."),
		latency:  d("latency_seconds", "The SRT link's negotiated latency: the time it has to resend what is lost."),
		recv:     d("recv_kbps", "The SRT link's current receive rate (payload and headers)."),
		send:     d("send_kbps", "The SRT link's current send rate (payload and headers)."),
		received: d("packets_received_total", "SRT data packets received, retransmissions included (since the connection opened)."),
		sent:     d("packets_sent_total", "SRT data packets sent, retransmissions included (since the connection opened)."),
		lost:     d("packets_lost_total", "SRT data packets found missing (then asked for again) or reported lost (since the connection opened)."),
		retrans:  d("packets_retransmitted_total", "SRT data packets sent or received again (since the connection opened)."),
		dropped:  d("packets_dropped_total", "SRT data packets given up as too late for the latency: what they carried is lost (since the connection opened)."),
	}
}

var (
	sourceSRT = newSRTMetrics("source")
	outputSRT = newSRTMetrics("output")
)

func (m srtMetrics) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.rtt, m.latency, m.recv, m.send, m.received, m.sent, m.lost, m.retrans, m.dropped} {
		ch <- d
	}
}

// collect sends one connection's link; counters restart with each
// connection (as a source's publisher session does).
func (m srtMetrics) collect(ch chan<- prometheus.Metric, name string, l srt.Stats) {
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), name)
	}
	gauge(m.rtt, l.RTTMs/1000)
	gauge(m.latency, float64(l.LatencyMs)/1000)
	gauge(m.recv, l.RecvMbps*1000)
	gauge(m.send, l.SendMbps*1000)
	counter(m.received, l.PacketsReceived)
	counter(m.sent, l.PacketsSent)
	counter(m.lost, l.PacketsLost)
	counter(m.retrans, l.PacketsRetransmitted)
	counter(m.dropped, l.PacketsDropped)
}
