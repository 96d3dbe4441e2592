package record

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
)

// Edit lists rebuilt from the switcher's events: CMX3600
// (https://xmil.biz/EDL-X/CMX3600.pdf) and OpenTimelineIO JSON
// (https://opentimelineio.readthedocs.io/en/latest/tutorials/otio-file-format-specification.html).

// segment is a stretch of the program showing one source.
type segment struct {
	source   string
	start    float64 // session seconds
	end      float64
	kind     string  // how it came in: cut or a transition type
	from     string  // the source before, for a transition
	duration float64 // of the transition
}

// timeline is what both edit lists are made from.
type timeline struct {
	title    string
	fpsNum   int
	fpsDen   int
	recStart float64 // session time of the program file's start
	segments []segment
	// files maps a source to its recorded parts.
	files map[string][]partJSON
}

func (s *session) timeline() timeline {
	j := s.snapshot()
	tl := timeline{title: "Switchyard " + j.ID, fpsNum: s.rec.opts.FPSNum, fpsDen: s.rec.opts.FPSDen, files: map[string][]partJSON{}}
	end := 0.0
	for _, t := range j.Tracks {
		tl.files[t.Source] = t.Files
		for _, p := range t.Files {
			end = math.Max(end, p.EndS)
		}
	}
	if prog := tl.files["program"]; len(prog) > 0 {
		tl.recStart = prog[0].StartS
		end = prog[len(prog)-1].EndS + 1/tl.fps()
	}
	for i, ev := range j.Events {
		seg := segment{source: ev.To, start: ev.TimeS, kind: ev.Kind, from: ev.From, duration: ev.DurationS}
		seg.end = end
		if i+1 < len(j.Events) {
			seg.end = j.Events[i+1].TimeS
		}
		seg.start = math.Max(seg.start, tl.recStart)
		if seg.end <= seg.start {
			continue
		}
		tl.segments = append(tl.segments, seg)
	}
	return tl
}

func (tl timeline) fps() float64 { return float64(tl.fpsNum) / float64(tl.fpsDen) }

func (tl timeline) frames(sec float64) int64 { return int64(math.Round(sec * tl.fps())) }

// dropFrame is true for 29.97 and 59.94.
func (tl timeline) dropFrame() bool { return tl.fpsDen == 1001 }

// timecode formats a frame count: hh:mm:ss:ff, or hh:mm:ss;ff drop-frame.
func (tl timeline) timecode(frames int64) string {
	if frames < 0 {
		frames = 0
	}
	nominal := int64(math.Round(tl.fps()))
	if !tl.dropFrame() {
		ff := frames % nominal
		s := frames / nominal
		return fmt.Sprintf("%02d:%02d:%02d:%02d", s/3600, s/60%60, s%60, ff)
	}
	// SMPTE 12M drop-frame: skip frame numbers 0 and 1 (0–3 at 59.94) at
	// each minute, except every tenth minute.
	drop := nominal / 15
	per10 := nominal*600 - drop*9
	perMin := nominal*60 - drop
	d, m := frames/per10, frames%per10
	if m > drop {
		frames += drop*9*d + drop*((m-drop)/perMin)
	} else {
		frames += drop * 9 * d
	}
	ff := frames % nominal
	s := frames / nominal
	return fmt.Sprintf("%02d:%02d:%02d;%02d", s/3600, s/60%60, s%60, ff)
}

// sourceAt finds the file of source and the time within it at session time t.
func (tl timeline) sourceAt(source string, t float64) (file string, offset float64, ok bool) {
	for _, p := range tl.files[source] {
		if t >= p.StartS-0.5 && t <= p.EndS+1 {
			return p.File, math.Max(t-p.StartS, 0), true
		}
	}
	return "", 0, false
}

// EDL renders the CMX3600 edit decision list.
func (tl timeline) EDL() string {
	var b strings.Builder
	fcm := "NON-DROP FRAME"
	if tl.dropFrame() {
		fcm = "DROP FRAME"
	}
	fmt.Fprintf(&b, "TITLE: %s\nFCM: %s\n\n", tl.title, fcm)
	n := 0
	line := func(reel, trans string, src0, src1, rec0, rec1 int64) {
		fmt.Fprintf(&b, "%03d  %-8s V     %-4s %s %s %s %s\n", n, reel, trans,
			tl.timecode(src0), tl.timecode(src1), tl.timecode(rec0), tl.timecode(rec1))
	}
	for _, seg := range tl.segments {
		n++
		rec0, rec1 := tl.frames(seg.start-tl.recStart), tl.frames(seg.end-tl.recStart)
		reel, clip := "BL", ""
		var src0 int64
		if file, off, ok := tl.sourceAt(seg.source, seg.start); ok {
			reel, clip, src0 = seg.source, file, tl.frames(off)
		}
		src1 := src0 + rec1 - rec0
		if seg.kind != "cut" && seg.duration > 0 {
			// a dissolve: the outgoing source for zero frames, then the incoming one
			fromReel, fromClip := "BL", ""
			var f0 int64
			if file, off, ok := tl.sourceAt(seg.from, seg.start); ok {
				fromReel, fromClip, f0 = seg.from, file, tl.frames(off)
			}
			line(fromReel, "C", f0, f0, rec0, rec0)
			line(reel, fmt.Sprintf("D    %03d", tl.frames(seg.duration)), src0, src1, rec0, rec1)
			if fromClip != "" {
				fmt.Fprintf(&b, "* FROM CLIP NAME: %s\n", fromClip)
			}
			if clip != "" {
				fmt.Fprintf(&b, "* TO CLIP NAME: %s\n", clip)
			}
		} else {
			line(reel, "C", src0, src1, rec0, rec1)
			if clip != "" {
				fmt.Fprintf(&b, "* FROM CLIP NAME: %s\n", clip)
			}
		}
		if seg.kind != "cut" && seg.kind != "mix" {
			fmt.Fprintf(&b, "* SWITCHYARD TRANSITION: %s\n", seg.kind)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// OTIO renders the OpenTimelineIO timeline: one video track of clips
// referencing the ISO files by relative path, gaps where the program showed
// no recorded source, and transitions between clips.
func (tl timeline) OTIO() ([]byte, error) {
	rate := tl.fps()
	rt := func(frames int64) map[string]any {
		return map[string]any{"OTIO_SCHEMA": "RationalTime.1", "value": float64(frames), "rate": rate}
	}
	tr := func(start, dur int64) map[string]any {
		return map[string]any{"OTIO_SCHEMA": "TimeRange.1", "start_time": rt(start), "duration": rt(dur)}
	}
	// OTIO centres a transition on the cut between two items: move each
	// transition's cut point to its middle.
	segs := append([]segment(nil), tl.segments...)
	for i := 1; i < len(segs); i++ {
		if segs[i].kind != "cut" && segs[i].duration > 0 {
			half := segs[i].duration / 2
			segs[i-1].end += half
			segs[i].start += half
		}
	}
	var children []any
	for i, seg := range segs {
		start := tl.frames(seg.start - tl.recStart)
		end := tl.frames(seg.end - tl.recStart)
		if seg.kind != "cut" && seg.duration > 0 && i > 0 {
			d := tl.frames(seg.duration)
			children = append(children, map[string]any{"OTIO_SCHEMA": "Transition.1", "name": seg.kind,
				"transition_type": "SMPTE_Dissolve", "in_offset": rt(d / 2), "out_offset": rt(d - d/2), "metadata": map[string]any{}})
		}
		dur := end - start
		if dur <= 0 {
			continue
		}
		file, off, ok := tl.sourceAt(seg.source, seg.start)
		if !ok {
			children = append(children, map[string]any{"OTIO_SCHEMA": "Gap.1", "name": seg.source,
				"source_range": tr(0, dur), "effects": []any{}, "markers": []any{}, "metadata": map[string]any{}})
			continue
		}
		children = append(children, map[string]any{"OTIO_SCHEMA": "Clip.1", "name": seg.source,
			"source_range": tr(tl.frames(off), dur),
			"media_reference": map[string]any{"OTIO_SCHEMA": "ExternalReference.1", "target_url": filepath.ToSlash(file),
				"available_range": nil, "metadata": map[string]any{}},
			"effects": []any{}, "markers": []any{}, "metadata": map[string]any{}})
	}
	if children == nil {
		children = []any{}
	}
	doc := map[string]any{"OTIO_SCHEMA": "Timeline.1", "name": tl.title, "global_start_time": nil, "metadata": map[string]any{},
		"tracks": map[string]any{"OTIO_SCHEMA": "Stack.1", "name": "tracks", "effects": []any{}, "markers": []any{}, "metadata": map[string]any{},
			"source_range": nil,
			"children": []any{map[string]any{"OTIO_SCHEMA": "Track.1", "name": "Program", "kind": "Video", "source_range": nil,
				"effects": []any{}, "markers": []any{}, "metadata": map[string]any{}, "children": children}}}}
	return json.MarshalIndent(doc, "", "  ")
}

func (s *session) writeEditLists() {
	tl := s.timeline()
	if err := writeAtomic(filepath.Join(s.dir, "cuts.edl"), []byte(tl.EDL())); err != nil {
		s.rec.log.Error("writing cuts.edl", "session", s.id, "err", err)
	}
	b, err := tl.OTIO()
	if err == nil {
		err = writeAtomic(filepath.Join(s.dir, "cuts.otio"), b)
	}
	if err != nil {
		s.rec.log.Error("writing cuts.otio", "session", s.id, "err", err)
	}
}
