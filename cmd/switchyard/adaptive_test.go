package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
)

// TestAdaptiveJitterBuffer: a camera (pictures and sound) pushed over RTMP
// through a TCP proxy that delays each chunk by a random 0, 10, 40 and then
// 120 ms (in order), then 0 again, with jitter_buffer_ms: auto — on
// preview at 0 ms (off air the buffer comes down to what a clean loopback
// needs), then on program: on air it grows only for media that came late,
// and back on a clean path it comes down slowly. At each step its buffer follows the
// network: the status shows jitter_buffer_ms at or
// above the measured transit jitter and near what it measured it needs
// (transit plus decode, jitter_need_ms); after 2 s at a step no picture is
// late (on a quiet machine; on a busy one, a stall past every need before
// is a late picture, and a step of the buffer at once); and the program repeats or skips at most one of its pictures per
// change of the buffer (the mixer's count of aired jumps against its count
// of steps). A microphone source follows the camera's buffer.
func TestAdaptiveJitterBuffer(t *testing.T) {
	mustHaveTools(t)
	flv := filepath.Join(t.TempDir(), "cam.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "60", "-c:v", "libx264", "-preset", "ultrafast",
		"-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", "-y", flv).CombinedOutput()
	require.NoError(t, err, "make the camera's clip: %s", out)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", JitterBufferMS: ingest.JitterAuto}))
	proxy := testpeer.StartProxy(t, a.rtmp.Addr().String())

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { errs <- flvPusher(ctx, flv, "rtmp://"+proxy.Addr()+"/live/cam1", stalls{}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-errs:
		case <-time.After(10 * time.Second):
			t.Error("the pusher did not stop")
		}
	})
	waitLive(t, a, "cam1")
	// on preview first: off air the buffer follows the need both ways; on
	// program (from the first jittery level on) it grows only for media
	// that came late
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam1"}`, nil)

	// a microphone on the camera's buffer: through the API, checked
	var e struct{ Error, Field string }
	require.Equal(t, 400, api(t, "POST", a.apiURL("/sources"), `{"name":"mic1","follows":"cam9"}`, &e))
	require.Equal(t, "follows", e.Field, e.Error)
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"mic1","follows":"cam1"}`, nil)
	require.Equal(t, 409, api(t, "DELETE", a.apiURL("/sources/cam1"), "", &e), "a followed source stays")

	frames := func(n uint64) {
		t.Helper()
		from := a.mixer.Stats().FramesOut
		waitFor(t, 60*time.Second, fmt.Sprintf("%d program frames", n), func() bool { return a.mixer.Stats().FramesOut >= from+n })
	}
	// it starts on the fixed default (2 frames) and comes down to what a
	// clean loopback needs, a quarter frame a second
	frames(240)
	t.Logf("after 8 s on a clean loopback: %d ms", sourceStatus(t, a, "cam1").JitterBufferMS)

	// needs seen (by polling the status), for "near what it needs": the
	// buffer holds a peak for 6–8 s after it and for shrinkHold after it grew
	type seen struct {
		at   time.Time
		need float64
	}
	var needs []seen
	onAir, lastOnAir := false, -1 // cam1 on program; its buffer last seen (-1: not yet)
	lastNeed := math.Inf(1)       // its need last seen
	var lastRise time.Time        // when its buffer was last seen higher than before
	shrunk, tooSoon := 0, 0       // ms it came down by on air below what its need asks; times it came down on air within 5 s of a rise
	status := func() ingest.Status {
		t.Helper()
		st := sourceStatus(t, a, "cam1")
		needs = append(needs, seen{time.Now(), st.JitterNeedMS})
		// on air it may come down only to what its need asks (the
		// estimator's target: the need, 4 ms and an eighth, at least 5 ms,
		// at most 1 s; 1 ms for the status's rounding), and only shrinkHold
		// (8 s) after it last grew: a buffer a growth took past its target
		// (half as much again as was missing), or one cut to program
		// above it, comes down by the excess. The need of the poll before
		// or this one, the lower: it may have risen since the step.
		need := min(lastNeed, st.JitterNeedMS)
		target := min(max(need*9/8+4, 5), 1000) - 1
		if onAir && lastOnAir >= 0 && st.JitterBufferMS < lastOnAir {
			if float64(st.JitterBufferMS) < target {
				shrunk += lastOnAir - st.JitterBufferMS
			}
			if !lastRise.IsZero() && time.Since(lastRise) < 5*time.Second {
				tooSoon++
			}
		}
		if lastOnAir >= 0 && st.JitterBufferMS > lastOnAir {
			lastRise = time.Now()
		}
		lastOnAir, lastNeed = st.JitterBufferMS, st.JitterNeedMS
		return st
	}
	recentPeak := func(within time.Duration) float64 {
		var m float64
		for _, n := range needs {
			if time.Since(n.at) <= within {
				m = max(m, n.need)
			}
		}
		return m
	}
	poll := func(n uint64) {
		t.Helper()
		from := a.mixer.Stats().FramesOut
		waitFor(t, 60*time.Second, fmt.Sprintf("%d program frames", n), func() bool {
			status()
			return a.mixer.Stats().FramesOut >= from+n
		})
	}

	var report []string
	for _, level := range []time.Duration{0, 10 * time.Millisecond, 40 * time.Millisecond, 120 * time.Millisecond} {
		if level > 0 && !onAir {
			mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
			frames(3) // on program from the next tick: a step decided before it was off air
			onAir, lastOnAir = true, sourceStatus(t, a, "cam1").JitterBufferMS
		}
		proxy.Jitter(level)
		poll(60) // 2 s to follow it
		before := a.mixer.Switcher().SourceStats("cam1")
		poll(150) // 5 s at this jitter
		after := a.mixer.Switcher().SourceStats("cam1")
		st, mic := status(), sourceStatus(t, a, "mic1")
		late, steps, jumps := after.PicturesLate-before.PicturesLate, after.JitterSteps-before.JitterSteps, after.AiredJumps-before.AiredJumps
		moves := after.MapMoves - before.MapMoves // the clock mapping's own (timing.go), not the buffer's
		soundLate := after.SoundLate - before.SoundLate
		peak := recentPeak(20 * time.Second)
		report = append(report, fmt.Sprintf("jitter %v: buffer %d ms (need %.1f ms, peak of the last 20 s %.1f ms, transit %.1f ms), over 5 s: %d steps, %d mapping moves, %d aired jumps, %d late pictures, %v late sound",
			level, st.JitterBufferMS, st.JitterNeedMS, peak, st.TransitJitterMS, steps, moves, jumps, late, soundLate))
		t.Log(report[len(report)-1])

		require.True(t, st.JitterBufferAuto)
		// after 2 s at a level, a picture is late only when the need rose
		// past all it had been (the machine stalled: tests share 2 cores),
		// and then the buffer grew: never a late picture without a step
		require.LessOrEqual(t, late, steps, "jitter %v: pictures late after 2 s without the buffer growing", level)
		require.LessOrEqual(t, late, uint64(2), "jitter %v: pictures late after 2 s", level)
		require.LessOrEqual(t, jumps, steps+moves, "jitter %v: more pictures repeated or skipped than the buffer's steps (and the mapping's moves)", level)
		require.GreaterOrEqual(t, float64(st.JitterBufferMS)+1, st.TransitJitterMS, "jitter %v: the buffer covers the transit jitter", level)
		require.GreaterOrEqual(t, float64(st.JitterBufferMS)+1, st.JitterNeedMS, "jitter %v: the buffer covers what it needs", level)
		// the target (peak + 4 ms + an eighth) and a growth's overshoot (≤ half a frame)
		require.LessOrEqual(t, float64(st.JitterBufferMS), peak*9/8+4+17+1, "jitter %v: the buffer near what it needs", level)
		require.GreaterOrEqual(t, st.JitterBufferMS, int(level*8/10/time.Millisecond), "jitter %v: the buffer follows the network", level)
		require.Equal(t, st.JitterBufferMS, mic.JitterBufferMS, "mic1 follows cam1's buffer")
	}
	require.Zero(t, shrunk, "on air while the jitter rose: the buffer shrank below what its need asks by %d ms", shrunk)
	require.Zero(t, tooSoon, "on air while the jitter rose: the buffer came down %d times within 5 s of growing", tooSoon)

	// a clean path again, on air: once the need window and shrinkHold have
	// passed it comes down, a quarter frame a second, each step skipping at
	// most one picture and no sound late for it
	proxy.Jitter(0)
	high := sourceStatus(t, a, "cam1").JitterBufferMS
	before := a.mixer.Switcher().SourceStats("cam1")
	poll(750) // 25 s
	after := a.mixer.Switcher().SourceStats("cam1")
	st, mic := status(), sourceStatus(t, a, "mic1")
	late, steps, jumps := after.PicturesLate-before.PicturesLate, after.JitterSteps-before.JitterSteps, after.AiredJumps-before.AiredJumps
	moves := after.MapMoves - before.MapMoves
	report = append(report, fmt.Sprintf("clean again, on air for 25 s: buffer %d → %d ms (need %.1f ms), %d steps, %d mapping moves, %d aired jumps, %d late pictures, %v late sound",
		high, st.JitterBufferMS, st.JitterNeedMS, steps, moves, jumps, late, after.SoundLate-before.SoundLate))
	t.Log(report[len(report)-1])
	require.LessOrEqual(t, st.JitterBufferMS, high-30, "on air on a clean path for 25 s: the buffer did not come down")
	require.LessOrEqual(t, jumps, steps+moves+late, "on air coming down: more pictures repeated or skipped than the buffer's steps")
	require.LessOrEqual(t, late, uint64(2), "on air coming down: pictures late")
	require.Equal(t, st.JitterBufferMS, mic.JitterBufferMS, "mic1 follows cam1's buffer down")

	// the whole run: every repeat or skip on air was a late picture or a step
	all := a.mixer.Switcher().SourceStats("cam1")
	t.Logf("whole run: %d steps, %d mapping moves, %d aired jumps, %d late pictures, %v late sound", all.JitterSteps, all.MapMoves, all.AiredJumps, all.PicturesLate, all.SoundLate)
	require.LessOrEqual(t, all.AiredJumps, all.JitterSteps+all.MapMoves+all.PicturesLate, "aired jumps beyond the steps and late pictures:\n%s", strings.Join(report, "\n"))
}

// TestAdaptiveSettingsSurviveRestart: jitter_buffer_ms auto, a fixed value
// and follows set through the API are in show.json and back after a
// restart; a fixed value set over the program's auto wins.
func TestAdaptiveSettingsSurviveRestart(t *testing.T) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"})
	cfg.Program.JitterBuffer = JitterBuffer(100 * time.Millisecond) // the program's: fixed
	a, aLogs := startApp(t, cfg)
	mustAPI(t, "PATCH", a.apiURL("/sources/cam1"), `{"jitter_buffer_ms":"auto"}`, nil)
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"mic1","follows":"cam1"}`, nil)
	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"far","jitter_buffer_ms":250}`, nil)
	require.True(t, sourceStatus(t, a, "cam1").JitterBufferAuto, "auto over the program's fixed 100 ms")
	closeApp(t, a, aLogs) // bounded: a hang fails with the stacks

	b, _ := startApp(t, cfg)
	cam, mic, far := sourceStatus(t, b, "cam1"), sourceStatus(t, b, "mic1"), sourceStatus(t, b, "far")
	require.True(t, cam.JitterBufferAuto)
	require.True(t, mic.JitterBufferAuto, "mic1 follows cam1's adaptive buffer")
	require.Equal(t, cam.JitterBufferMS, mic.JitterBufferMS)
	require.False(t, far.JitterBufferAuto)
	require.Equal(t, 250, far.JitterBufferMS)
	var e struct{ Error, Field string }
	require.Equal(t, 400, api(t, "PATCH", b.apiURL("/sources/far"), `{"follows":"mic1"}`, &e), "mic1 follows another")
	require.Equal(t, "follows", e.Field)
}

// TestMicrophoneFollowsItsCamera: one encoder sends a camera (a white flash
// each second) straight to cam1 and its sound (a beep at each flash) to mic1
// through a path whose delay wanders by up to 60 ms. The program shows cam1
// and hears mic1. With follows: cam1 the microphone uses the camera's
// (adaptive) buffer, which grows to cover the microphone's path: each beep
// starts within a frame of its flash. (On its own adaptive buffer the
// microphone's sound would come its path's jitter later than the pictures.)
func TestMicrophoneFollowsItsCamera(t *testing.T) {
	mustHaveTools(t)
	length := 10 * time.Second
	clip := filepath.Join(t.TempDir(), "flash-beep.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "color=c=black:s=320x240:r=30,drawbox=c=white:t=fill:enable='lt(mod(t\\,1)\\,0.02)'",
		"-f", "lavfi", "-i", "aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0)':s=48000",
		"-t", strconv.Itoa(int(length/time.Second)+14), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k", "-y", clip).CombinedOutput()
	require.NoError(t, err, "make the clip: %s", out)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", JitterBufferMS: ingest.JitterAuto},
		ingest.SourceConfig{Name: "mic1", JitterBufferMS: ingest.JitterAuto, Follows: "cam1"}))
	path := testpeer.StartProxy(t, a.rtmp.Addr().String())
	path.Jitter(60 * time.Millisecond)
	// one encoder, two streams with the same timestamps: the pictures
	// straight, the sound over the jittery path (each stream its own track:
	// a stream's mapping is its later track's least delay, timing.go, and
	// a camera's own sound would hold its pictures' mapping back by the
	// muxer's interleaving, which is not the buffer's to fix)
	p := run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", clip,
		"-map", "0:v", "-c", "copy", "-f", "flv", a.rtmpURL("cam1"),
		"-map", "0:a", "-c", "copy", "-f", "flv", "rtmp://"+path.Addr()+"/live/mic1")
	waitLive(t, a, "cam1")
	waitFor(t, 20*time.Second, "mic1 live", func() bool { return sourceStatus(t, a, "mic1").State == ingest.StateLive })
	mustAPI(t, "PATCH", a.apiURL("/audio/mic1"), `{"mode":"on"}`, nil)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	// the buffer takes in the microphone's path (it grows at once, and a
	// step of the sound waits for a quiet moment)
	cfg := a.mixer.Config()
	from := a.mixer.Stats().FramesOut
	waitFor(t, 30*time.Second, "4 s on air", func() bool { return a.mixer.Stats().FramesOut >= from+120 })

	frames := decodeProgram(t, a)
	beeps := beepOnsets(t, a, length+2*time.Second)
	start := frames.started(t)
	var flashes []time.Duration
	for n, prevLit := start, false; n < start+int64(length/cfg.FrameDuration()); n++ {
		lit := average(frames.frame(t, n)).R > 128
		if lit && !prevLit {
			flashes = append(flashes, time.Duration(n)*cfg.FrameDuration())
		}
		prevLit = lit
	}
	found := <-beeps
	cam, mic := sourceStatus(t, a, "cam1"), sourceStatus(t, a, "mic1")
	t.Logf("cam1's buffer %d ms (need %.1f ms), mic1's %d ms; mic1's transit jitter %.1f ms",
		cam.JitterBufferMS, cam.JitterNeedMS, mic.JitterBufferMS, mic.TransitJitterMS)
	require.GreaterOrEqual(t, len(flashes), int(length/time.Second)-3, "flashes seen")
	var offs []time.Duration
	for _, f := range flashes[1:] {
		i := sort.Search(len(found), func(i int) bool { return found[i].onset > f-500*time.Millisecond })
		require.Less(t, i, len(found), "a beep near the flash at %s", f)
		offs = append(offs, found[i].onset-f)
	}
	lo, hi := slicesMinMax(offs)
	t.Logf("A/V offset (mic1's beep − cam1's flash) over %d pairs: %s … %s", len(offs), lo.Round(100*time.Microsecond), hi.Round(100*time.Microsecond))
	for i, o := range offs {
		require.LessOrEqual(t, absDuration(o), cfg.FrameDuration()+5*time.Millisecond, "pair %d: beep %s from its flash", i, o)
	}
	require.Equal(t, cam.JitterBufferMS, mic.JitterBufferMS, "mic1 on cam1's buffer")
	require.NoError(t, p.wait(t, 30*time.Second), "the encoder ran to its end")
}

// TestStalledCameraSkipsToKey: an ffmpeg camera (RTMP, a key frame every
// 0.2 s) on program whose path stalls for 0.8 s — under the second that
// re-anchors its timeline — and then delivers what it held in one burst:
// its pictures from the stall would all come after their tick, so it takes
// up again at the newest key frame of the burst. The status and /metrics
// count the pictures passed over, its log blames its network (not the
// machine), and its pictures go on.
func TestStalledCameraSkipsToKey(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", JitterBufferMS: ingest.JitterAuto}))
	path := testpeer.StartProxy(t, a.rtmp.Addr().String())
	args := append(lavfiInput("red", "320x240", 30), "-g", "6", "-f", "flv", "rtmp://"+path.Addr()+"/live/cam1")
	run(t, "ffmpeg", args...)
	waitLive(t, a, "cam1")
	waitPicture(t, a, "cam1")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	frames := func(n uint64) {
		t.Helper()
		from := a.mixer.Stats().FramesOut
		waitFor(t, 30*time.Second, fmt.Sprintf("%d program frames", n), func() bool { return a.mixer.Stats().FramesOut >= from+n })
	}
	frames(60)
	require.Zero(t, sourceStatus(t, a, "cam1").PicturesSkipped, "a clean loopback skips nothing")

	// The stall as long as it was held (a loaded machine holds it longer
	// than asked). One held a second or more may re-anchor the clock
	// mapping instead (jumpTol) and pass nothing over: then it is made
	// again. What is judged is the stall that passed pictures over.
	var held time.Duration
	var base uint64
	for try := 1; ; try++ {
		base = sourceStatus(t, a, "cam1").PicturesSkipped
		start := time.Now()
		path.Stall(true)
		time.Sleep(800 * time.Millisecond) // the network's stall, not synchronisation
		path.Stall(false)
		held = time.Since(start)
		wait := 20 * time.Second
		if held >= time.Second {
			wait = 5 * time.Second
		}
		if pollUntil(wait, func() bool { return sourceStatus(t, a, "cam1").PicturesSkipped > base }) {
			break
		}
		require.GreaterOrEqual(t, held, time.Second, "cam1's pictures from a stall of %v not skipped within %v", held, wait)
		require.Less(t, try, 3, "3 stalls held a second or more (the last %v) and none passed pictures over", held)
		t.Logf("the stall held %v and re-anchored (nothing skipped): made again", held)
		frames(60)
	}
	decoded := a.mixer.Switcher().SourceStats("cam1").Pictures
	frames(30)
	st := sourceStatus(t, a, "cam1")
	skipped := st.PicturesSkipped - base
	t.Logf("after the stall (held %v): %d pictures skipped, %d late; jitter buffer %d ms", held.Round(time.Millisecond), skipped, st.PicturesLate, st.JitterBufferMS)
	// 0.8 s is 24 pictures, a key frame every 6: the newest of the burst is
	// at most 6 from its end (a stall seen late by a busy test is shorter)
	require.LessOrEqual(t, skipped, uint64(held.Seconds()*30)+6, "more skipped than the stall held (%v)", held)
	require.Greater(t, a.mixer.Switcher().SourceStats("cam1").Pictures, decoded, "cam1 decodes again after the skip")

	var said string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "skipped to its newest key frame") {
			said = l
		}
	}
	require.Contains(t, said, "its media arrived late (the network or the sender)", "the skip's log line: %q", said)
	require.Contains(t, said, "source=cam1")
	require.Contains(t, getText(t, "http://"+a.http.Addr().String()+"/metrics"), fmt.Sprintf(`switchyard_source_pictures_skipped_total{source="cam1"} %d`, st.PicturesSkipped))
}
