package record

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
)

// Timecode: SMPTE 12M, non-drop-frame at whole rates, drop-frame at 29.97
// and 59.94 (frame numbers ;00 and ;01 — ;00 to ;03 at 59.94 — skipped each
// minute but every tenth). A session has one start timecode
// (record.timecode); every file's is the timecode of its first frame on
// the session's clock, so the same instant has the same timecode in every
// file.

// Timecode settings.
const (
	TimecodeTimeOfDay = "time-of-day"
	TimecodeZero      = "zero"
)

var fixedTimecode = regexp.MustCompile(`^(\d\d):(\d\d):(\d\d)[:;.](\d\d)$`)

// ParseTimecode checks a record.timecode setting: "time-of-day" (the
// default, also for ""), "zero", or a start timecode "HH:MM:SS:FF" (";"
// before FF for drop-frame is accepted).
func ParseTimecode(s string) error {
	switch s {
	case "", TimecodeTimeOfDay, TimecodeZero:
		return nil
	}
	m := fixedTimecode.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("timecode %q: use time-of-day, zero or HH:MM:SS:FF", s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	se, _ := strconv.Atoi(m[3])
	if h > 23 || mi > 59 || se > 59 {
		return fmt.Errorf("timecode %q: hours 00–23, minutes and seconds 00–59", s)
	}
	return nil
}

// clock is a session's timecode: its frame rate and the frame count of
// session time 0.
type clock struct {
	num, den int
	start    int64 // frames, at session time 0
}

func (c clock) fps() float64 { return float64(c.num) / float64(c.den) }

// nominal is the whole frame rate timecode counts in (30 for 29.97).
func (c clock) nominal() int64 { return int64(math.Round(c.fps())) }

// drop is true for 29.97 and 59.94.
func (c clock) drop() bool { return c.den == 1001 && c.nominal()%30 == 0 }

// day is the number of frames in 24 hours of timecode.
func (c clock) day() int64 {
	if c.drop() {
		return 24 * 6 * c.per10()
	}
	return 24 * 3600 * c.nominal()
}

func (c clock) per10() int64 { return c.nominal()*600 - c.nominal()/15*9 }

// newClock makes the clock of a session starting at wall, per setting.
func newClock(setting string, num, den int, wall time.Time) clock {
	c := clock{num: num, den: den}
	switch setting {
	case TimecodeZero:
	case "", TimecodeTimeOfDay:
		y, mo, d := wall.Date()
		midnight := time.Date(y, mo, d, 0, 0, 0, 0, wall.Location())
		c.start = int64(wall.Sub(midnight)) * int64(num) / (int64(den) * int64(time.Second))
	default:
		c.start = c.parse(setting)
	}
	c.start %= c.day()
	return c
}

// parse reads HH:MM:SS:FF into a frame count (drop-frame counting when the
// rate is).
func (c clock) parse(s string) int64 {
	m := fixedTimecode.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	h, _ := strconv.ParseInt(m[1], 10, 64)
	mi, _ := strconv.ParseInt(m[2], 10, 64)
	se, _ := strconv.ParseInt(m[3], 10, 64)
	ff, _ := strconv.ParseInt(m[4], 10, 64)
	nom := c.nominal()
	ff = min(ff, nom-1)
	frames := (h*3600+mi*60+se)*nom + ff
	if c.drop() {
		mins := h*60 + mi
		frames -= nom / 15 * (mins - mins/10)
	}
	return frames
}

// frameOf is the session frame whose instant holds session time t: frame n
// covers (n−½, n+½] frame durations, as the mixer shows the picture due by
// the middle of each frame.
func (c clock) frameOf(t time.Duration) int64 {
	x := float64(t) * float64(c.num) / (float64(c.den) * float64(time.Second))
	return int64(math.Ceil(x - 0.5 - 1e-9))
}

// at is the timecode (frame count) of session time t.
func (c clock) at(t time.Duration) int64 { return c.wrap(c.start + c.frameOf(t)) }

func (c clock) wrap(f int64) int64 {
	f %= c.day()
	if f < 0 {
		f += c.day()
	}
	return f
}

// tc is the file form of the timecode of session time t.
func (c clock) tc(t time.Duration) timecode {
	return timecode{frames: c.at(t), num: c.num, den: c.den, drop: c.drop()}
}

// format writes a frame count as hh:mm:ss:ff, or hh:mm:ss;ff drop-frame.
func (c clock) format(frames int64) string {
	frames = c.wrap(frames)
	nominal := c.nominal()
	sep := ":"
	if c.drop() {
		// SMPTE 12M drop-frame: skip frame numbers 0 and 1 (0–3 at 59.94)
		// at each minute, except every tenth minute.
		drop := nominal / 15
		perMin := nominal*60 - drop
		d, m := frames/c.per10(), frames%c.per10()
		if m > drop {
			frames += drop*9*d + drop*((m-drop)/perMin)
		} else {
			frames += drop * 9 * d
		}
		sep = ";"
	}
	ff := frames % nominal
	s := frames / nominal
	return fmt.Sprintf("%02d:%02d:%02d%s%02d", s/3600, s/60%60, s%60, sep, ff)
}
