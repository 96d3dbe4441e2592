package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/mixer/audio"
)

// programLevel reads two seconds of the program back over RTSP and returns
// the RMS and peak, in dBFS, after an optional filter that picks one tone.
func programLevel(t *testing.T, a *app, filter string) (mean, peak float64) {
	t.Helper()
	means, peaks := programLevels(t, a, filter)
	return means[0], peaks[0]
}

// volumeDetected is a volumedetect filter's result in ffmpeg's log, by the
// filter's place in the graph.
var volumeDetected = regexp.MustCompile(`\[Parsed_volumedetect_(\d+) @ [^\]]+\] (mean|max)_volume: (-?[0-9.inf]+) dB`)

// programLevels is programLevel for several filters over the same two
// seconds, read once: one read per level took a few seconds each.
func programLevels(t *testing.T, a *app, filters ...string) (means, peaks []float64) {
	t.Helper()
	graph := fmt.Sprintf("[0:a]asplit=%d", len(filters))
	for i := range filters {
		graph += fmt.Sprintf("[a%d]", i)
	}
	args := []string{"-hide_banner", "-rtsp_transport", "tcp", "-i", a.rtspURL("program"), "-filter_complex", ""}
	for i, f := range filters {
		af := "volumedetect"
		if f != "" {
			af = f + "," + af
		}
		graph += fmt.Sprintf(";[a%d]%s[o%d]", i, af, i)
		args = append(args, "-map", fmt.Sprintf("[o%d]", i), "-ss", "1", "-t", "2", "-f", "null", "-")
	}
	args[6] = graph
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	type level struct {
		place      int
		mean, peak float64
	}
	byFilter := map[int]*level{}
	for _, m := range volumeDetected.FindAllSubmatch(out, -1) {
		place, _ := strconv.Atoi(string(m[1]))
		v, _ := strconv.ParseFloat(string(m[3]), 64)
		l := byFilter[place]
		if l == nil {
			l = &level{place: place}
			byFilter[place] = l
		}
		if string(m[2]) == "mean" {
			l.mean = v
		} else {
			l.peak = v
		}
	}
	require.Len(t, byFilter, len(filters), "a level for each filter: %s", out)
	levels := slices.SortedFunc(maps.Values(byFilter), func(x, y *level) int { return x.place - y.place }) // the graph's order
	for _, l := range levels {
		means, peaks = append(means, l.mean), append(peaks, l.peak)
	}
	return means, peaks
}

// TestAudioMixer: per-source gain, mute and mode (afv, on, off), master
// gain, the limiter, levels on the event stream, settings kept across a
// restart. cam1 sends a 440 Hz sine and the line-up source a 1 kHz one, each
// at −18 dBFS peak (−21 dBFS RMS); band-pass filters tell them apart.
func TestAudioMixer(t *testing.T) {
	mustHaveTools(t)
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "lineup", URL: "gen://tone"})
	a, aLogs := startApp(t, cfg)
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	waitLive(t, a, "lineup")
	const at440 = "bandpass=f=440:width_type=q:w=8,bandpass=f=440:width_type=q:w=8" // twice: −45 dB an octave away
	const at1k = "bandpass=f=1000:width_type=q:w=8,bandpass=f=1000:width_type=q:w=8"
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil))

	var e struct{ Error, Field string }
	for path, body := range map[string]string{
		"/audio/cam1":   `{"gain_db":40}`,
		"/audio/master": `{"mode":"on"}`,
	} {
		require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL(path), body, &e), path)
	}
	require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL("/audio/cam1"), `{"mode":"sometimes"}`, &e))
	require.Equal(t, "mode", e.Field)
	require.Equal(t, http.StatusNotFound, api(t, "PATCH", a.apiURL("/audio/nosuch"), `{"mute":true}`, &e))

	// AFV: only the program source is heard.
	means, _ := programLevels(t, a, at440, at1k)
	require.InDelta(t, -21, means[0], 1.5, "cam1 on program")
	require.Less(t, means[1], -50.0, "the line-up source is not on program")

	// "on" with −6 dB: always mixed, at its gain.
	var st audio.Settings
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/audio/lineup"), `{"mode":"on","gain_db":-6}`, &st))
	require.Equal(t, audio.Settings{GainDB: -6, Mode: "on"}, st)
	mean, _ := programLevel(t, a, at1k)
	require.InDelta(t, -27, mean, 1.5, "the line-up tone mixed at −6 dB")

	// Mute cam1; master −10 dB.
	mustAPI(t, "PATCH", a.apiURL("/audio/cam1"), `{"mute":true}`, nil)
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/audio/master"), `{"gain_db":-10}`, nil))
	means, _ = programLevels(t, a, at440, at1k)
	// what is left at 440 Hz is the 1 kHz tone (−27 dB) leaking through the
	// filter, about −48 dB: cam1 itself would read −21
	require.Less(t, means[0], -40.0, "cam1 muted")
	require.InDelta(t, -37, means[1], 1.5, "master −10 dB")

	// +20 dB on a −18 dBFS tone would reach +2 dBFS: the limiter holds the
	// mix at −2 dBFS (checked on the program meter below, before the AAC
	// encode, whose ringing can add a dB or two), and does not pump it down.
	mustAPI(t, "PATCH", a.apiURL("/audio/master"), `{"gain_db":0}`, nil)
	mustAPI(t, "PATCH", a.apiURL("/audio/lineup"), `{"gain_db":20}`, nil)
	_, peak := programLevel(t, a, "")
	require.Greater(t, peak, -5.0, "the limited program is not pumped down")

	// Levels on the event stream, ten a second, for meters.
	ch, _ := sseClient(t, a.apiURL("/events"), "")
	next(t, ch, 5*time.Second, "state")
	var lv audio.Levels
	first := time.Now()
	for range 10 {
		require.NoError(t, json.Unmarshal([]byte(next(t, ch, 2*time.Second, "levels").data), &lv))
		if lv.Program.PeakDB > -100 {
			require.LessOrEqual(t, lv.Program.PeakDB, -2.0, "the limiter's ceiling")
			require.Greater(t, lv.Program.PeakDB, -4.0)
		}
	}
	require.Less(t, time.Since(first), 2*time.Second, "ten level events in about a second")
	require.InDelta(t, -21, lv.Sources["lineup"].RMSDB, 2, "the line-up source's own level")

	// The settings survive a restart, with the default transition.
	require.Equal(t, http.StatusOK, api(t, "PUT", a.apiURL("/transition"), `{"type":"wipe","duration_ms":700,"direction":"circle"}`, nil))
	closeApp(t, a, aLogs) // bounded: a hang fails with the stacks
	b, _ := startApp(t, cfg)
	var au audio.State
	require.Equal(t, http.StatusOK, api(t, "GET", b.apiURL("/audio"), "", &au))
	require.Equal(t, audio.Settings{GainDB: 20, Mode: "on"}, au.Sources["lineup"])
	require.Equal(t, audio.Settings{Mute: true, Mode: "afv"}, au.Sources["cam1"])
	tr := b.mixer.Switcher().DefaultTransition()
	require.Equal(t, "wipe", tr.Type)
	require.Equal(t, 700, tr.DurationMS)
	require.Equal(t, "circle", tr.Direction)
}

// TestLateMediaIsCounted: a camera on program has its publisher stop for
// 600 ms (SIGSTOP, as a stalled network would hold it), and then send what it
// held back. Its sound came after the jitter buffer and silence took its
// place; its pictures came after the ticks that were to show them, which
// repeated the picture before. The source's status and the metrics say how
// much, so an operator knows to raise program.jitter_buffer.
func TestLateMediaIsCounted(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	p := pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	waitPicture(t, a, "cam1")
	_, err := a.mixer.Switcher().SetProgram("cam1")
	require.NoError(t, err)
	status := func() ingest.Status {
		var st ingest.Status
		require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/sources/cam1"), "", &st))
		return st
	}
	// The stall as long as it was held (a loaded machine holds it longer
	// than asked). One held a second or more may re-anchor the source's
	// clock mapping instead (jumpTol) and count little or nothing late:
	// then it is made again once the program has run on. What is judged
	// is the stall that was counted.
	var before ingest.Status
	var held time.Duration
	counted := func() bool {
		st := status()
		return st.AudioLateS-before.AudioLateS >= 0.2 && st.PicturesLate-before.PicturesLate >= 6
	}
	for try := 1; ; try++ {
		before = status()
		start := time.Now()
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGSTOP))
		time.Sleep(600 * time.Millisecond) // the stall itself is the subject: wall time must pass
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGCONT))
		held = time.Since(start)
		wait := 10 * time.Second
		if held >= time.Second {
			wait = 5 * time.Second
		}
		if pollUntil(wait, counted) {
			break
		}
		require.GreaterOrEqual(t, held, time.Second, "the sound and pictures of a stall of %v not counted late within %v", held, wait)
		require.Less(t, try, 3, "3 stalls held a second or more (the last %v), none counted late", held)
		t.Logf("the stall held %v and re-anchored (little counted late): made again", held)
		n := a.mixer.Stats().FramesOut
		waitFor(t, 30*time.Second, "60 program frames", func() bool { return a.mixer.Stats().FramesOut >= n+60 })
	}
	after := status()
	t.Logf("late sound: %.3f s before the stall, %.3f s after; late pictures: %d before, %d after",
		before.AudioLateS, after.AudioLateS, before.PicturesLate, after.PicturesLate)
	require.Less(t, after.AudioLateS-before.AudioLateS, held.Seconds()+0.9, "no more late sound than the stall (%v) and the ring's limit", held)
	require.LessOrEqual(t, after.PicturesLate-before.PicturesLate, uint64(held.Seconds()*30)+12, "no more late pictures than the stall held back (%v: %.0f at 30 fps)", held, held.Seconds()*30)
	metrics := getText(t, "http://"+a.http.Addr().String()+"/metrics")
	for name, least := range map[string]float64{"audio_late_seconds_total": after.AudioLateS, "pictures_late_total": float64(after.PicturesLate)} {
		m := regexp.MustCompile(`switchyard_source_` + name + `\{source="cam1"\} ([0-9.e+-]+)`).FindStringSubmatch(metrics)
		require.NotNil(t, m, "the metric %s for cam1", name)
		v, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, v, least, "the metric %s counts what the status does", name)
	}
}
