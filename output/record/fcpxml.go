package record

import (
	"encoding/xml"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"switchyard/internal/atomicfile"
)

// Final Cut Pro 7 XML (xmeml version 5), the interchange Premiere Pro and
// DaVinci Resolve both import
// (https://developer.apple.com/library/archive/documentation/AppleApplications/Reference/FinalCutPro_XML/):
// one sequence at the program's format and timecode. V1 is the program's
// cut, clip items referencing the camera files, with the dissolves as
// transitions; A1 and A2 its sound (the cameras heard with their
// pictures), further audio tracks the sources heard always. Above V1, one
// track per camera file, disabled, each file whole at its timecode: the
// show re-cuttable from the cameras. Markers are the sequence's.

type xRate struct {
	Timebase int    `xml:"timebase"`
	NTSC     string `xml:"ntsc"`
}

type xTimecode struct {
	Rate          xRate  `xml:"rate"`
	String        string `xml:"string"`
	Frame         int64  `xml:"frame"`
	DisplayFormat string `xml:"displayformat"`
	Source        string `xml:"source,omitempty"`
}

type xSample struct {
	Rate             *xRate `xml:"rate,omitempty"`
	Width            int    `xml:"width,omitempty"`
	Height           int    `xml:"height,omitempty"`
	PixelAspectRatio string `xml:"pixelaspectratio,omitempty"`
	FieldDominance   string `xml:"fielddominance,omitempty"`
	SampleRate       int    `xml:"samplerate,omitempty"`
	Depth            int    `xml:"depth,omitempty"`
}

type xFileMedia struct {
	Video *struct {
		Sample xSample `xml:"samplecharacteristics"`
	} `xml:"video,omitempty"`
	Audio *struct {
		Sample       xSample `xml:"samplecharacteristics"`
		ChannelCount int     `xml:"channelcount"`
	} `xml:"audio,omitempty"`
}

type xFile struct {
	ID       string      `xml:"id,attr"`
	Name     string      `xml:"name,omitempty"`
	PathURL  string      `xml:"pathurl,omitempty"`
	Rate     *xRate      `xml:"rate,omitempty"`
	Duration int64       `xml:"duration,omitempty"`
	Timecode *xTimecode  `xml:"timecode,omitempty"`
	Media    *xFileMedia `xml:"media,omitempty"`
}

type xSourceTrack struct {
	MediaType  string `xml:"mediatype"`
	TrackIndex int    `xml:"trackindex"`
}

type xClipItem struct {
	XMLName     xml.Name      `xml:"clipitem"`
	ID          string        `xml:"id,attr"`
	Name        string        `xml:"name"`
	Enabled     string        `xml:"enabled"`
	Duration    int64         `xml:"duration"`
	Rate        xRate         `xml:"rate"`
	Start       int64         `xml:"start"`
	End         int64         `xml:"end"`
	In          int64         `xml:"in"`
	Out         int64         `xml:"out"`
	File        xFile         `xml:"file"`
	SourceTrack *xSourceTrack `xml:"sourcetrack,omitempty"`
}

type xEffect struct {
	Name           string `xml:"name"`
	EffectID       string `xml:"effectid"`
	EffectCategory string `xml:"effectcategory"`
	EffectType     string `xml:"effecttype"`
	MediaType      string `xml:"mediatype"`
}

type xTransition struct {
	XMLName   xml.Name `xml:"transitionitem"`
	Start     int64    `xml:"start"`
	End       int64    `xml:"end"`
	Alignment string   `xml:"alignment"`
	Rate      xRate    `xml:"rate"`
	Effect    xEffect  `xml:"effect"`
}

// xTrack holds clip items and transitions in record order.
type xTrack struct {
	Items   []any  `xml:",any"`
	Enabled string `xml:"enabled"`
}

type xMarker struct {
	Name    string `xml:"name"`
	Comment string `xml:"comment"`
	In      int64  `xml:"in"`
	Out     int64  `xml:"out"`
}

type xSequence struct {
	ID       string    `xml:"id,attr"`
	Name     string    `xml:"name"`
	Duration int64     `xml:"duration"`
	Rate     xRate     `xml:"rate"`
	Timecode xTimecode `xml:"timecode"`
	Media    struct {
		Video struct {
			Format struct {
				Sample xSample `xml:"samplecharacteristics"`
			} `xml:"format"`
			Tracks []xTrack `xml:"track"`
		} `xml:"video"`
		Audio struct {
			Tracks []xTrack `xml:"track"`
		} `xml:"audio"`
	} `xml:"media"`
	Markers []xMarker `xml:"marker"`
}

type xmeml struct {
	XMLName  xml.Name  `xml:"xmeml"`
	Version  string    `xml:"version,attr"`
	Sequence xSequence `xml:"sequence"`
}

func (tl timeline) xRate() xRate {
	r := xRate{Timebase: int(tl.clock.nominal()), NTSC: "FALSE"}
	if tl.clock.den == 1001 {
		r.NTSC = "TRUE"
	}
	return r
}

func (tl timeline) xTimecode(frames int64, source bool) *xTimecode {
	f := "NDF"
	if tl.clock.drop() {
		f = "DF"
	}
	tc := &xTimecode{Rate: tl.xRate(), String: tl.clock.format(frames), Frame: tl.clock.wrap(frames), DisplayFormat: f}
	if source {
		tc.Source = "source"
	}
	return tc
}

// FCPXML renders the Final Cut Pro 7 XML project.
func (tl timeline) FCPXML() ([]byte, error) {
	rate := tl.xRate()
	doc := xmeml{Version: "5"}
	seq := &doc.Sequence
	seq.ID, seq.Name, seq.Rate = "sequence-1", tl.title, rate
	seq.Duration = tl.end - tl.recStart
	seq.Timecode = *tl.xTimecode(tl.clock.start+tl.recStart, false)
	seq.Media.Video.Format.Sample = xSample{Rate: &rate, Width: tl.width, Height: tl.height, PixelAspectRatio: "square", FieldDominance: "none"}

	// file elements: whole the first time a file is named, by id after
	described := map[string]bool{}
	fileIDs := map[string]string{}
	file := func(p *partJSON) xFile {
		id := fileIDs[p.File]
		if id == "" {
			id = fmt.Sprintf("file-%d", len(fileIDs)+1)
			fileIDs[p.File] = id
		}
		if described[id] {
			return xFile{ID: id}
		}
		described[id] = true
		f := xFile{ID: id, Name: p.File, PathURL: filepath.ToSlash(p.File), Rate: &rate, Duration: tl.fileFrames(p),
			Timecode: tl.xTimecode(tl.clock.start+p.StartFrame, true), Media: &xFileMedia{}}
		if p.Video != "" {
			f.Media.Video = &struct {
				Sample xSample `xml:"samplecharacteristics"`
			}{xSample{Width: p.Width, Height: p.Height}}
		}
		if p.Audio != "" {
			f.Media.Audio = &struct {
				Sample       xSample `xml:"samplecharacteristics"`
				ChannelCount int     `xml:"channelcount"`
			}{xSample{SampleRate: 48000, Depth: 16}, max(p.Channels, 1)}
		}
		return f
	}
	clips := 0
	clip := func(ev event, enabled bool, src *xSourceTrack) *xClipItem {
		clips++
		p := ev.clip.part
		e := "TRUE"
		if !enabled {
			e = "FALSE"
		}
		return &xClipItem{ID: fmt.Sprintf("clipitem-%d", clips), Name: ev.clip.source, Enabled: e, Duration: tl.fileFrames(p), Rate: rate,
			Start: ev.rec0 - tl.recStart, End: ev.rec1 - tl.recStart, In: ev.clip.src, Out: ev.clip.src + ev.rec1 - ev.rec0,
			File: file(p), SourceTrack: src}
	}
	track := func(evs []event, media string, index int) xTrack {
		var t xTrack
		t.Enabled = "TRUE"
		evs = centred(evs)
		for i, ev := range evs {
			if ev.kind != "cut" && ev.dur > 0 && i > 0 && evs[i-1].clip.part != nil && ev.clip.part != nil {
				name := "Cross Dissolve"
				if media == "audio" {
					name = "Cross Fade (+3dB)"
				}
				t.Items = append(t.Items, &xTransition{Start: ev.rec0 - ev.dur/2 - tl.recStart, End: ev.rec0 + ev.dur - ev.dur/2 - tl.recStart,
					Alignment: "center", Rate: rate, Effect: xEffect{Name: name, EffectID: name, EffectCategory: "Dissolve",
						EffectType: "transition", MediaType: media}})
			}
			if ev.clip.part == nil || ev.rec1 <= ev.rec0 {
				continue // black or silence: nothing on the track
			}
			var src *xSourceTrack
			if media == "audio" {
				src = &xSourceTrack{MediaType: "audio", TrackIndex: index}
			}
			t.Items = append(t.Items, clip(ev, true, src))
		}
		return t
	}
	seq.Media.Video.Tracks = append(seq.Media.Video.Tracks, track(tl.events, "video", 0))
	// every camera file whole, disabled, at its timecode
	var names []string
	for name := range tl.files {
		if name != "program" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		var t xTrack
		t.Enabled = "FALSE"
		for i := range tl.files[name] {
			p := &tl.files[name][i]
			if p.Video == "" || tl.fileFrames(p) <= 0 {
				continue
			}
			rec0 := max(p.StartFrame, tl.recStart)
			ev := event{rec0: rec0, rec1: p.StartFrame + tl.fileFrames(p), clip: clipRef{source: name, part: p, src: rec0 - p.StartFrame}}
			if ev.rec1 > ev.rec0 {
				t.Items = append(t.Items, clip(ev, false, nil))
			}
		}
		if len(t.Items) > 0 {
			seq.Media.Video.Tracks = append(seq.Media.Video.Tracks, t)
		}
	}
	// the sound: the program's (A1, A2: a stereo pair), then each source heard always
	afv, always, order := tl.soundTracks()
	if len(afv) > 0 {
		for ch := 1; ch <= 2; ch++ {
			seq.Media.Audio.Tracks = append(seq.Media.Audio.Tracks, track(afv, "audio", ch))
		}
	}
	for _, name := range order {
		seq.Media.Audio.Tracks = append(seq.Media.Audio.Tracks, track(always[name], "audio", 1))
	}
	for _, m := range tl.markers {
		seq.Markers = append(seq.Markers, xMarker{Name: m.Name, Comment: strings.ToUpper(m.Color), In: m.Frame - tl.recStart, Out: -1})
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header+"<!DOCTYPE xmeml>\n"), append(b, '\n')...), nil
}

func (s *session) writeEditLists() {
	tl := s.timeline()
	write := func(name string, b []byte, err error) {
		if err == nil {
			err = atomicfile.Write(filepath.Join(s.dir, name), b)
		}
		if err != nil {
			s.rec.log.Error("writing "+name, "session", s.id, "err", err)
		}
	}
	write("cuts.edl", []byte(tl.EDL()), nil)
	b, err := tl.OTIO()
	write("cuts.otio", b, err)
	b, err = tl.FCPXML()
	write("cuts.xml", b, err)
}
