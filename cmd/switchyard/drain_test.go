package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	gosrt "github.com/datarhei/gosrt"
	"github.com/stretchr/testify/require"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/output/push"
	"switchyard/output/record"
)

// drainShow is the show file of the drain test: a camera slot to publish
// to, a second one a publisher tries after the drain began, an output to
// nginx-rtmp and one to an SRT listener, JSON logs with the show's name.
const drainShow = `http:    { listen: "127.0.0.1:%d" }
rtmp:    { listen: "127.0.0.1:%d" }
rtsp:    { listen: "127.0.0.1:%d", udp_rtp: "", udp_rtcp: "" }
srt:     { listen: "127.0.0.1:%d" }
program: { width: 320, height: 240, fps: 30, video_bitrate: 600k, audio_bitrate: 96k, keyint: 1s }
data_dir: %s
sources:
  - { name: cam1 }
  - { name: cam2 }
outputs:
  - { name: platform, url: "%s" }
  - { name: relay, url: "srt://%s" }
record:  { program: true, iso: true }
log:     { format: json, level: info }
show:    { name: drain-test }
shutdown_timeout: 20s
`

// TestDrainOnSIGTERM runs the binary as an orchestrator does and stops it
// with SIGTERM during a recording and two live outputs: /readyz turns 503
// within 100 ms, a new publisher and an API change are refused with
// "draining", the process exits 0, the recording's files play to their end
// and its edit lists parse, nginx-rtmp saw the RTMP output's stream end
// cleanly (deleteStream before the connection closed) and the SRT
// destination its caller's SHUTDOWN.
func TestDrainOnSIGTERM(t *testing.T) {
	mustHaveTools(t)
	bin := buildBinary(t)
	nginx := testpeer.StartNginx(t)
	relay := startSRTRelay(t)

	httpPort, rtmpPort, rtspPort := testpeer.FreePort(t), testpeer.FreePort(t), testpeer.FreePort(t)
	dataDir := t.TempDir()
	showFile := filepath.Join(t.TempDir(), "show.yaml")
	require.NoError(t, os.WriteFile(showFile, fmt.Appendf(nil, drainShow, httpPort, rtmpPort, rtspPort, freeUDPPort(t),
		dataDir, nginx.URL("drain"), relay.addr), 0o644))
	web := fmt.Sprintf("http://127.0.0.1:%d", httpPort)

	cmd := exec.Command(bin, "-config", showFile)
	logs := &logBuf{}
	cmd.Stderr = logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("switchyard log:\n%s", logs.String())
		}
	})

	waitFor(t, 30*time.Second, "/readyz 200", func() bool {
		code, _ := readyz(web)
		return code == http.StatusOK
	})
	run(t, "ffmpeg", append(lavfiInput("red", "320x240", 30), "-f", "flv", fmt.Sprintf("rtmp://127.0.0.1:%d/live/cam1", rtmpPort))...)
	waitFor(t, 20*time.Second, "cam1 live", func() bool {
		var st ingest.Status
		return api(t, "GET", web+"/api/v1/sources/cam1", "", &st) == http.StatusOK && st.State == ingest.StateLive
	})
	mustAPI(t, "POST", web+"/api/v1/program", `{"source":"cam1"}`, nil)
	waitFor(t, 20*time.Second, "the output live on nginx-rtmp", func() bool {
		var st push.Status
		return api(t, "GET", web+"/api/v1/outputs/platform", "", &st) == http.StatusOK && st.State == push.StateLive
	})
	waitFor(t, 20*time.Second, "the SRT output live", func() bool {
		var st push.Status
		return api(t, "GET", web+"/api/v1/outputs/relay", "", &st) == http.StatusOK && st.State == push.StateLive
	})
	var rec record.Info
	mustAPI(t, "POST", web+"/api/v1/recording/start", `{"program":true,"iso":true}`, &rec)
	waitFor(t, 20*time.Second, "3 s recorded", func() bool {
		var st control.State
		return api(t, "GET", web+"/api/v1/state", "", &st) == http.StatusOK && st.Recording != nil && st.Recording.DurationS >= 3
	})

	// A publisher on its way in: connected, announced and set up, it asks
	// to record once the drain began.
	late := lateRTSPPublisher(t, fmt.Sprintf("rtsp://127.0.0.1:%d/live/cam2", rtspPort))

	// Unready at once: within 100 ms of the signal, and before the server
	// stops answering. The time the test process itself was held back
	// meanwhile (a 10-ms ticker's worst lateness: a loaded machine's
	// stall holds back this poll and the show alike) is added to the
	// 100 ms; a drain that went unready only after closing the recording
	// (hundreds of ms) fails on a quiet machine.
	stalls := watchStalls()
	t.Cleanup(func() { stalls() })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	signalled := time.Now()
	var reason string
	for {
		code, body := readyz(web)
		if code == http.StatusServiceUnavailable {
			reason = body
			break
		}
		require.NotZero(t, code, "the control server stopped answering before /readyz said 503: %s", body)
		require.Less(t, time.Since(signalled), 10*time.Second, "/readyz still %d 10 s after SIGTERM", code)
		time.Sleep(2 * time.Millisecond)
	}
	unready, stalled := time.Since(signalled), stalls()
	t.Logf("/readyz 503 %v after SIGTERM (this process held back %v meanwhile): %s", unready.Round(time.Millisecond), stalled.Round(time.Millisecond), reason)
	require.Less(t, unready, 100*time.Millisecond+stalled, "/readyz 503 only %v after SIGTERM", unready)
	require.Contains(t, reason, "draining: the show is shutting down")

	res, err := late.Record()
	require.Error(t, err, "a publisher that asks once the drain began is refused")
	if res != nil {
		require.Equal(t, base.StatusServiceUnavailable, res.StatusCode)
	}
	t.Logf("late RTSP publisher: %v", err)
	code, body := rawAPI(web+"/api/v1/cut", `{}`)
	t.Logf("POST /api/v1/cut while draining: %d %s", code, body)
	if code != 0 { // 0: the control server had already closed
		require.Equal(t, http.StatusServiceUnavailable, code, body)
		require.Contains(t, body, "draining: the show is shutting down")
	}

	select {
	case <-exited:
		require.NoError(t, exitErr, "exit 0 after the drain")
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM (shutdown_timeout 20s)")
	}
	t.Logf("exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))

	// Every log line is JSON with the show's name.
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	lines := 0
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "log line: %s", sc.Text())
		require.Equal(t, "drain-test", line["show"], "log line: %s", sc.Text())
		lines++
	}
	require.Greater(t, lines, 5)
	if m := regexp.MustCompile(`"msg":"drained[^"]*".*"ms":(\d+),"recording_ms":(\d+),"outputs_ms":(\d+)`).FindStringSubmatch(logs.String()); m != nil {
		t.Logf("recording closed and outputs ended %s ms after the drain began (recording %s ms, outputs %s ms)", m[1], m[2], m[3])
	}
	require.Contains(t, logs.String(), `"msg":"publish refused"`)
	require.Contains(t, logs.String(), `"msg":"stopped"`)

	// The recording: stopped, every file plays to its end, the edit lists parse.
	dir := filepath.Join(dataDir, "recordings", rec.ID)
	var session record.Info
	b, err := os.ReadFile(filepath.Join(dir, "session.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &session))
	require.Equal(t, "stopped", session.State)
	require.NotNil(t, session.StoppedAt)
	for _, f := range []string{"program.mp4", "cam1.mp4"} {
		p := probeFile(t, filepath.Join(dir, f))
		var video bool
		for _, s := range p.Streams {
			if s.CodecType == "video" {
				video = true
				require.Greater(t, f64(s.Duration), 2.5, f)
			}
		}
		require.True(t, video, f)
		out, err := exec.Command("ffmpeg", "-v", "error", "-i", filepath.Join(dir, f), "-f", "null", "-").CombinedOutput()
		require.NoError(t, err, "%s: %s", f, out)
		require.Empty(t, strings.TrimSpace(string(out)), "%s decodes to its end without an error", f)
	}
	edl, err := os.ReadFile(filepath.Join(dir, "cuts.edl"))
	require.NoError(t, err)
	_, events, _ := readEDL(t, string(edl), 30)
	require.NotEmpty(t, events, "cuts.edl:\n%s", edl)
	otio, err := os.ReadFile(filepath.Join(dir, "cuts.otio"))
	require.NoError(t, err)
	var timeline map[string]any
	require.NoError(t, json.Unmarshal(otio, &timeline))
	require.Equal(t, "Timeline.1", timeline["OTIO_SCHEMA"])
	xml, err := os.ReadFile(filepath.Join(dir, "cuts.xml"))
	require.NoError(t, err)
	require.Contains(t, string(xml), "</xmeml>")

	// nginx-rtmp saw the stream end as an encoder ends it.
	waitFor(t, 5*time.Second, "nginx-rtmp to log the publish's end", func() bool { _, ended := nginx.PublishEnd("drain"); return ended })
	clean, _ := nginx.PublishEnd("drain")
	require.True(t, clean, "deleteStream before the connection closed")

	// The SRT destination heard the caller's SHUTDOWN: its connection ended
	// when the process stopped, long before its 10 s idle timeout would.
	select {
	case ended := <-relay.ended:
		t.Logf("SRT destination: connection ended %v after SIGTERM", ended.Sub(signalled).Round(time.Millisecond))
		require.Less(t, ended.Sub(signalled), 5*time.Second, "the SRT output closed its connection (SHUTDOWN), not an idle timeout")
	case <-time.After(15 * time.Second):
		t.Fatal("the SRT destination's connection never ended")
	}
}

// srtRelay is an SRT listener standing in for a destination: it takes one
// caller and reads until the connection ends, and says when.
type srtRelay struct {
	addr  string
	ended chan time.Time
}

func startSRTRelay(t *testing.T) *srtRelay {
	t.Helper()
	cfg := gosrt.DefaultConfig()
	cfg.PeerIdleTimeout = 10 * time.Second // a caller that vanishes is noticed only after this
	ln, err := gosrt.Listen("srt", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	r := &srtRelay{addr: ln.Addr().String(), ended: make(chan time.Time, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, err := ln.Accept2()
		if err != nil {
			return
		}
		c, err := req.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1500)
		for {
			if _, err := c.Read(buf); err != nil {
				r.ended <- time.Now()
				return
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return r
}

// readyz asks /readyz once: its status and body (0 when nothing answers).
func readyz(web string) (int, string) {
	resp, err := httpClient.Get(web + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rawAPI posts a JSON change; status 0 when the server did not answer.
func rawAPI(url, body string) (int, string) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// lateRTSPPublisher connects an RTSP publisher to url and takes it up to
// the RECORD that claims the source; the caller sends it.
func lateRTSPPublisher(t *testing.T, url string) *gortsplib.Client {
	t.Helper()
	u, err := base.ParseURL(url)
	require.NoError(t, err)
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	require.NoError(t, c.Start())
	t.Cleanup(c.Close)
	h264 := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{h264}}}}
	_, err = c.Announce(u, desc)
	require.NoError(t, err)
	_, err = c.Setup(u, desc.Medias[0], 0, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		require.NoError(t, err)
	}
	return c
}

// TestSecondSignalExitsAtOnce: a second SIGTERM during the drain exits at
// once with status 1, saying so.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SWITCHYARD_HTTP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTMP_LISTEN=127.0.0.1:0", "SWITCHYARD_SRT_LISTEN=127.0.0.1:0", "SWITCHYARD_WEBRTC_UDP=127.0.0.1:0",
		"SWITCHYARD_RTSP_LISTEN=127.0.0.1:0", "SWITCHYARD_RTSP_UDP_RTP=", "SWITCHYARD_RTSP_UDP_RTCP=", "SWITCHYARD_PROGRAM_WIDTH=320",
		"SWITCHYARD_PROGRAM_HEIGHT=180", "SWITCHYARD_DATA_DIR="+t.TempDir())
	logs := &logBuf{}
	cmd.Stderr = logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitFor(t, 20*time.Second, "switchyard running", func() bool { return strings.Contains(logs.String(), "switchyard running") })
	// A request still sending its body holds the control server's close
	// (it waits up to 5 s for requests in flight), so the drain lasts
	// long enough for a second signal: two sent at once would be one
	// (a pending signal is not queued twice).
	m := regexp.MustCompile(`panel=http://(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, m)
	slow, err := net.Dial("tcp", m[1])
	require.NoError(t, err)
	defer slow.Close()
	// Expect: 100-continue: the server says "100 Continue" when the handler
	// starts reading the body — the request is then in flight for certain
	// (a connection whose request has not been read yet is closed at once).
	_, err = fmt.Fprintf(slow, "POST /api/v1/program HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, slow.SetReadDeadline(time.Now().Add(10*time.Second)))
	line, err := bufio.NewReader(slow).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "100 Continue", "the handler reads the body")
	_, err = fmt.Fprint(slow, "{")
	require.NoError(t, err)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	waitFor(t, 10*time.Second, "the drain", func() bool { return strings.Contains(logs.String(), "shutting down: draining") })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20 s after two signals; log:\n%s", logs.String())
	}
	require.Equal(t, 1, cmd.ProcessState.ExitCode(), "log:\n%s", logs.String())
	require.Contains(t, logs.String(), "switchyard: second signal, exiting at once")
	require.NotContains(t, logs.String(), "msg=stopped")
}
