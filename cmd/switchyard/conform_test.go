package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/output/record"
)

// TestConform records a show as an event crew does — three cameras, one
// pushed over RTMP by a latency-tuned encoder, one over RTMP with B-frames,
// one over RTSP, each burning its frame counter into its picture as a bar
// code; the recording started with a camera on program, then cuts, a
// dissolve and a marker from the API — and rebuilds the show as an editor
// would from cuts.edl and the camera files: for every program frame, the
// camera frame the EDL points at (a blend of two during the dissolve) must
// be the picture program.mp4 has there. It reports how many frames differ
// (none may). Before, the first event was black (the cameras' files began
// at their next key frame), program.mp4 began up to a GOP late, and the
// source in-points were 2 to 9 frames late.
//
// The same session is checked as the other tools read it: every file
// starts on the session's timecode clock (ffprobe), cuts.xml's clip items
// point where the EDL does, within their files, contiguous; the chapters
// of program.mp4 are the cuts and the marker.
//
// At 30, 29.97 drop-frame and 25 fps, a few seconds each; `make soak`
// runs the 29.97 one for SOAK, switching all the while.
func TestConform(t *testing.T) {
	mustHaveTools(t)
	soak := soakLength(t, 0)
	for _, c := range []struct {
		name, rate, timecode string
		fps                  float64
		soak                 bool
	}{
		{"30 fps", "30", "time-of-day", 30, false},
		{"29.97 drop-frame", "30000/1001", "10:00:00;00", 29.97, true},
		{"25 fps", "25", "zero", 25, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			length := time.Duration(0)
			if c.soak {
				length = soak
			}
			conform(t, c.rate, c.timecode, c.fps, length)
		})
	}
}

func conform(t *testing.T, rate, timecode string, fps float64, soak time.Duration) {
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "cam2"}, ingest.SourceConfig{Name: "cam3"})
	cfg.Program.FPS = fps
	// the jitter buffer of a show over a busy network (the 9
	// frames late): also room for three encoders on a loaded test machine
	cfg.Program.JitterBuffer = JitterBuffer(300 * time.Millisecond)
	cfg.Record.Timecode = timecode
	require.NoError(t, cfg.Validate())
	a, _ := startApp(t, cfg)
	nominal := int(fps + 0.5)
	run(t, "ffmpeg", append(barCamera(1, rate, nominal, false), "-f", "flv", a.rtmpURL("cam1"))...)
	run(t, "ffmpeg", append(barCamera(2, rate, nominal, true), "-f", "flv", a.rtmpURL("cam2"))...)
	run(t, "ffmpeg", append(barCamera(3, rate, nominal, false), "-f", "rtsp", "-rtsp_transport", "tcp", a.rtspURL("live/cam3"))...)
	for _, cam := range []string{"cam1", "cam2", "cam3"} {
		waitLive(t, a, cam)
		waitPicture(t, a, cam)
	}
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	after := func(frames uint64) {
		n := a.mixer.Stats().FramesOut
		waitFor(t, 30*time.Second, "program frames", func() bool { return a.mixer.Stats().FramesOut >= n+frames })
	}
	after(uint64(nominal)) // the cameras run a GOP more: they have a pre-roll

	lateBefore := latePictures(a)
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, &in))
	sec := uint64(nominal)
	after(sec)
	mustAPI(t, "POST", a.apiURL("/cut"), ``, nil) // cam2, the B-frame camera
	after(sec)
	mustAPI(t, "POST", a.apiURL("/auto"), `{"type":"mix","duration_ms":500}`, nil) // cam1
	after(sec)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam3"}`, nil) // the RTSP camera
	after(sec / 2)
	var mark record.Marker
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/markers"), `{"name":"Goal","color":"green"}`, &mark))
	after(sec / 2)
	for end := time.Now().Add(soak); time.Now().Before(end); { // the soak: switching all the while
		// a hot cut to the B-frame camera, out of sight until then (its
		// first frames may pass over pictures: the EDL follows)
		mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam2"}`, nil)
		after(2 * sec)
		// a dissolve to a camera on preview a moment before, as an operator does
		mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam3"}`, nil)
		after(sec)
		mustAPI(t, "POST", a.apiURL("/auto"), `{"type":"mix","duration_ms":700}`, nil)
		after(2 * sec)
		mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam1"}`, nil)
		mustAPI(t, "POST", a.apiURL("/cut"), ``, nil)
		after(2 * sec)
	}
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &in))
	late := latePictures(a) - lateBefore
	require.Empty(t, in.Errors)
	dir := filepath.Join(a.recorder.Dir(), in.ID)

	// The edit list, read by its columns.
	edlText, err := os.ReadFile(filepath.Join(dir, "cuts.edl"))
	require.NoError(t, err)
	if soak == 0 {
		t.Logf("cuts.edl:\n%s", edlText)
	}
	drop, all, locs := readEDL(t, string(edlText), nominal)
	require.Equal(t, strings.Contains(rate, "1001"), drop, "drop-frame at 29.97")
	events := videoEvents(all)
	session := tcFrames(t, in.Timecode, nominal)
	program := filepath.Join(dir, "program.mp4")
	require.Equal(t, in.Timecode, fileTimecode(t, program), "program.mp4 starts on the session's timecode")
	if timecode != "time-of-day" && timecode != "zero" {
		require.Equal(t, timecode, in.Timecode, "record.timecode")
	}
	require.Equal(t, "CAM1", events[0].reel, "the camera on program at REC is the first event")
	jumps := 0
	for i := 1; i < len(events); i++ {
		if events[i].reel == events[i-1].reel && events[i].trans == "C" {
			jumps++
		}
	}
	t.Logf("%d events take a camera anew where the program jumped in its pictures", jumps)
	require.Equal(t, session, events[0].rec0, "from the session's first frame")

	// Rebuild the show from the EDL and the camera files, frame by frame.
	prog := decodeBars(t, program, rate)
	iso := map[string][]bars{}
	isoTC := map[string]int64{}
	files := map[string]record.FileInfo{}
	for _, f := range in.Files {
		files[f.Name] = f
	}
	source := func(clip string) []bars {
		if iso[clip] == nil {
			p := filepath.Join(dir, clip)
			iso[clip] = decodeBars(t, p, rate)
			isoTC[clip] = tcFrames(t, fileTimecode(t, p), nominal)
			require.Equal(t, files[clip].Timecode, fileTimecode(t, p), "%s: the timecode session.json gives it", clip)
		}
		return iso[clip]
	}
	at := func(clip string, tc int64) (bars, bool) {
		frames := source(clip)
		k := tcSub(tc, isoTC[clip], nominal, drop)
		if k < 0 || k >= int64(len(frames)) {
			return bars{}, false
		}
		return frames[k], true
	}
	differ, blendDiffer, blends := 0, 0, 0
	var report []string
	covered := int64(0)
	for i, ev := range events {
		require.NotEqual(t, "BL", ev.reel, "event %s: every event has its camera's media", ev.num)
		require.Equal(t, session+covered, ev.rec0, "event %s follows the one before", ev.num)
		covered = ev.rec1 - session
		require.LessOrEqual(t, ev.rec1-session, int64(len(prog)), "event %s ends within the program", ev.num)
		var from cmxEvent // the outgoing line of a dissolve
		if ev.trans == "D" {
			for j := range all {
				if all[j].num == ev.num && all[j].trans == "C" && all[j].channel == "V" {
					from = all[j]
				}
			}
			require.NotEmpty(t, from.clip, "event %s: the dissolve's outgoing file", ev.num)
		}
		_, last := at(ev.clip, ev.src1-1)
		require.True(t, last, "event %s: its source out is within %s (%d frames from %d)", ev.num, ev.clip, len(source(ev.clip)), isoTC[ev.clip])
		for r := ev.rec0; r < ev.rec1; r++ {
			got := prog[r-session]
			want, ok := at(ev.clip, ev.src0+r-ev.rec0)
			match := ok
			if ev.trans == "D" && r-ev.rec0 < int64(ev.dur) {
				blends++
				w := int((float64(r-ev.rec0)/float64(ev.dur))*256 + 0.5)
				match = ok && bestBlend(got, w, func(d int64) (bars, bool) { return at(from.clip, from.src0+r-ev.rec0+d) },
					func(d int64) (bars, bool) { return at(ev.clip, ev.src0+r-ev.rec0+d) })
			} else {
				gn, gid, gok := got.read()
				wn, wid, wok := want.read()
				match = match && gok && wok && gn == wn && gid == wid
			}
			if !match {
				differ++
				if ev.trans == "D" && r-ev.rec0 < int64(ev.dur) {
					blendDiffer++
				}
				if len(report) < 10 || (ev.trans != "D" && len(report) < 20) {
					gn, gid, _ := got.read()
					wn, wid, _ := want.read()
					line := fmt.Sprintf("frame %d (event %s %s): program shows camera %d frame %d, the EDL points at camera %d frame %d",
						r-session, ev.num, ev.reel, gid, gn, wid, wn)
					if ev.trans == "D" && r-ev.rec0 < int64(ev.dur) {
						out, _ := at(from.clip, from.src0+r-ev.rec0)
						on, oid, _ := out.read()
						line += fmt.Sprintf(" blended at %d/%d with camera %d frame %d (the program's own reading is a blend: %v)",
							r-ev.rec0, ev.dur, oid, on, got)
					}
					report = append(report, line)
				}
			}
		}
		if i == 0 {
			n, _, _ := prog[0].read()
			t.Logf("program.mp4's first frame: camera 1's frame %d, the one aired at REC", n)
		}
	}
	t.Logf("%s: %d program frames rebuilt from cuts.edl and the camera files (%d of them blends of a dissolve): %d differ (%d in a dissolve); "+
		"the mixer counted %d pictures late", rate, len(prog), blends, differ, blendDiffer, late)
	require.Equal(t, int64(len(prog)), covered, "the events cover every program frame and no more")
	// Every frame is the EDL's, also where a camera's picture came late
	// (the program showed the one before again: a jump the EDL follows),
	// but within a dissolve, where the mixer does not follow its sources
	// frame by frame: there a late picture may differ.
	require.Equal(t, blendDiffer, differ, "frames differing between program.mp4 and the show rebuilt from cuts.edl:\n%s", strings.Join(report, "\n"))
	require.LessOrEqual(t, uint64(blendDiffer), late, "frames of a dissolve differing:\n%s", strings.Join(report, "\n"))

	// One clock: a camera's file is timed as the program aired it at REC,
	// so the same instant has the same timecode in every file: the first
	// event's source timecode is its record timecode (within the frame the
	// picture fell in). Later the mixer may map a camera anew (its
	// pictures come later on a loaded machine): the EDL follows the
	// pictures aired, its source and record timecodes then part.
	require.InDelta(t, events[0].rec0, events[0].src0, 1, "event 001: source timecode %d, record %d", events[0].src0, events[0].rec0)
	same := 0
	for _, ev := range events {
		if d := ev.src0 - ev.rec0; d >= -1 && d <= 1 {
			same++
		}
	}
	t.Logf("%d of %d events have their source timecode at their record timecode", same, len(events))
	require.Equal(t, "CFR", mediainfoVideo(t, filepath.Join(dir, "cam1.mp4"), "FrameRate_Mode"), "the RTMP camera's file is on its frame grid")

	// cuts.xml: the program cut on V1 pointing where the EDL does.
	checkFCPXML(t, dir, in.Timecode, session, events, nominal, drop)

	// Markers and chapters.
	require.Contains(t, locs, fmt.Sprintf("%s %-7s %s", mark.Timecode, "GREEN", "Goal"), "the marker is a locator in the EDL")
	titles, starts := chapters(t, program)
	if soak == 0 {
		require.Equal(t, []string{"cam1", "cam2", "cam1 (mix)", "cam3", "Goal"}, titles, "program.mp4's chapters: the cuts and the marker")
	}
	var switched []cmxEvent // the events that change the source (not the jumps of one)
	for i, ev := range events {
		if i == 0 || ev.reel != events[i-1].reel || ev.trans == "D" {
			switched = append(switched, ev)
		}
	}
	for i, ev := range switched[:4] {
		require.InDelta(t, float64(ev.rec0-session)/fps, starts[i], 0.6/fps, "chapter %d starts with event %s", i, ev.num)
	}
	for i, title := range titles {
		if title == "Goal" {
			require.InDelta(t, float64(mark.Frame)/fps, starts[i], 0.6/fps, "the marker's chapter is at its frame")
		}
	}
	require.Equal(t, session+mark.Frame, tcFrames(t, mark.Timecode, nominal), "the marker's timecode is its frame's")
	var sj struct {
		Markers []record.Marker `json:"markers"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "session.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sj))
	require.Equal(t, []record.Marker{mark}, sj.Markers)
	var otio struct {
		Tracks struct {
			Markers []struct {
				Name  string `json:"name"`
				Color string `json:"color"`
			} `json:"markers"`
		} `json:"tracks"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "cuts.otio"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &otio))
	require.Len(t, otio.Tracks.Markers, 1)
	require.Equal(t, "GREEN", otio.Tracks.Markers[0].Color)
}

type fcpFile struct {
	ID       string `xml:"id,attr"`
	Name     string `xml:"name"`
	Duration int64  `xml:"duration"`
	Timecode struct {
		String string `xml:"string"`
	} `xml:"timecode"`
}

// checkFCPXML parses cuts.xml and checks its structure: every clip item's
// in and out inside its file, V1's clips contiguous and the EDL's events,
// each file with its timecode.
func checkFCPXML(t *testing.T, dir, sessionTC string, session int64, events []cmxEvent, nominal int, drop bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cuts.xml"))
	require.NoError(t, err)
	type clip struct {
		Name     string  `xml:"name"`
		Duration int64   `xml:"duration"`
		Start    int64   `xml:"start"`
		End      int64   `xml:"end"`
		In       int64   `xml:"in"`
		Out      int64   `xml:"out"`
		File     fcpFile `xml:"file"`
	}
	type track struct {
		Enabled     string `xml:"enabled"`
		Clips       []clip `xml:"clipitem"`
		Transitions []struct {
			Start int64 `xml:"start"`
			End   int64 `xml:"end"`
		} `xml:"transitionitem"`
	}
	var doc struct {
		XMLName  xml.Name `xml:"xmeml"`
		Version  string   `xml:"version,attr"`
		Sequence struct {
			Duration int64 `xml:"duration"`
			Timecode struct {
				String string `xml:"string"`
			} `xml:"timecode"`
			Media struct {
				Video struct {
					Tracks []track `xml:"track"`
				} `xml:"video"`
				Audio struct {
					Tracks []track `xml:"track"`
				} `xml:"audio"`
			} `xml:"media"`
			Markers []struct {
				Name string `xml:"name"`
				In   int64  `xml:"in"`
			} `xml:"marker"`
		} `xml:"sequence"`
	}
	require.NoError(t, xml.Unmarshal(b, &doc), "cuts.xml parses")
	require.Equal(t, "5", doc.Version)
	seq := doc.Sequence
	require.Equal(t, sessionTC, seq.Timecode.String)
	require.Len(t, seq.Markers, 1)
	files := map[string]fcpFile{}
	for _, tr := range append(seq.Media.Video.Tracks, seq.Media.Audio.Tracks...) {
		for _, c := range tr.Clips {
			if c.File.Name != "" {
				files[c.File.ID] = c.File
				require.Equal(t, fileTimecode(t, filepath.Join(dir, c.File.Name)), c.File.Timecode.String, "%s's timecode", c.File.Name)
			}
		}
	}
	for _, tr := range append(seq.Media.Video.Tracks, seq.Media.Audio.Tracks...) {
		for _, c := range tr.Clips {
			f, ok := files[c.File.ID]
			require.True(t, ok, "clip %s: its file is described", c.Name)
			require.GreaterOrEqual(t, c.In, int64(0), "clip %s in", c.Name)
			require.LessOrEqual(t, c.Out, f.Duration, "clip %s: out within %s", c.Name, f.Name)
			require.Equal(t, c.End-c.Start, c.Out-c.In, "clip %s", c.Name)
		}
	}
	v1 := seq.Media.Video.Tracks[0]
	require.Len(t, v1.Clips, len(events), "V1 has the EDL's events")
	require.Len(t, seq.Media.Video.Tracks, 4, "V1 and one track per camera")
	for i, c := range v1.Clips {
		ev := events[i]
		require.Equal(t, strings.ToUpper(c.Name), ev.reel)
		require.Equal(t, ev.clip, files[c.File.ID].Name)
		// the same sync between record and source as the EDL's
		fileTC := tcFrames(t, files[c.File.ID].Timecode.String, nominal)
		require.Equal(t, (ev.rec0-session)-tcSub(ev.src0, fileTC, nominal, drop), c.Start-c.In, "clip %d: record against source", i+1)
		if i > 0 {
			require.Equal(t, v1.Clips[i-1].End, c.Start, "V1 is contiguous")
		}
	}
	require.Equal(t, seq.Duration, v1.Clips[len(v1.Clips)-1].End)
	require.NotEmpty(t, v1.Transitions, "the dissolve")
	require.NotEmpty(t, seq.Media.Audio.Tracks, "the program's sound")
}

// latePictures is how many pictures of the cameras reached the mixer after
// their tick.
func latePictures(a *app) uint64 {
	n := uint64(0)
	for _, cam := range []string{"cam1", "cam2", "cam3"} {
		n += a.mixer.Switcher().SourceStats(cam).PicturesLate
	}
	return n
}

// tcSub is a−b in frames of timecode, across midnight (a camera's pre-roll
// before 00:00:00:00 is the day before's 23:59:59).
func tcSub(a, b int64, nominal int, drop bool) int64 {
	day := int64(24 * 3600 * nominal)
	if drop {
		day = 24 * 6 * int64(nominal*600-nominal/15*9)
	}
	d := ((a-b)%day + day) % day
	if d > day/2 {
		d -= day
	}
	return d
}
