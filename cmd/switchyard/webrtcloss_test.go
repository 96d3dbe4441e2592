package main

import (
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/servers/webrtc/whiptest"
	"switchyard/internal/testpeer"
	"switchyard/media"
	"switchyard/mixer/clock"
)

// whipThroughRelay publishes c to source through relay, a UDP path in
// front of the server's WebRTC port: the offer goes without the client's
// candidates (the server can reach the client only by answering what comes
// through the relay, a peer-reflexive candidate), and the answer's
// loopback candidates are pointed at the relay, as webrtc.public_ips does
// for a NAT. It returns the answer.
func whipThroughRelay(t *testing.T, a *app, relay *testpeer.LossyUDP, source string, c *whiptest.Client) string {
	t.Helper()
	var offer []string
	for _, l := range strings.Split(string(c.Offer(t)), "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") && l != "a=end-of-candidates" {
			offer = append(offer, l)
		}
	}
	res, answer := whipPost(t, "POST", a.whipURL(source), "application/sdp", "", "", []byte(strings.Join(offer, "\r\n")))
	require.Equal(t, http.StatusCreated, res.StatusCode, answer)
	host, port, err := net.SplitHostPort(relay.Addr())
	require.NoError(t, err)
	var out []string
	pointed := 0
	for _, l := range strings.Split(answer, "\r\n") {
		if f := strings.Fields(l); strings.HasPrefix(l, "a=candidate:") && len(f) >= 8 {
			if f[4] != "127.0.0.1" || f[2] != "udp" && f[2] != "UDP" {
				continue // the server's other addresses: only the relay is the way
			}
			f[4], f[5] = host, port
			l = strings.Join(f, " ")
			pointed++
		}
		out = append(out, l)
	}
	require.Positive(t, pointed, "a loopback UDP candidate in the answer: %s", answer)
	return strings.Join(out, "\r\n")
}

// rtpOf reads an RTP packet's payload type and sequence number from a
// datagram of the WebRTC port (SRTP leaves the header in the clear; RFC
// 7983 tells RTP and RTCP, first byte 128–191, from STUN and DTLS, and RFC
// 5761 RTCP, types 200–206, from RTP).
func rtpOf(b []byte) (pt uint8, seq uint16, ok bool) {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 || b[1] >= 200 && b[1] <= 206 {
		return 0, 0, false
	}
	return b[1] & 0x7f, binary.BigEndian.Uint16(b[2:]), true
}

// burst loses, while on, every video packet on the way up, and later
// their retransmissions too: a loss the sender cannot repair.
type burst struct {
	mu       sync.Mutex
	on       bool
	from, to time.Time // when it began and its last loss
	lost     map[uint16]bool
}

func (b *burst) shape(d []byte, up bool) (bool, time.Duration) {
	pt, seq, ok := rtpOf(d)
	if !up || !ok || pt != 96 { // the client's H.264, answered with its own payload type
		return false, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.on {
		if b.lost == nil {
			b.lost, b.from = map[uint16]bool{}, time.Now()
		}
		b.lost[seq], b.to = true, time.Now()
		return true, 0
	}
	return b.lost[seq], 0
}

// TestWHIPLoss: a WHIP publisher (pion, answering NACKs and PLIs as a
// browser does) sends to the show through a path that loses 3 % of the
// datagrams each way, reorders 3 % of them by 30 ms and varies the delay
// (20 ms ± 20 ms). NACKs are sent and answered (packets are recovered),
// the source stays live on the program, the program keeps its frame rate
// with no frame late, and pictures decode (few decode errors). Then a
// burst of loss that retransmissions cannot repair: the jitter buffer gives
// up, a PLI goes out, and a key frame comes back within a second — and
// nothing broken is published in between (the first picture after the hole
// is the key frame).
func TestWHIPLoss(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "guest"}))
	// a key frame every 10 s: one within a second of the burst is the PLI's
	h264, opus := whiptest.MediaOf(t, "testsrc2=size=320x240:rate=25", "sine=frequency=1000:sample_rate=48000", 20, 250)
	var b burst
	relay := testpeer.StartLossyUDP(t, a.webrtc.Addr().String(), testpeer.Impairment{Loss: 0.03, Delay: 20 * time.Millisecond,
		Jitter: 20 * time.Millisecond, Reorder: 0.03, ReorderBy: 30 * time.Millisecond, Shape: b.shape, Seed: 25})
	c := whiptest.New(t, webrtc.MimeTypeH264)
	c.KeyOnPLI = true
	c.Send(t, whipThroughRelay(t, a, relay, "guest", c), h264, opus)
	st := waitLive(t, a, "guest")
	require.Equal(t, "webrtc", st.Protocol)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"guest"}`, nil)
	waitPicture(t, a, "guest")

	// the source's video as published, from here on
	src, ok := a.registry.Get("guest")
	require.True(t, ok)
	reader := src.Stream().NewReader(1024)
	type arrival struct {
		at  time.Time
		pts time.Duration
		key bool
	}
	units := make(chan arrival, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer reader.Close()
		for {
			u, err := reader.Next(ctx)
			if err != nil {
				return
			}
			if u.Track.Kind == media.KindVideo {
				select {
				case units <- arrival{time.Now(), u.PTS, u.Key}:
				default:
				}
			}
		}
	}()
	defer func() { cancel(); <-readerDone }()

	// 8 s through the lossy path; a window in which the machine starved
	// the process (its 10 ms ticker over 40 ms late: then the program's
	// clock is late for the host's reasons, not the path's) is measured
	// again, up to three windows
	var s0, s1 ingest.Status
	var m0, m1 clock.Stats
	var took time.Duration
	for window := 1; ; window++ {
		s0, m0 = sourceStatus(t, a, "guest"), a.mixer.Stats()
		t0, stalls := time.Now(), watchStalls()
		waitFor(t, 30*time.Second, "8 s of program", func() bool { return time.Since(t0) >= 8*time.Second })
		s1, m1, took = sourceStatus(t, a, "guest"), a.mixer.Stats(), time.Since(t0)
		stall := stalls()
		if m1.Late == m0.Late && m1.Dropped == m0.Dropped || stall <= 40*time.Millisecond || window == 3 {
			onTime(t, a, m0)
			break
		}
		t.Logf("window %d: %d program frames late while the process went %s without running: measuring again", window, m1.Late-m0.Late, stall.Round(time.Millisecond))
	}
	w := s1.WebRTC
	require.NotNil(t, w)
	passed, dropped := relay.Counts()
	t.Logf("8 s at 3 %% loss, 3 %% reordered, 20 ± 20 ms: %+v; publisher got %d NACKs, %d PLIs; decode errors %d, source pictures late %d, sound late %.2f s; "+
		"program %d frames in %s; relay passed %d, dropped %d",
		*w, c.NACKs.Load(), c.PLIs.Load(), s1.DecodeErrors-s0.DecodeErrors, s1.PicturesLate-s0.PicturesLate, s1.AudioLateS-s0.AudioLateS,
		m1.FramesOut-m0.FramesOut, took.Round(time.Millisecond), passed, dropped)
	require.Equal(t, ingest.StateLive, s1.State, "the source stays live")
	require.Positive(t, w.NACKs, "NACKs sent")
	require.Positive(t, w.NACKedPackets, "packets asked for again")
	require.Positive(t, c.NACKs.Load(), "NACKs reached the publisher")
	require.Positive(t, w.PacketsRecovered, "retransmissions (and reordered packets) in time")
	require.LessOrEqual(t, s1.DecodeErrors-s0.DecodeErrors, uint64(2), "pictures decode")
	res, metrics := whipPost(t, "GET", "http://"+a.http.Addr().String()+"/metrics", "", "", "", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, m := range []string{"nacks", "nacked_packets", "packets_recovered", "plis"} {
		require.Regexp(t, `switchyard_source_webrtc_`+m+`_total\{source="guest"\} [1-9]`, metrics)
	}
	require.Contains(t, metrics, `switchyard_source_webrtc_packets_skipped_total{source="guest"}`)
	frames := m1.FramesOut - m0.FramesOut
	want := uint64(took.Seconds() * 30)
	require.InDelta(t, want, frames, float64(want)/10, "the program keeps its 30 fps")

	// a burst of loss that NACKs cannot repair
	var last arrival // the last picture before the burst
	for len(units) > 0 {
		last = <-units
	}
	require.False(t, last.at.IsZero(), "pictures published before the burst")
	plis := w.PLIs
	b.mu.Lock()
	b.on = true
	b.mu.Unlock()
	time.Sleep(400 * time.Millisecond) // the burst's length, not a wait for anything
	b.mu.Lock()
	b.on = false
	from, to, lost := b.from, b.to, len(b.lost)
	b.mu.Unlock()
	require.Positive(t, lost, "video packets lost in the burst")
	var after *arrival
	deadline := time.After(15 * time.Second)
	for after == nil {
		select {
		case u := <-units:
			if u.pts-last.pts < 200*time.Millisecond {
				last = u // before the hole (or on from it)
				continue
			}
			after = &u
		case <-deadline:
			t.Fatalf("no picture after the burst (%d packets lost from %s)", lost, to.Sub(from))
		}
	}
	t.Logf("burst: %d video packets lost in %s; the pictures resume %s after its end, %s of pictures missing, key: %v",
		lost, to.Sub(from).Round(time.Millisecond), after.at.Sub(to).Round(time.Millisecond), (after.pts - last.pts).Round(time.Millisecond), after.key)
	require.True(t, after.key, "the first picture after the hole is a key frame (nothing broken published)")
	require.Less(t, after.at.Sub(to), 1500*time.Millisecond, "a key frame soon after the burst (the next in the file is 10 s away)")
	waitFor(t, 5*time.Second, "the PLI counted", func() bool { return sourceStatus(t, a, "guest").WebRTC.PLIs > plis })
	require.Positive(t, c.PLIs.Load(), "the PLI reached the publisher")
	require.Equal(t, ingest.StateLive, sourceStatus(t, a, "guest").State)
}

// TestWHIPAVSync: a WHIP publisher whose picture flashes and whose sound
// beeps at the same instants (TestAVSync's camera), with its video and
// audio RTP timestamps starting at unrelated random values (pion's), and
// whose first 1.5 s of audio packets reach the show 600 ms late (a queue on
// the way): placed by the sender's RTCP reports, its sound is in step with
// its picture on the program, within a frame. Placed by each track's first
// arrival (as before), the sound was 600 ms behind for the whole session.
func TestWHIPAVSync(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "guest"}))
	h264, opus := whiptest.MediaOf(t, "color=c=black:s=320x240:r=25,drawbox=c=white:t=fill:enable='lt(mod(t\\,1)\\,0.04)'",
		"aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0)':s=48000", 30, 25)
	var mu sync.Mutex
	var firstAudio, lateEnd time.Time
	late := func(b []byte, up bool) (bool, time.Duration) {
		if pt, _, ok := rtpOf(b); !ok || !up || pt != 111 {
			return false, 0
		}
		mu.Lock()
		defer mu.Unlock()
		if firstAudio.IsZero() {
			firstAudio = time.Now()
		}
		if time.Since(firstAudio) < 1500*time.Millisecond {
			lateEnd = time.Now().Add(600 * time.Millisecond)
			return false, 600 * time.Millisecond
		}
		return false, 0
	}
	relay := testpeer.StartLossyUDP(t, a.webrtc.Addr().String(), testpeer.Impairment{Delay: 5 * time.Millisecond, Shape: late})
	c := whiptest.New(t, webrtc.MimeTypeH264)
	c.Send(t, whipThroughRelay(t, a, relay, "guest", c), h264, opus)
	waitLive(t, a, "guest")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"guest"}`, nil)
	// past the late audio, and the mixer's mapping past it (a window of
	// 2–4 s remembers each track's least delay)
	waitFor(t, 30*time.Second, "the late audio 5 s behind", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !lateEnd.IsZero() && time.Since(lateEnd) > 5*time.Second
	})
	avInSync(t, a, 10*time.Second, "", time.Second/30, time.Second/30) // 25 fps into 30: no phase to follow
}
