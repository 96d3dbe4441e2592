package record

import (
	"encoding/json"
	"path/filepath"
	"strings"
)

// OpenTimelineIO JSON
// (https://opentimelineio.readthedocs.io/en/latest/tutorials/otio-file-format-specification.html):
// a video track of clips referencing the files by relative path, gaps
// where the program showed nothing recorded, transitions centred on their
// cut, the program's sound as audio tracks, and the markers. Times are
// the files' timecodes, as Resolve reads them.

// otioDoc builds the timeline document.
func (tl timeline) OTIO() ([]byte, error) {
	rate := tl.fps()
	rt := func(frames int64) map[string]any {
		return map[string]any{"OTIO_SCHEMA": "RationalTime.1", "value": float64(frames), "rate": rate}
	}
	tr := func(start, dur int64) map[string]any {
		return map[string]any{"OTIO_SCHEMA": "TimeRange.1", "start_time": rt(start), "duration": rt(dur)}
	}
	track := func(name, kind string, evs []event) map[string]any {
		evs = centred(evs)
		children := []any{}
		for i, ev := range evs {
			if ev.kind != "cut" && ev.dur > 0 && i > 0 {
				children = append(children, map[string]any{"OTIO_SCHEMA": "Transition.1", "name": ev.kind,
					"transition_type": "SMPTE_Dissolve", "in_offset": rt(ev.dur / 2), "out_offset": rt(ev.dur - ev.dur/2), "metadata": map[string]any{}})
			}
			dur := ev.rec1 - ev.rec0
			if dur <= 0 {
				continue
			}
			if ev.clip.part == nil {
				children = append(children, map[string]any{"OTIO_SCHEMA": "Gap.1", "name": ev.clip.source,
					"source_range": tr(0, dur), "effects": []any{}, "markers": []any{}, "metadata": map[string]any{}})
				continue
			}
			p := ev.clip.part
			start := tl.clock.start + p.StartFrame
			children = append(children, map[string]any{"OTIO_SCHEMA": "Clip.1", "name": ev.clip.source,
				"source_range": tr(start+ev.clip.src, dur),
				"media_reference": map[string]any{"OTIO_SCHEMA": "ExternalReference.1", "target_url": filepath.ToSlash(p.File),
					"available_range": tr(start, tl.fileFrames(p)), "metadata": map[string]any{}},
				"effects": []any{}, "markers": []any{}, "metadata": map[string]any{}})
		}
		return map[string]any{"OTIO_SCHEMA": "Track.1", "name": name, "kind": kind, "source_range": nil,
			"effects": []any{}, "markers": []any{}, "metadata": map[string]any{}, "children": children}
	}
	markers := []any{}
	for _, m := range tl.markers {
		markers = append(markers, map[string]any{"OTIO_SCHEMA": "Marker.2", "name": m.Name, "color": strings.ToUpper(m.Color),
			"marked_range": tr(m.Frame-tl.recStart, 0), "comment": "", "metadata": map[string]any{}})
	}
	tracks := []any{track("Program", "Video", tl.events)}
	afv, always, order := tl.soundTracks()
	if len(afv) > 0 {
		tracks = append(tracks, track("Program sound", "Audio", gapsFilled(afv, tl.recStart)))
	}
	for _, name := range order {
		tracks = append(tracks, track(name, "Audio", gapsFilled(always[name], tl.recStart)))
	}
	doc := map[string]any{"OTIO_SCHEMA": "Timeline.1", "name": tl.title, "global_start_time": rt(tl.clock.start + tl.recStart),
		"metadata": map[string]any{},
		"tracks": map[string]any{"OTIO_SCHEMA": "Stack.1", "name": "tracks", "effects": []any{}, "markers": markers, "metadata": map[string]any{},
			"source_range": nil, "children": tracks}}
	return json.MarshalIndent(doc, "", "  ")
}

// centred moves each transition's cut to its middle, where OTIO and Final
// Cut put it: the clip before runs half the transition longer, the clip
// after starts half later.
func centred(evs []event) []event {
	out := append([]event(nil), evs...)
	for i := 1; i < len(out); i++ {
		if out[i].kind != "cut" && out[i].dur > 0 && out[i-1].rec1 == out[i].rec0 {
			half := out[i].dur / 2
			out[i-1].rec1 += half
			out[i].rec0 += half
			out[i].clip.src += half
		}
	}
	return out
}

// gapsFilled puts gaps (black, silence) between the events of a track that
// does not cover every frame.
func gapsFilled(evs []event, from int64) []event {
	var out []event
	n := from
	for _, ev := range evs {
		if ev.rec0 > n {
			out = append(out, event{rec0: n, rec1: ev.rec0, kind: "cut"})
		}
		out = append(out, ev)
		n = max(n, ev.rec1)
	}
	return out
}
