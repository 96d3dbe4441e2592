package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestRTSPUDPConfig: UDP is on by default on 8000/8001 (as MediaMTX), is
// turned off by leaving both keys empty, from the file or the environment,
// and a pair the server cannot use is refused naming the key.
func TestRTSPUDPConfig(t *testing.T) {
	cfg, err := LoadConfig("", nil)
	require.NoError(t, err)
	require.Equal(t, RTSPConfig{Listen: ":8554", UDPRTP: ":8000", UDPRTCP: ":8001", MaxConnections: 256}, cfg.RTSP)

	cfg, err = LoadConfig("", []string{"SWITCHYARD_RTSP_UDP_RTP=", "SWITCHYARD_RTSP_UDP_RTCP="})
	require.NoError(t, err)
	require.Empty(t, cfg.RTSP.UDPRTP+cfg.RTSP.UDPRTCP, "the environment turns UDP off")
	cfg, err = LoadConfig("", []string{"SWITCHYARD_RTSP_UDP_RTP=127.0.0.1:9000", "SWITCHYARD_RTSP_UDP_RTCP=127.0.0.1:9001"})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9000", cfg.RTSP.UDPRTP)
	_, err = LoadConfig("", []string{"SWITCHYARD_RTSP_UDP_RTCP="})
	require.ErrorContains(t, err, "rtsp.udp_rtcp: must be set with rtsp.udp_rtp")

	for _, c := range []struct{ name, yaml, want string }{
		{"off in the file", `rtsp: {listen: ":8554", udp_rtp: "", udp_rtcp: ""}`, ""},
		{"on in the file", `rtsp: {udp_rtp: "0.0.0.0:6970", udp_rtcp: "0.0.0.0:6971"}`, ""},
		{"rtp without rtcp", `rtsp: {udp_rtp: ":8000", udp_rtcp: ""}`, "rtsp.udp_rtcp: must be set"},
		{"rtcp without rtp", `rtsp: {udp_rtp: "", udp_rtcp: ":8001"}`, "rtsp.udp_rtp: must be set"},
		{"odd rtp port", `rtsp: {udp_rtp: ":8001", udp_rtcp: ":8002"}`, "rtsp.udp_rtp: port 8001 must be even"},
		{"rtcp not next", `rtsp: {udp_rtp: ":8000", udp_rtcp: ":8003"}`, "rtsp.udp_rtcp"},
		{"rtcp on another host", `rtsp: {udp_rtp: "127.0.0.1:8000", udp_rtcp: "127.0.0.2:8001"}`, "rtsp.udp_rtcp"},
		{"no port", `rtsp: {udp_rtp: "8000", udp_rtcp: "8001"}`, "rtsp.udp_rtp"},
		{"port zero", `rtsp: {udp_rtp: ":0", udp_rtcp: ":1"}`, "rtsp.udp_rtp"},
		{"unknown key", `rtsp: {udp: ":8000"}`, "rtsp.udp: unknown key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "show.yaml")
			require.NoError(t, os.WriteFile(p, []byte(c.yaml), 0o644))
			_, err := LoadConfig(p, nil)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
		})
	}
}

// pushRTSPUDP publishes like pushRTSP, its RTP and RTCP over UDP.
func pushRTSPUDP(t *testing.T, a *app, name string) *proc {
	t.Helper()
	args := append(lavfiInput("red", "320x240", 30), "-f", "rtsp", "-rtsp_transport", "udp", a.rtspURL("live/"+name))
	return run(t, "ffmpeg", args...)
}

// readRTSP decodes n video frames of an RTSP URL with ffmpeg over the given
// transport and reports how it ended.
func readRTSP(t *testing.T, url, transport string, n int) error {
	t.Helper()
	p := run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", transport, "-i", url,
		"-map", "0:v", "-frames:v", strconv.Itoa(n), "-f", "null", "-")
	err := p.wait(t, 30*time.Second)
	if err != nil {
		t.Logf("ffmpeg reading %s over %s: %v: %s", url, transport, err, p.stderr.String())
	}
	return err
}

// TestRTSPOverUDP: ffmpeg publishes over UDP, ffmpeg reads a source and the
// program over UDP, and a second Switchyard pulls the source with
// transport: udp.
func TestRTSPOverUDP(t *testing.T) {
	mustHaveTools(t)
	a, _ := startAppUDP(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	pushRTSPUDP(t, a, "cam1")
	st := waitLive(t, a, "cam1")
	require.Equal(t, "rtsp", st.Protocol)
	waitPicture(t, a, "cam1")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)

	require.NoError(t, readRTSP(t, a.rtspURL("live/cam1"), "udp", 30), "a source read over UDP")
	require.NoError(t, readRTSP(t, a.rtspURL("program"), "udp", 30), "the program read over UDP")

	b, logs := startApp(t, testConfig(t))
	require.Equal(t, http.StatusCreated, api(t, "POST", b.apiURL("/sources"),
		`{"name":"relay","url":"`+a.rtspURL("live/cam1")+`","transport":"udp"}`, nil))
	waitLive(t, b, "relay")
	waitPicture(t, b, "relay")
	require.Contains(t, logs.String(), "transport=UDP", "the pull runs over UDP")
}

// TestRTSPTracksNotTakenAreNamed: a publisher whose sound Switchyard cannot
// take (MPEG-1 Layer II here) goes live with its picture, and the sound is
// named in the source's warning and in one log line, not dropped silently.
func TestRTSPTracksNotTakenAreNamed(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=c=red:s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
		"-pix_fmt", "yuv420p", "-c:a", "mp2", "-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/cam1"))
	st := waitLive(t, a, "cam1")
	require.Nil(t, st.Audio)
	require.Contains(t, st.Warning, "track 2 (audio MPEG1Audio) not taken")
	require.Equal(t, 1, strings.Count(logs.String(), "tracks not taken"), "one log line")
	require.Contains(t, logs.String(), "track 2 (audio MPEG1Audio) not taken")
}

// TestRTSPRefusalsCounted: an RTSP publisher with a wrong key, or with none,
// is counted in the source's refused, as over RTMP; the 401 challenge that
// starts every digest handshake is not (the right key counts nothing). An
// ANNOUNCE that never records claims nothing and logs no "publisher
// connected".
func TestRTSPRefusalsCounted(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2", PublishKey: "s3cret"}))
	publish := func(userinfo string) *proc {
		u := strings.Replace(a.rtspURL("live/cam2"), "rtsp://", "rtsp://"+userinfo, 1)
		args := append(lavfiInput("red", "320x240", 30), "-t", "20", "-f", "rtsp", "-rtsp_transport", "tcp", u)
		return run(t, "ffmpeg", args...)
	}
	refused := func() uint64 { return sourceStatus(t, a, "cam2").Refused }

	require.Error(t, publish("cam:wrong@").wait(t, 20*time.Second), "a wrong key is refused")
	waitFor(t, 5*time.Second, "the wrong key counted", func() bool { return refused() == 1 })
	require.Error(t, publish("").wait(t, 20*time.Second), "no key is refused")
	waitFor(t, 5*time.Second, "the missing key counted", func() bool { return refused() == 2 })
	require.Contains(t, logs.String(), "no publish key given")

	publish("cam:s3cret@")
	waitLive(t, a, "cam2")
	require.Equal(t, uint64(2), refused(), "the digest handshake of the right key is no refusal")

	// ANNOUNCE, then leave: nothing claimed, nothing logged as connected.
	c := &gortsplib.Client{Scheme: "rtsp", Host: a.rtsp.Addr().String()}
	require.NoError(t, c.Start())
	u, err := base.ParseURL(a.rtspURL("live/cam1"))
	require.NoError(t, err)
	h264 := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	_, err = c.Announce(u, &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{h264}}}})
	require.NoError(t, err)
	require.Equal(t, ingest.StateOffline, sourceStatus(t, a, "cam1").State, "an ANNOUNCE claims nothing")
	c.Close()
	require.NotContains(t, logs.String(), `msg="publisher connected" component=ingest source=cam1`)
}

// TestRTMPTracksNotTakenAreNamed: an RTMP publisher whose sound Switchyard
// cannot take (MP3) goes live with its picture; the sound is named in the
// source's warning and one log line, its messages are not malformed, and
// the publisher stays connected (it used to be cut after a hundred).
func TestRTMPTracksNotTakenAreNamed(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=c=red:s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
		"-pix_fmt", "yuv420p", "-c:a", "libmp3lame", "-f", "flv", a.rtmpURL("cam1"))
	st := waitLive(t, a, "cam1")
	waitFor(t, 10*time.Second, "the sound named", func() bool {
		st = sourceStatus(t, a, "cam1")
		return strings.Contains(st.Warning, "audio codec MP3 (id 2) is not taken")
	})
	src, _ := a.registry.Get("cam1")
	u0 := src.Stream().UnitsWritten()
	waitFor(t, 20*time.Second, "150 more video units (over a hundred MP3 messages past)", func() bool {
		return src.Stream().UnitsWritten() > u0+150
	})
	st = sourceStatus(t, a, "cam1")
	require.Equal(t, ingest.StateLive, st.State)
	require.Zero(t, st.Malformed)
	require.Zero(t, st.Sessions, "never disconnected")
	require.Nil(t, st.Audio)
	require.Equal(t, 1, strings.Count(logs.String(), "tracks not taken"))
}
