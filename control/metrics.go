package control

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchyard/ingest"
	"switchyard/mixer/keyer"
	"switchyard/output/push"
	"switchyard/output/record"
)

// metrics holds the Prometheus registry of one control server. Sources, the
// mixer and outputs are read when /metrics is scraped, never per frame.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	refusals *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_http_requests_total",
			Help: "HTTP requests by route and status."}, []string{"route", "status"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_limit_refused_total",
			Help: "Requests refused for being past a cap (sources, generators, keyers, event_clients, multiview_viewers)."}, []string{"limit"})}
	for _, l := range []string{"sources", "generators", "keyers", "event_clients", "multiview_viewers"} {
		m.refusals.WithLabelValues(l) // shown from the start, at 0
	}
	m.reg.MustRegister(m.requests, m.refusals, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{s: s})
	if s.HLS != nil {
		m.reg.MustRegister(hlsCollector{s.HLS})
	}
	return m
}

func (m *metrics) refused(limit string) { m.refusals.WithLabelValues(limit).Inc() }

func (m *metrics) request(route string, status int) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("switchyard_"+name, help, labels, nil)
}

var (
	// dShowInfo names the show, always 1. An info series rather than a
	// constant label on every series, as Prometheus advises for a label
	// every series of a target would share ("Writing exporters": target
	// labels, not static scraped labels; node_uname_info, kube_pod_info):
	// every series keeps its name stable when the show is renamed, and a
	// query joins the name in where it wants it:
	//   switchyard_mixer_late_frames_total * on(instance) group_left(show) switchyard_show_info
	dShowInfo = desc("show_info", "The show this server runs (show.name, default the host name); always 1.", "show")

	dSourceUp      = desc("source_up", "1 when the source has a live publisher.", "source")
	dSourceKbps    = desc("source_bitrate_kbps", "Measured bitrate of the source.", "source")
	dSourceFPS     = desc("source_fps", "Frame rate of the source's video.", "source")
	dSourceWidth   = desc("source_width_pixels", "Width of the source's video.", "source")
	dSourceHeight  = desc("source_height_pixels", "Height of the source's video.", "source")
	dSourceUptime  = desc("source_uptime_seconds", "Time since the source's publisher connected.", "source")
	dSourceDrops   = desc("source_units_dropped_total", "Units the source's readers lost for being behind.", "source")
	dSourceRefused = desc("source_publish_refused_total", "Publishers refused (wrong key, already live).", "source")
	dSourceSess    = desc("source_sessions_total", "Publisher sessions that ended.", "source")
	dSourceBad     = desc("source_malformed_total", "Media messages from the source that could not be read.", "source")
	dSourceDecErr  = desc("source_decode_errors_total", "Pictures from the source that failed to decode.", "source")
	dSourceLate    = desc("source_audio_late_seconds_total", "The source's sound that came too late while the program mixed it (silence took its place).", "source")
	dSourcePicLate = desc("source_pictures_late_total", "The source's pictures decoded after the program tick that was to show them (the picture before was repeated).", "source")
	dSourcePicSkip = desc("source_pictures_skipped_total", "The source's pictures its decoder passed over, its media half a second behind (waiting for the decoder, or arrived late), taking up again at its newest key frame.", "source")
	dSourceKeyint  = desc("source_keyframe_interval_seconds", "Time between the source's last two key frames.", "source")
	dSourceTransit = desc("source_transit_jitter_seconds", "The most the source's media arrived after its least delay over the last two to four seconds: its network's jitter, what its jitter buffer has to cover.", "source")
	dSourceJitter  = desc("source_jitter_buffer_seconds", "How long the source's pictures and sound wait for their time in the mixer (its own jitter buffer or the program's).", "source")
	dSourceDecode  = desc("source_decode_wait_seconds", "The most the source's pictures and sound waited from their arrival to being decoded over the last 5-10 s: the machine's part of what its jitter buffer covers (a source the program neither shows nor hears waits out of it).", "source")
	dSourceNeed    = desc("source_jitter_need_seconds", "What the source's adaptive jitter buffer covers: the most its media needed over the last 6-8 s, transit jitter plus decode time (0 with a fixed buffer).", "source")

	dMixFrames  = desc("mixer_frames_total", "Program frames produced.")
	dMixLate    = desc("mixer_late_frames_total", "Program frames that left the encoder more than two frame times after their time on the program clock, or were composed more than a frame late.")
	dMixDropped = desc("mixer_dropped_frames_total", "Program frames skipped because the clock fell more than a second behind.")
	dMixLateBy  = desc("mixer_late_frames_by_cause_total", "Late program frames by cause: clock (the clock woke over a frame late), backlog (it waited for the encodes), encode (it left the encoder late).", "cause")
	dMixLeftMax = desc("mixer_frame_left_max_seconds", "The latest any program frame left the encoder, after its time on the program clock.")
	dMixEncode  = desc("mixer_encode_seconds", "Time the last program frame took to encode (all renditions).")

	dOutState   = desc("output_state", "1 for the output's current state.", "output", "state")
	dOutBytes   = desc("output_bytes_total", "Bytes sent to the destination.", "output")
	dOutFrames  = desc("output_frames_sent_total", "Video frames sent to the destination.", "output")
	dOutDropped = desc("output_frames_dropped_total", "Units lost because the destination was too slow.", "output")
	dOutReconn  = desc("output_reconnects_total", "Times the output went to retrying.", "output")
	dOutKbps    = desc("output_bitrate_kbps", "Measured bitrate to the destination.", "output")
	dOutUptime  = desc("output_uptime_seconds", "Time since the output went live.", "output")

	dAudioPeak = desc("audio_peak_dbfs", "Peak level over the last 100 ms (source, or \"program\").", "source")
	dAudioRMS  = desc("audio_rms_dbfs", "RMS level over the last 100 ms (source, or \"program\").", "source")

	dMediaRefused = desc("media_connections_refused_total", "Media connections refused over the protocol's max_connections.", "protocol")
	dLimitMax     = desc("limit_max", "The most of a capped resource the server holds (sources, generators, keyers, event_clients, multiview_viewers).", "limit")
	dLimitInUse   = desc("limit_in_use", "How much of a capped resource is in use.", "limit")

	dRecActive = desc("recording_active", "1 while a recording session runs.")
	dRecDur    = desc("recording_duration_seconds", "Length of the running recording session.")
	dRecBytes  = desc("recording_bytes", "Bytes in the running recording session's files.")
	dRecFree   = desc("recording_free_bytes", "Free space where recordings are written.")
)

var outputStates = []push.State{push.StateIdle, push.StateConnecting, push.StateLive, push.StateRetrying}

type stateCollector struct{ s *Server }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dShowInfo, dSourceUp, dSourceKbps, dSourceFPS, dSourceWidth, dSourceHeight, dSourceUptime,
		dSourceDrops, dSourceRefused, dSourceSess, dSourceBad, dSourceDecErr, dSourceKeyint, dSourceLate, dSourcePicLate, dSourcePicSkip, dSourceJitter, dSourceNeed, dSourceTransit, dSourceDecode, dMixFrames, dMixLate, dMixDropped, dMixEncode, dMixLateBy, dMixLeftMax,
		dOutState, dOutBytes, dOutFrames, dOutDropped, dOutReconn, dOutKbps, dOutUptime,
		dRecActive, dRecDur, dRecBytes, dRecFree, dAudioPeak, dAudioRMS, dMediaRefused, dLimitMax, dLimitInUse} {
		ch <- d
	}
	sourceSRT.describe(ch)
	outputSRT.describe(ch)
	describeWebRTC(ch)
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	gauge(dShowInfo, 1, c.s.ShowName)
	srcs := c.s.Registry.List()
	gens := 0
	for _, src := range srcs {
		if strings.HasPrefix(src.Config().URL, "gen://") {
			gens++
		}
	}
	for _, l := range []struct {
		name       string
		max, inUse int64
	}{
		{"sources", ingest.MaxSources, int64(len(srcs))},
		{"generators", ingest.MaxGenerators, int64(gens)},
		{"keyers", keyer.MaxKeyers, int64(len(c.s.Mixer.KeyerSpecs()))},
		{"event_clients", MaxEventClients, c.s.limits.events.inUse()},
		{"multiview_viewers", MaxMultiviewViewers, c.s.limits.multiview.inUse()},
	} {
		gauge(dLimitMax, float64(l.max), l.name)
		gauge(dLimitInUse, float64(l.inUse), l.name)
	}
	for _, st := range c.s.sources() {
		up := 0.0
		if st.State == ingest.StateLive {
			up = 1
		}
		gauge(dSourceUp, up, st.Name)
		gauge(dSourceKbps, st.BitrateKbps, st.Name)
		gauge(dSourceUptime, st.UptimeS, st.Name)
		if v := st.Video; v != nil {
			gauge(dSourceFPS, v.FPS, st.Name)
			gauge(dSourceWidth, float64(v.Width), st.Name)
			gauge(dSourceHeight, float64(v.Height), st.Name)
			gauge(dSourceKeyint, v.KeyframeIntervalS, st.Name)
		}
		counter(dSourceDrops, float64(st.Drops), st.Name)
		counter(dSourceRefused, float64(st.Refused), st.Name)
		counter(dSourceSess, float64(st.Sessions), st.Name)
		counter(dSourceBad, float64(st.Malformed), st.Name)
		counter(dSourceDecErr, float64(st.DecodeErrors), st.Name)
		counter(dSourceLate, st.AudioLateS, st.Name)
		counter(dSourcePicLate, float64(st.PicturesLate), st.Name)
		counter(dSourcePicSkip, float64(st.PicturesSkipped), st.Name)
		gauge(dSourceJitter, float64(st.JitterBufferMS)/1000, st.Name)
		gauge(dSourceTransit, st.TransitJitterMS/1000, st.Name)
		gauge(dSourceNeed, st.JitterNeedMS/1000, st.Name)
		gauge(dSourceDecode, st.DecodeWaitMS/1000, st.Name)
		if st.SRT != nil {
			sourceSRT.collect(ch, st.Name, *st.SRT)
		}
		if st.WebRTC != nil {
			collectSourceWebRTC(ch, st.Name, *st.WebRTC)
		}
	}
	if c.s.WebRTC != nil {
		collectWebRTC(ch, c.s.WebRTC)
	}
	if f := c.s.MediaRefused; f != nil {
		for proto, n := range f() {
			counter(dMediaRefused, float64(n), proto)
		}
	}
	m := c.s.Mixer.Stats()
	counter(dMixFrames, float64(m.FramesOut))
	counter(dMixLate, float64(m.Late))
	counter(dMixDropped, float64(m.Dropped))
	for cause, n := range m.LateBy {
		counter(dMixLateBy, float64(n), cause)
	}
	gauge(dMixLeftMax, m.LeftMaxMs/1000)
	gauge(dMixEncode, m.EncodeMs/1000)
	lv := c.s.Mixer.LastLevels()
	gauge(dAudioPeak, lv.Program.PeakDB, "program")
	gauge(dAudioRMS, lv.Program.RMSDB, "program")
	for name, l := range lv.Sources {
		gauge(dAudioPeak, l.PeakDB, name)
		gauge(dAudioRMS, l.RMSDB, name)
	}
	if r := c.s.Recorder; r != nil {
		in, active := r.Active()
		var bytes int64
		for _, f := range in.Files {
			bytes += f.Bytes
		}
		on := 0.0
		if active {
			on = 1
		}
		gauge(dRecActive, on)
		gauge(dRecDur, in.DurationS)
		gauge(dRecBytes, float64(bytes))
		if free, err := record.FreeBytes(r.Dir()); err == nil {
			gauge(dRecFree, float64(free))
		}
	}
	if c.s.Outputs == nil {
		return
	}
	for _, o := range c.s.Outputs.List() {
		for _, state := range outputStates {
			v := 0.0
			if o.State == state {
				v = 1
			}
			gauge(dOutState, v, o.Name, string(state))
		}
		counter(dOutBytes, float64(o.Bytes), o.Name)
		counter(dOutFrames, float64(o.FramesSent), o.Name)
		counter(dOutDropped, float64(o.FramesDropped), o.Name)
		counter(dOutReconn, float64(o.Reconnects), o.Name)
		gauge(dOutKbps, o.BitrateKbps, o.Name)
		gauge(dOutUptime, o.UptimeS, o.Name)
		if o.SRT != nil {
			outputSRT.collect(ch, o.Name, *o.SRT)
		}
	}
}
