package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/output/record"
)

// movingClip encodes a clip every picture of which differs from every
// other (testsrc2: a moving pattern and a running time), with a tone, as a
// camera sends it: H.264 with a key picture every second, AAC.
func movingClip(t *testing.T, seconds int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "moving.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-y", p).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return p
}

// pictureHashes decodes a file's video and returns the MD5 of every
// picture, in order (a picture damaged by a loss decodes to another).
func pictureHashes(t *testing.T, file string) []string {
	t.Helper()
	out, _ := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "quiet", "-i", file, "-map", "0:v",
		"-fps_mode", "passthrough", "-f", "framemd5", "-").Output() // a damaged file may end in an error: its pictures count
	var h []string
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, ",") // stream, dts, pts, duration, size, hash
		h = append(h, strings.TrimSpace(f[5]))
	}
	return h
}

// lostPictures compares the pictures recorded with those sent: of the
// sent pictures from the first to the last recorded intact, those not
// recorded intact (missing, or decoded to something else) are lost.
func lostPictures(t *testing.T, sent, recorded []string) (lost, span int) {
	t.Helper()
	at := make(map[string]int, len(sent))
	for i, h := range sent {
		_, dup := at[h]
		require.False(t, dup, "the clip's pictures must all differ for the count to mean anything")
		at[h] = i
	}
	first, last := -1, -1
	intact := map[int]bool{}
	for _, h := range recorded {
		i, ok := at[h]
		if !ok {
			continue
		}
		intact[i] = true
		if first < 0 || i < first {
			first = i
		}
		last = max(last, i)
	}
	require.GreaterOrEqual(t, first, 0, "no picture of the clip was recorded intact")
	span = last - first + 1
	return span - len(intact), span
}

// lossFigures are one camera's figures in a loss run.
type lossFigures struct {
	loss                   float64
	lost, span             int    // pictures lost of those the recording spans
	packetsLost, retrans   uint64 // SRT's, on the way in
	dropped, decodeErrors  uint64
	picturesLate, received uint64
	readerDrops            uint64 // units the source's readers lost for being behind
	metricsDropped         uint64 // switchyard_source_srt_packets_dropped_total
}

// lossRun is what one run of TestSRTLoss saw.
type lossRun struct {
	cams map[string]lossFigures
	// program frames, late and dropped while it showed cam5, then cam30
	frames5, late5, dropped5, frames30, late30, dropped30 uint64
	took30                                                time.Duration
	// stall is the longest the test's own process went without running
	// a goroutine that asks to every 10 ms: a machine too busy for SRT's
	// latency when it nears 200 ms.
	stall time.Duration
}

// starved says why a run says nothing of the link: the process was not
// scheduled for a large part of the latency, or fell behind as a whole.
func (r lossRun) starved() string {
	switch {
	case r.stall > 150*time.Millisecond:
		return fmt.Sprintf("the process went %s without running (the SRT latency is 200 ms)", r.stall.Round(time.Millisecond))
	case r.dropped5+r.dropped30 > 0:
		return fmt.Sprintf("the program clock fell over a second behind (%d frames dropped)", r.dropped5+r.dropped30)
	}
	for name, f := range r.cams {
		if f.readerDrops > 0 {
			return fmt.Sprintf("%s's readers fell behind (%d units lost)", name, f.readerDrops)
		}
	}
	return ""
}

// watchStalls measures how late a 10 ms ticker's goroutine runs, until
// stop, which returns the worst (and the same again when called again).
func watchStalls() (stop func() time.Duration) {
	done, worst := make(chan struct{}), make(chan time.Duration, 1)
	last := time.Now() // from the call: a stall before the goroutine first runs counts
	go func() {
		var w time.Duration
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				worst <- max(w, time.Since(last)-10*time.Millisecond)
				return
			case now := <-tk.C:
				w = max(w, now.Sub(last)-10*time.Millisecond, time.Since(last)-10*time.Millisecond)
				last = time.Now()
			}
		}
	}()
	var once sync.Once
	var w time.Duration
	return func() time.Duration {
		once.Do(func() {
			close(done)
			w = <-worst
		})
		return w
	}
}

// runSRTLoss publishes the clip through three relays (0, 5 and 30 %
// loss), records, shows cam5 then cam30 on the program, and measures.
func runSRTLoss(t *testing.T, clip string, sent []string) lossRun {
	// the latency each caller asks for (the link takes the larger of the
	// caller's and the listener's 200 ms): the SRT Deployment Guide's
	// least is 5 round trips up to 7 % loss — 200 ms here, which gave up
	// a packet now and then on a busy machine — so the 5 % camera asks
	// 300 ms; the 30 % camera stays at 200 ms, where packets must be
	// given up
	levels := []struct {
		name    string
		loss    float64
		latency time.Duration
	}{{"cam0", 0, 300 * time.Millisecond}, {"cam5", 0.05, 300 * time.Millisecond}, {"cam30", 0.30, 200 * time.Millisecond}}
	var srcs []ingest.SourceConfig
	for _, l := range levels {
		srcs = append(srcs, ingest.SourceConfig{Name: l.name})
	}
	cfg := testConfig(t, srcs...)
	cfg.SRT.Latency = Duration(200 * time.Millisecond)
	a, _ := startApp(t, cfg)
	relays := map[string]*testpeer.LossyUDP{}
	for i, l := range levels {
		relays[l.name] = testpeer.StartLossyUDP(t, a.srt.Addr().String(),
			testpeer.Impairment{Loss: l.loss, Delay: 20 * time.Millisecond, Jitter: 3 * time.Millisecond, Seed: uint64(i + 1)})
		// latency in µs (ffmpeg 5.1's libsrt); a connect timeout that
		// outlasts a handshake's losses at 30 %
		run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", clip, "-c", "copy", "-f", "mpegts",
			fmt.Sprintf("srt://%s?streamid=publish:%s&latency=%d&connect_timeout=10000", relays[l.name].Addr(), l.name, l.latency.Microseconds()))
	}
	for _, l := range levels {
		waitPicture(t, a, l.name)
	}

	var in record.Info
	mustAPI(t, "POST", a.apiURL("/recording/start"), `{"program":false,"iso":true}`, &in) // the cameras' files only
	stalls := watchStalls()
	frames := func(n uint64) { // the program's clock moves n frames on
		t.Helper()
		from := a.mixer.Stats().FramesOut
		waitFor(t, 20*time.Second, fmt.Sprintf("%d program frames", n), func() bool { return a.mixer.Stats().FramesOut >= from+n })
	}
	m0 := a.mixer.Stats()
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam5"}`, nil)
	frames(150)
	m5 := a.mixer.Stats()
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam30"}`, nil)
	t0 := time.Now()
	frames(240)
	m30, took := a.mixer.Stats(), time.Since(t0)
	mustAPI(t, "POST", a.apiURL("/recording/stop"), ``, &in)
	r := lossRun{cams: map[string]lossFigures{}, stall: stalls(),
		frames5: m5.FramesOut - m0.FramesOut, late5: m5.Late - m0.Late, dropped5: m5.Dropped - m0.Dropped,
		frames30: m30.FramesOut - m5.FramesOut, late30: m30.Late - m5.Late, dropped30: m30.Dropped - m5.Dropped, took30: took}

	metrics := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	for _, l := range levels {
		st := sourceStatus(t, a, l.name)
		require.NotNil(t, st.SRT, "%s's link", l.name)
		require.Equal(t, uint64(l.latency.Milliseconds()), st.SRT.LatencyMs, "%s: the latency the caller asked for", l.name)
		m := regexp.MustCompile(`(?m)^switchyard_source_srt_packets_dropped_total\{source="` + l.name + `"\} (\d+)$`).FindStringSubmatch(metrics)
		require.NotNil(t, m, "%s's dropped packets in /metrics", l.name)
		n, err := strconv.ParseUint(m[1], 10, 64)
		require.NoError(t, err)
		lost, span := lostPictures(t, sent, pictureHashes(t, filepath.Join(a.recorder.Dir(), in.ID, l.name+".mp4")))
		f := lossFigures{loss: l.loss, lost: lost, span: span, packetsLost: st.SRT.PacketsLost, retrans: st.SRT.PacketsRetransmitted,
			dropped: st.SRT.PacketsDropped, decodeErrors: st.DecodeErrors, picturesLate: st.PicturesLate, received: st.SRT.PacketsReceived,
			readerDrops: st.Drops, metricsDropped: n}
		r.cams[l.name] = f
		relayed, relayDropped := relays[l.name].Counts()
		t.Logf("%2.0f %% loss each way, 40 ms RTT, %s latency: pictures lost %d of %d recorded; SRT packets received %d, lost %d, "+
			"retransmitted %d, dropped %d; decode errors %d, pictures late %d, units readers lost for being behind %d (relay: %d datagrams passed, %d dropped)",
			100*l.loss, l.latency, f.lost, f.span, f.received, f.packetsLost, f.retrans, f.dropped, f.decodeErrors, f.picturesLate, f.readerDrops, relayed, relayDropped)
	}
	t.Logf("program: %d frames on cam5 (%d late, %d dropped); %d frames on cam30 in %s (%d late, %d dropped); longest stall of the test's process %s",
		r.frames5, r.late5, r.dropped5, r.frames30, r.took30.Round(time.Millisecond), r.late30, r.dropped30, r.stall.Round(time.Millisecond))
	require.Equal(t, ingest.StateLive, sourceStatus(t, a, "cam30").State, "cam30 stays live")
	return r
}

// TestSRTLoss: three cameras publish the same clip over SRT (ffmpeg,
// latency 300 ms at 0 and 5 % — the SRT Deployment Guide's least at up to
// 7 % loss is 5 round trips, 200 ms here: a margin over it — and 200 ms
// at 30 %) each through a UDP relay that drops 0 %, 5 % or 30 % of the
// datagrams in both directions and delays each by 20 ms ± 3 ms (a 40 ms
// round trip). Pictures lost are measured on what Switchyard
// received: each camera's ISO file, decoded, against the clip, picture by
// picture (every picture of the clip differs from the others, so a
// picture missing or damaged — and those after it that refer to it — is
// counted); and, on the link, the packets SRT gave up (the gaps in what
// its receiver delivered). At 0 % and 5 % nothing is lost (at 5 % SRT
// lost packets and sent them again in time) while the program shows the
// 5 % camera; at 30 % packets are given up and pictures lost — counted in
// the status and /metrics — while the camera stays live and the program,
// showing it, keeps its clock: no frame dropped.
//
// A run during which the machine starved the process (a 10 ms ticker
// over 150 ms late, the program clock over a second behind, or a reader
// of a source behind) says nothing of the link: it is run again, up to
// three runs, and the test fails if all three are starved.
func TestSRTLoss(t *testing.T) {
	mustHaveTools(t)
	clip := movingClip(t, 40)
	sent := pictureHashes(t, clip)
	require.Len(t, sent, 40*30)

	var r lossRun
	for attempt := 1; ; attempt++ {
		t.Run(fmt.Sprintf("run%d", attempt), func(t *testing.T) { r = runSRTLoss(t, clip, sent) })
		if t.Failed() {
			return
		}
		why := r.starved()
		if why == "" {
			break
		}
		require.Less(t, attempt, 3, "the machine was too busy in three runs to measure the link: %s", why)
		t.Logf("run %d says nothing of the link: %s; running again", attempt, why)
	}
	for _, name := range []string{"cam0", "cam5"} {
		f := r.cams[name]
		require.Greater(t, f.span, 240, "%s: the recording holds the whole window", name)
		require.Zero(t, f.dropped, "%s: no packet given up", name)
		require.Zero(t, f.lost, "%s: no picture lost", name)
		require.Zero(t, f.decodeErrors, "%s: every picture decoded", name)
	}
	require.Positive(t, r.cams["cam5"].packetsLost, "5 %: the relay lost packets on the way in")
	require.Positive(t, r.cams["cam5"].retrans, "5 %: SRT sent them again")
	c30 := r.cams["cam30"]
	require.Positive(t, c30.dropped, "30 %: packets given up as too late")
	require.Positive(t, c30.metricsDropped, "30 %: and counted in /metrics")
	require.LessOrEqual(t, c30.metricsDropped, c30.dropped, "/metrics was read before the status")
	require.Positive(t, c30.lost, "30 %: pictures lost (the measure catches a real loss)")
	require.Zero(t, r.dropped30, "the program kept its clock on the 30 % camera: no frame dropped")
	require.GreaterOrEqual(t, r.frames30, uint64(240))
}
