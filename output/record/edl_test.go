package record

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimecode(t *testing.T) {
	for _, c := range []struct {
		num, den int
		frames   int64
		want     string
	}{
		{25, 1, 0, "00:00:00:00"},
		{25, 1, 25*3600 + 24, "01:00:00:24"},
		{50, 1, 50*61 + 49, "00:01:01:49"},
		{30, 1, 30 * 60, "00:01:00:00"},
		{30, 1, 30*86400 + 5, "00:00:00:05"}, // past midnight: the next day
		// SMPTE 12M drop-frame: numbers ;00 and ;01 are skipped at each
		// minute but every tenth; an hour of 29.97 is 107892 frames.
		{30000, 1001, 1799, "00:00:59;29"},
		{30000, 1001, 1800, "00:01:00;02"},
		{30000, 1001, 3597, "00:01:59;29"},
		{30000, 1001, 3598, "00:02:00;02"},
		{30000, 1001, 17982, "00:10:00;00"},
		{30000, 1001, 17983, "00:10:00;01"},
		{30000, 1001, 107892, "01:00:00;00"},
		{30000, 1001, -1, "23:59:59;29"}, // before midnight
		// at 59.94, four numbers are skipped
		{60000, 1001, 3600, "00:01:00;04"},
		{60000, 1001, 35964, "00:10:00;00"},
	} {
		c0 := clock{num: c.num, den: c.den}
		require.Equal(t, c.want, c0.format(c.frames), "%d frames at %d/%d", c.frames, c.num, c.den)
		if c.frames >= 0 {
			require.Equal(t, c.frames%c0.day(), c0.parse(c.want), "%s back to frames", c.want)
		}
	}
}

// TestTimecodeSettings: record.timecode gives the session's start.
func TestTimecodeSettings(t *testing.T) {
	wall := time.Date(2026, 3, 4, 14, 3, 12, 500_000_000, time.UTC)
	require.Equal(t, "14:03:12:15", newClock("time-of-day", 30, 1, wall).format(newClock("time-of-day", 30, 1, wall).start))
	require.Equal(t, "14:03:12:12", newClock("", 25, 1, wall).format(newClock("", 25, 1, wall).start))
	df := newClock("", 30000, 1001, wall)
	require.Equal(t, "14:03:12;16", df.format(df.start), "drop-frame timecode keeps to the wall clock")
	require.Equal(t, "00:00:00:00", newClock("zero", 30, 1, wall).format(0))
	c := newClock("10:00:00:00", 25, 1, wall)
	require.Equal(t, int64(900000), c.start)
	c = newClock("10:00:00;00", 30000, 1001, wall)
	require.Equal(t, "10:00:00;00", c.format(c.start))
	for _, bad := range []string{"now", "25:00:00:00", "10:00:00", "10:61:00:00", "1:00:00:00"} {
		require.Error(t, ParseTimecode(bad), bad)
	}
	for _, good := range []string{"", "time-of-day", "zero", "10:00:00:00", "23:59:59;29"} {
		require.NoError(t, ParseTimecode(good), good)
	}
	// the frame of a session time: frame n holds (n−½, n+½]
	c25 := clock{num: 25, den: 1}
	ms := time.Millisecond
	for at, want := range map[time.Duration]int64{0: 0, 20 * ms: 0, 20*ms + 1: 1, -20 * ms: -1, -20*ms + 1: 0, time.Second: 25} {
		require.Equal(t, want, c25.frameOf(at), "%v", at)
	}
	c30 := clock{num: 30, den: 1}
	for n := int64(-100); n < 100; n++ {
		require.Equal(t, n, c30.frameOf(time.Duration(n)*time.Second/30), "frame %d's own time", n)
	}
}

// cmxLine is an event line read by its fixed columns (CMX3600): every
// field where the CMX, Avid and Premiere samples have it.
type cmxLine struct {
	num, reel, channel, trans, dur string
	src0, src1, rec0, rec1         string
}

func readCMX(t *testing.T, l string) cmxLine {
	t.Helper()
	require.Len(t, l, 76, "an event line is 76 columns: %q", l)
	for _, sep := range []int{3, 4, 13, 19, 24, 28, 40, 52, 64} {
		require.Equal(t, byte(' '), l[sep], "column %d of %q is a space", sep+1, l)
	}
	c := cmxLine{num: l[0:3], reel: strings.TrimSpace(l[5:13]), channel: strings.TrimSpace(l[14:19]), trans: strings.TrimSpace(l[20:24]),
		dur: strings.TrimSpace(l[25:28]), src0: l[29:40], src1: l[41:52], rec0: l[53:64], rec1: l[65:76]}
	return c
}

// TestEDLColumnsReelsSoundMarkers: cut and dissolve lines have their
// timecodes in the same columns, as the CMX samples (a cut line once put
// them 4 columns left of a dissolve's); reel names are cut to 8
// characters and stay unique (presentercam once broke the columns); the
// sound heard with a camera is an AA event beside its picture, a source
// heard always an A3 event; a part of the program no file holds is black;
// markers are locators.
func TestEDLColumnsReelsSoundMarkers(t *testing.T) {
	c := clock{num: 25, den: 1, start: 25 * 3600}
	parts := map[string][]partJSON{
		"presentercam":  {{File: "presentercam.mp4", StartS: -0.5, EndS: 20, StartFrame: -12, Audio: "aac", Video: "h264"}},
		"presenterwide": {{File: "presenterwide.mp4", StartS: 2, EndS: 20, StartFrame: 50, Video: "h264"}},
		"mic":           {{File: "mic.m4a", StartS: 0, EndS: 20, StartFrame: 0, Audio: "aac"}},
	}
	cam := clipRef{source: "presentercam", part: &parts["presentercam"][0], src: 12}
	wide := clipRef{source: "presenterwide", part: &parts["presenterwide"][0], src: 50}
	mic := clipRef{source: "mic", part: &parts["mic"][0]}
	tl := timeline{title: "T", clock: c, files: parts, end: 250,
		events: []event{
			{rec0: 0, rec1: 100, clip: cam, kind: "cut"},
			{rec0: 100, rec1: 200, clip: wide, kind: "mix", dur: 25, from: clipRef{source: "presentercam", part: cam.part, src: 112}},
			{rec0: 200, rec1: 250, clip: clipRef{source: "bars"}, kind: "cut"},
		},
		markers: []Marker{{Name: "goal", Color: "green", Frame: 130}},
	}
	tl.audio = []audioEvent{{event: tl.events[0]}, {event: event{rec0: 0, rec1: 250, clip: mic, kind: "cut"}, always: true}}
	edl := tl.EDL()
	t.Logf("\n%s", edl)
	var lines []cmxLine
	var comments []string
	for _, l := range strings.Split(edl, "\n")[3:] {
		switch {
		case l == "":
		case strings.HasPrefix(l, "* "):
			comments = append(comments, l)
		default:
			lines = append(lines, readCMX(t, l))
		}
	}
	require.Equal(t, []cmxLine{
		{"001", "PRESENTE", "V", "C", "", "01:00:00:00", "01:00:04:00", "01:00:00:00", "01:00:04:00"},
		{"002", "PRESENTE", "AA", "C", "", "01:00:00:00", "01:00:04:00", "01:00:00:00", "01:00:04:00"},
		{"003", "MIC", "A3", "C", "", "01:00:00:00", "01:00:10:00", "01:00:00:00", "01:00:10:00"},
		{"004", "PRESENTE", "V", "C", "", "01:00:04:00", "01:00:04:00", "01:00:04:00", "01:00:04:00"},
		{"004", "PRESENT1", "V", "D", "025", "01:00:04:00", "01:00:08:00", "01:00:04:00", "01:00:08:00"},
		{"005", "BL", "V", "C", "", "01:00:00:00", "01:00:02:00", "01:00:08:00", "01:00:10:00"},
	}, lines)
	require.Contains(t, comments, "* LOC: 01:00:05:05 GREEN   goal")
	require.Contains(t, comments, "* FROM CLIP NAME: presentercam.mp4")
	require.Contains(t, comments, "* TO CLIP NAME: presenterwide.mp4")
}

// TestTimelineLateFileAndLastFrame: a camera whose file starts after its
// cut to program (it connected late) is black only until its file starts,
// then the camera (the whole stretch was black: the look-up took at most
// 0.5 s before a file's start); the last event ends with the program's
// last frame (it ran one past: 1/fps added to an end that is already the
// end of the last frame); a source's file frames follow the picture the
// mixer said it aired.
func TestTimelineLateFileAndLastFrame(t *testing.T) {
	rec := &Recorder{opts: Options{FPSNum: 30, FPSDen: 1, ProgramEpoch: func() time.Time { return time.Unix(1000, 0) }}}
	s := &session{rec: rec, id: "T", req: StartRequest{Program: true}}
	s.begin(time.Unix(1000, 0).Add(10 * time.Second)) // session 0 is program PTS 10 s
	frame := time.Second / 30
	s.tracks = []*track{
		{name: "cam1", parts: []partJSON{{File: "cam1.mp4", StartS: 21.0 / 30, EndS: 400.0 / 30, StartFrame: 21, Video: "h264",
			Anchors: []anchorJSON{{SinceS: 0.7, OffsetNS: int64(-5 * time.Second)}}}}},
		{name: "cam2", parts: []partJSON{{File: "cam2.mp4", StartS: -0.5, EndS: 464.0 / 30, StartFrame: -15, Video: "h264",
			Anchors: []anchorJSON{{SinceS: -0.5, OffsetNS: int64(-90 * time.Second)}}}}},
		{name: "program", program: true, parts: []partJSON{{File: "program.mp4", StartS: 0, EndS: 464.0 / 30, Video: "h264"}}},
	}
	s.switches = []Switch{
		{PTS: initialPTS, Kind: "cut", To: "cam1"},
		{PTS: 10 * time.Second, Kind: SwitchKey, To: "cam1"},
		// cam2 aired from frame 100, its picture of camera time 93.3 s:
		// session 3.3 s, frame 99 of the session, 114 of its file
		{PTS: 10*time.Second + 100*frame, Kind: "cut", From: "cam1", To: "cam2",
			Sources: []SourceTime{{Name: "cam2", PTS: 90*time.Second + 99*frame, Shown: true}}},
	}
	tl := s.timeline()
	require.Equal(t, int64(464), tl.end, "the program's last frame is 463")
	require.Len(t, tl.events, 3)
	require.Equal(t, event{rec0: 0, rec1: 21, clip: clipRef{source: "cam1"}, kind: "cut"}, tl.events[0], "black until cam1's file starts")
	require.Equal(t, "cam1", tl.events[1].clip.source)
	require.Equal(t, [2]int64{21, 100}, [2]int64{tl.events[1].rec0, tl.events[1].rec1})
	require.Equal(t, int64(0), tl.events[1].clip.src, "cam1's file from its first frame")
	require.Equal(t, "cam2", tl.events[2].clip.source)
	require.Equal(t, [2]int64{100, 464}, [2]int64{tl.events[2].rec0, tl.events[2].rec1}, "to the program's end, not a frame past")
	require.Equal(t, int64(99+15), tl.events[2].clip.src, "the frame of its file the mixer aired, one before the aired mapping")
}

// TestTimelineFollowsJumps: when the program source airs another picture
// than the one after the last (the mixer's mapping of it moved, or a late
// picture was shown again), the edit list takes it anew from that frame;
// its slate is black.
func TestTimelineFollowsJumps(t *testing.T) {
	rec := &Recorder{opts: Options{FPSNum: 30, FPSDen: 1, ProgramEpoch: func() time.Time { return time.Unix(1000, 0) }}}
	s := &session{rec: rec, id: "T", req: StartRequest{Program: true}}
	s.begin(time.Unix(1000, 0))
	frame := time.Second / 30
	cam := func(k int) time.Duration { return 50*time.Second + time.Duration(k)*frame } // camera frame k
	s.tracks = []*track{
		{name: "cam1", parts: []partJSON{{File: "cam1.mp4", StartS: -1, EndS: 10, StartFrame: -30, Video: "h264",
			Anchors: []anchorJSON{{SinceS: -1, OffsetNS: int64(-50 * time.Second)}}}}}, // camera frame k at session frame k
		{name: "program", program: true, parts: []partJSON{{File: "program.mp4", StartS: 0, EndS: 4, Video: "h264"}}},
	}
	jump := func(n int64, k int, shown bool) Switch {
		return Switch{PTS: time.Duration(n) * frame, Kind: SwitchJump, From: "cam1", To: "cam1",
			Sources: []SourceTime{{Name: "cam1", PTS: cam(k), Shown: shown}}}
	}
	s.switches = []Switch{
		{PTS: 0, Kind: SwitchKey, To: "cam1", Sources: []SourceTime{{Name: "cam1", PTS: cam(-2), Shown: true}}}, // 2 frames behind
		jump(40, 37, true),  // frame 39 aired camera 37; 40 again 37: late
		jump(41, 39, true),  // and then on as before
		jump(60, 59, true),  // the mapping moved: one frame later
		jump(90, 0, false),  // its slate
		jump(100, 97, true), // back
	}
	tl := s.timeline()
	type ev struct{ rec0, rec1, src int64 }
	var got []ev
	for _, e := range tl.events {
		src := int64(-1)
		if e.clip.part != nil {
			src = e.clip.src - 30 // camera frame
		}
		got = append(got, ev{e.rec0, e.rec1, src})
	}
	require.Equal(t, []ev{{0, 40, -2}, {40, 41, 37}, {41, 60, 39}, {60, 90, 59}, {90, 100, -1}, {100, 120, 97}}, got)
}
