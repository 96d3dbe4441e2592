package record

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// CMX3600 edit decision list (https://xmil.biz/EDL-X/CMX3600.pdf), laid out
// in its fixed columns as CMX, Avid and Premiere write it:
//
//	001  AX       V     C        00:00:00:00 00:00:10:00 01:00:00:00 01:00:10:00
//	002  AX       V     D    030 00:00:00:00 ...
//
// event number (3), reel (8), channels (5), transition (4), its duration
// (3), then source in/out and record in/out from column 30 on every line.
// Reel names are cut to 8 characters (kept unique); the file of each event
// is named in a comment; sound heard with its picture is an AA event
// beside it, a source heard always an A3 (A4) event; markers are Avid
// locator comments (* LOC).

// reels gives every source a reel name of at most 8 characters, unique.
func (tl timeline) reels() map[string]string {
	var names []string
	for name := range tl.files {
		names = append(names, name)
	}
	sort.Strings(names)
	out := map[string]string{}
	used := map[string]bool{"BL": true, "AX": true}
	for _, name := range names {
		r := strings.ToUpper(name)
		if len(r) > 8 {
			r = r[:8]
		}
		for i := 1; used[r]; i++ {
			suffix := fmt.Sprint(i)
			base := strings.ToUpper(name)
			if len(base) > 8-len(suffix) {
				base = base[:8-len(suffix)]
			}
			r = base + suffix
		}
		used[r] = true
		out[name] = r
	}
	return out
}

// edlLine is one event line.
func (tl timeline) edlLine(b *strings.Builder, n int, reel, channel, trans string, dur int64, src0, src1, rec0, rec1 int64) {
	d := "   "
	if trans == "D" {
		d = fmt.Sprintf("%03d", min(dur, 999))
	}
	fmt.Fprintf(b, "%03d  %-8s %-5s %-4s %s %s %s %s %s\n", (n-1)%999+1, reel, channel, trans, d,
		tl.clock.format(tl.clock.start+src0), tl.clock.format(tl.clock.start+src1),
		tl.clock.format(tl.clock.start+rec0), tl.clock.format(tl.clock.start+rec1))
}

// srcTC is the timecode frame (less the session's start) of a clip's file
// frame.
func srcTC(c clipRef, fileFrame int64) int64 {
	if c.part == nil {
		return 0
	}
	return c.part.StartFrame + fileFrame
}

// EDL renders the CMX3600 edit decision list.
func (tl timeline) EDL() string {
	var b strings.Builder
	fcm := "NON-DROP FRAME"
	if tl.clock.drop() {
		fcm = "DROP FRAME"
	}
	fmt.Fprintf(&b, "TITLE: %s\nFCM: %s\n\n", tl.title, fcm)
	reels := tl.reels()
	reel := func(c clipRef) string {
		if c.part == nil {
			return "BL"
		}
		return reels[c.source]
	}
	type item struct {
		ev      event
		channel string
	}
	var items []item
	for _, ev := range tl.events {
		items = append(items, item{ev, "V"})
	}
	always := map[string]int{} // a source heard always: its channel, from A3
	for _, a := range tl.audio {
		ch := "AA"
		if a.always {
			if _, ok := always[a.clip.source]; !ok {
				always[a.clip.source] = 3 + len(always)
			}
			if always[a.clip.source] > 4 {
				continue // CMX3600 has four sound channels: A1 and A2 (AA), A3, A4
			}
			ch = fmt.Sprintf("A%d", always[a.clip.source])
		}
		items = append(items, item{a.event, ch})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].ev.rec0 < items[j].ev.rec0 })
	markers := append([]Marker(nil), tl.markers...)
	n := 0
	for _, it := range items {
		ev, ch := it.ev, it.channel
		n++
		src0 := srcTC(ev.clip, ev.clip.src)
		src1 := src0 + ev.rec1 - ev.rec0
		if ev.kind != "cut" && ev.dur > 0 {
			// a dissolve: the outgoing source for no frames, then the incoming one
			f0 := srcTC(ev.from, ev.from.src)
			tl.edlLine(&b, n, reel(ev.from), ch, "C", 0, f0, f0, ev.rec0, ev.rec0)
			tl.edlLine(&b, n, reel(ev.clip), ch, "D", ev.dur, src0, src1, ev.rec0, ev.rec1)
			if ev.from.part != nil {
				fmt.Fprintf(&b, "* FROM CLIP NAME: %s\n", filepath.ToSlash(ev.from.part.File))
			}
			if ev.clip.part != nil {
				fmt.Fprintf(&b, "* TO CLIP NAME: %s\n", filepath.ToSlash(ev.clip.part.File))
			}
			if ev.kind != "mix" {
				fmt.Fprintf(&b, "* SWITCHYARD TRANSITION: %s\n", ev.kind)
			}
		} else {
			tl.edlLine(&b, n, reel(ev.clip), ch, "C", 0, src0, src1, ev.rec0, ev.rec1)
			if ev.clip.part != nil {
				fmt.Fprintf(&b, "* FROM CLIP NAME: %s\n", filepath.ToSlash(ev.clip.part.File))
			}
		}
		if ch == "V" {
			for len(markers) > 0 && markers[0].Frame < ev.rec1 {
				m := markers[0]
				markers = markers[1:]
				fmt.Fprintf(&b, "* LOC: %s %-7s %s\n", tl.clock.format(tl.clock.start+m.Frame), strings.ToUpper(m.Color), m.Name)
			}
		}
		b.WriteString("\n")
	}
	for _, m := range markers { // after the last event
		fmt.Fprintf(&b, "* LOC: %s %-7s %s\n", tl.clock.format(tl.clock.start+m.Frame), strings.ToUpper(m.Color), m.Name)
	}
	return b.String()
}
