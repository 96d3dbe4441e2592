package main

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// cmxEvent is one CMX3600 event line, read by its fixed columns.
type cmxEvent struct {
	num, reel, channel, trans string
	dur                       int
	src0, src1, rec0, rec1    int64  // timecodes as frame counts
	clip                      string // the file the comments after it name
}

// tcFrames reads a timecode as a frame count at nominal frames a second:
// SMPTE 12M drop-frame (numbers 0 and 1 of each minute but every tenth do
// not exist) when it has a ";" before its frames.
func tcFrames(t *testing.T, tc string, nominal int) int64 {
	t.Helper()
	require.Len(t, tc, 11, tc)
	n := func(s string) int64 {
		v, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, tc)
		return v
	}
	h, m, s, f := n(tc[0:2]), n(tc[3:5]), n(tc[6:8]), n(tc[9:11])
	frames := (h*3600+m*60+s)*int64(nominal) + f
	if tc[8] == ';' {
		mins := h*60 + m
		frames -= int64(nominal/15) * (mins - mins/10)
	}
	return frames
}

// readEDL reads a CMX3600 list by its fixed columns, as the CMX, Avid and
// Premiere samples lay it out: event 1–3, reel 6–13, channels 15–19,
// transition 21–24, its length 26–28, source in/out and record in/out at
// 30, 42, 54 and 66. Comments name the files (FROM/TO CLIP NAME) and the
// locators (LOC).
func readEDL(t *testing.T, text string, nominal int) (drop bool, events []cmxEvent, locs []string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	require.True(t, strings.HasPrefix(lines[0], "TITLE: "), lines[0])
	require.Contains(t, []string{"FCM: NON-DROP FRAME", "FCM: DROP FRAME"}, lines[1])
	drop = lines[1] == "FCM: DROP FRAME"
	pair := -1 // the outgoing line of a dissolve, waiting for its FROM CLIP NAME
	for _, l := range lines[2:] {
		switch {
		case l == "":
		case strings.HasPrefix(l, "* FROM CLIP NAME: "):
			i := len(events) - 1
			if pair >= 0 {
				i = pair
			}
			events[i].clip = strings.TrimPrefix(l, "* FROM CLIP NAME: ")
		case strings.HasPrefix(l, "* TO CLIP NAME: "):
			events[len(events)-1].clip = strings.TrimPrefix(l, "* TO CLIP NAME: ")
		case strings.HasPrefix(l, "* LOC: "):
			locs = append(locs, strings.TrimPrefix(l, "* LOC: "))
		case strings.HasPrefix(l, "*"):
		default:
			require.Len(t, l, 76, "an event line is 76 columns: %q", l)
			for _, sep := range []int{3, 4, 13, 19, 24, 28, 40, 52, 64} {
				require.Equal(t, byte(' '), l[sep], "column %d of %q", sep+1, l)
			}
			ev := cmxEvent{num: l[0:3], reel: strings.TrimSpace(l[5:13]), channel: strings.TrimSpace(l[14:19]),
				trans: strings.TrimSpace(l[20:24]), src0: tcFrames(t, l[29:40], nominal), src1: tcFrames(t, l[41:52], nominal),
				rec0: tcFrames(t, l[53:64], nominal), rec1: tcFrames(t, l[65:76], nominal)}
			require.Contains(t, []string{"C", "D"}, ev.trans, l)
			if d := strings.TrimSpace(l[25:28]); d != "" {
				ev.dur, _ = strconv.Atoi(d)
			}
			require.Equal(t, drop, l[37] == ';', "timecodes follow the FCM: %q", l)
			if ev.trans == "D" {
				pair = len(events) - 1
			} else {
				pair = -1
			}
			events = append(events, ev)
		}
	}
	return drop, events, locs
}

// videoEvents are the V events that show something (not the outgoing line
// of a dissolve).
func videoEvents(events []cmxEvent) []cmxEvent {
	var out []cmxEvent
	for i, ev := range events {
		if ev.channel != "V" || (ev.rec0 == ev.rec1 && i+1 < len(events) && events[i+1].trans == "D") {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// takes folds cut events that go on with the reel before them (a picture
// of the source that came late and aired twice starts a new event at the
// same source frame: the list stays frame-exact) into one take per reel
// change. Record times stay contiguous: a fold never hides a gap.
func takes(t *testing.T, events []cmxEvent) []cmxEvent {
	t.Helper()
	var out []cmxEvent
	for _, ev := range events {
		if n := len(out); n > 0 && out[n-1].reel == ev.reel && ev.trans == "C" {
			require.Equal(t, out[n-1].rec1, ev.rec0, "event %s follows event %s on the record side", ev.num, out[n-1].num)
			out[n-1].rec1, out[n-1].src1 = ev.rec1, ev.src1
			continue
		}
		out = append(out, ev)
	}
	return out
}

// fileTimecode is the start timecode ffprobe reads in a file (its video's,
// or its timecode track's).
func fileTimecode(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type:stream_tags=timecode", "-of", "json", file).Output()
	require.NoError(t, err, file)
	var p struct {
		Streams []struct {
			Tags map[string]string `json:"tags"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(out, &p))
	tc := ""
	for _, s := range p.Streams {
		if v := s.Tags["timecode"]; v != "" {
			require.True(t, tc == "" || tc == v, "%s: its streams disagree on the timecode (%s, %s)", file, tc, v)
			tc = v
		}
	}
	require.NotEmpty(t, tc, "%s has a timecode", file)
	return tc
}
