package record

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"switchyard/media"
)

// Fragmented MP4 (ISO 14496-12): an init segment (mp4.go), then one
// moof+mdat per fragment, each written and synced to disk as it closes, so
// a crash loses at most the fragment being filled. Before each fragment a
// Producer Reference Time box (prft, 14496-12 8.16.5) ties the fragment's
// media time to the wall clock. At close the durations, left 0 in the init
// segment, are written in place; so is the chapter list as it grows.

const (
	videoTimescale = 90000
	videoID        = 1
	audioID        = 2
)

// errTrackChanged tells the caller to continue in a new part file.
var errTrackChanged = errors.New("track parameters changed")

// pending is a sample waiting for the next one (which gives its duration).
type pending struct {
	dts, pts time.Duration
	key      bool
	payload  []byte
}

// timecode is a start timecode: a frame count at a rate (SMPTE 12M
// drop-frame counting when drop).
type timecode struct {
	frames   int64
	num, den int
	drop     bool
}

// chapter is a chapter of program.mp4 at session time at.
type chapter struct {
	at    time.Duration
	title string
}

// fileConfig describes a file to write.
type fileConfig struct {
	// Video and Audio are the tracks; at least one.
	Video, Audio *media.Track
	// Fragment is the longest fragment.
	Fragment time.Duration
	// Wall0 is the wall clock at session time 0.
	Wall0 time.Time
	// Start: for a file without video, sound from before this session
	// time is left out. (A file with video begins with its first frame,
	// a key frame, and leaves out the sound from before it.)
	Start time.Duration
	// Timecode gives the timecode of a session time (record.timecode).
	Timecode func(at time.Duration) timecode
}

// fileWriter writes one fragmented MP4 file with an H.264 or H.265 track
// and/or an audio track, and a timecode track. Times given to it are
// session times; in the file they count from the first sample's.
type fileWriter struct {
	cfg      fileConfig
	path     string
	f        *os.File
	video    *media.Track
	audio    *media.Track
	fragment time.Duration
	wall0    time.Time
	patch    initPatch

	seq       uint32
	vHeld     *pending
	aHeld     *pending
	vSamples  []*fmp4.Sample
	aSamples  []*fmp4.Sample
	vBase     time.Duration // DTS of the first video sample in the fragment
	aBase     time.Duration
	fragStart time.Duration
	started   bool
	base      time.Duration // session time of media time 0: the first DTS
	first     time.Duration // session time of the presentation's start (cfg.Start, or later)
	last      time.Duration // end of the last sample shown
	mediaEnd  [2]time.Duration
	presEnd   [2]time.Duration // video, audio: end of what is shown
	tc        timecode
	tcWritten bool
	grid      frameGrid // the video's frame times
	bytes     uint64
	media     uint64 // payload bytes
	buf       seekablebuffer.Buffer

	chapters      []chapter
	chaptersDirty bool
}

func newFileWriter(path string, cfg fileConfig) (*fileWriter, error) {
	if cfg.Video == nil && cfg.Audio == nil {
		return nil, errors.New("a file needs a track")
	}
	if cfg.Fragment <= 0 {
		cfg.Fragment = time.Second
	}
	if cfg.Timecode == nil {
		cfg.Timecode = func(time.Duration) timecode { return timecode{num: 30, den: 1} }
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, err
	}
	return &fileWriter{cfg: cfg, path: path, f: f, video: cfg.Video, audio: cfg.Audio, fragment: cfg.Fragment, wall0: cfg.Wall0}, nil
}

// begin writes the init segment, once the first sample's times are known.
func (w *fileWriter) begin(dts, pts time.Duration) error {
	w.base = dts
	w.first = pts // every frame written is shown: players ignore an edit list's start in a fragmented file
	if w.video == nil {
		w.first = dts
	}
	w.fragStart = dts
	w.vBase, w.aBase = dts, w.first
	w.tc = w.cfg.Timecode(w.first)
	w.last = w.first
	var tracks []initTrack
	if v := w.video; v != nil {
		var entry []byte
		var err error
		if v.Codec == media.CodecH265 {
			entry, err = hvc1Entry(v.VPS, v.SPS, v.PPS)
		} else {
			entry, err = codecEntry(&fmp4.CodecH264{SPS: v.SPS, PPS: v.PPS})
		}
		if err != nil {
			return fmt.Errorf("video sample entry: %w", err)
		}
		tracks = append(tracks, initTrack{id: videoID, kind: "vide", timescale: videoTimescale, entry: entry,
			width: v.Width, height: v.Height, refTmcd: true})
	}
	if a := w.audio; a != nil {
		entry, err := audioEntry(a)
		if err != nil {
			return err
		}
		tracks = append(tracks, initTrack{id: audioID, kind: "soun", timescale: uint32(a.SampleRate), entry: entry})
	}
	tracks = append(tracks, initTrack{id: timecodeID, kind: "tmcd", timescale: uint32(w.tc.num), entry: tmcdEntry(w.tc.num, w.tc.den, w.tc.drop)})
	wall := uint64(w.wall0.Unix() + 2082844800) // seconds since 1904
	init, patch := buildInit(tracks, wall)
	w.patch = patch
	w.buf.Write(init)
	if err := w.flushBuf(); err != nil {
		return err
	}
	w.started = true // an init segment is there to fill in at close
	// the edit lists' media times: where the presentation starts
	if w.video != nil {
		if err := w.writeAt(patch.tracks[videoID].elst+8, u64(uint64(ticks(w.first-w.base, videoTimescale)))); err != nil {
			return err
		}
	}
	return nil
}

// writeAt overwrites bytes already in the file (a field of the init segment).
func (w *fileWriter) writeAt(off int, b []byte) error {
	_, err := w.f.WriteAt(b, int64(off))
	return err
}

// audioEntry is the sample entry of the file's audio.
func audioEntry(t *media.Track) ([]byte, error) {
	switch t.Codec {
	case media.CodecPCMU, media.CodecPCMA:
		return pcmEntry(t.Channels, t.SampleRate), nil
	case media.CodecOpus:
		return codecEntry(&fmp4.CodecOpus{ChannelCount: t.Channels})
	}
	var asc mpeg4audio.AudioSpecificConfig
	if err := asc.Unmarshal(t.Config); err != nil {
		return nil, fmt.Errorf("audio config: %w", err)
	}
	return codecEntry(&fmp4.CodecMPEG4Audio{Config: asc})
}

// recordsAudio reports whether a camera's audio track goes into its ISO
// file: AAC and Opus as they came in; G.711 expanded, sample for sample,
// to the 16-bit PCM its codes stand for (MP4 has no G.711 entry that
// players and editors read; the expansion is lossless).
func recordsAudio(t *media.Track) bool {
	if t.Kind != media.KindAudio {
		return false
	}
	switch t.Codec {
	case media.CodecAAC, media.CodecOpus, media.CodecPCMU, media.CodecPCMA:
		return true
	}
	return false
}

// audioFrame is how long a packet of the file's audio lasts when its
// timestamps cannot tell (the last one, or one after a gap).
func (w *fileWriter) audioFrame(payload []byte) time.Duration {
	switch w.audio.Codec {
	case media.CodecOpus:
		if d := opus.PacketDuration(payload); d > 0 {
			return d
		}
		return 20 * time.Millisecond
	case media.CodecPCMU, media.CodecPCMA: // payload: 16-bit samples
		return time.Duration(len(payload)/2/max(w.audio.Channels, 1)) * time.Second / time.Duration(w.audio.SampleRate)
	}
	return 1024 * time.Second / time.Duration(w.audio.SampleRate)
}

// audioPayload is what the file stores of an audio packet.
func (w *fileWriter) audioPayload(b []byte) []byte {
	switch w.audio.Codec {
	case media.CodecPCMU:
		var pcm g711.Mulaw
		pcm.Unmarshal(b)
		return pcm
	case media.CodecPCMA:
		var pcm g711.Alaw
		pcm.Unmarshal(b)
		return pcm
	}
	return append([]byte(nil), b...)
}

// flushBuf writes what was marshalled and syncs it. A write that fails part
// way (a full disk) is cut off again, so the file ends on a whole fragment.
func (w *fileWriter) flushBuf() error {
	b := w.buf.Bytes()
	w.buf.Reset()
	n, err := w.f.Write(b)
	if err != nil {
		if n > 0 {
			_ = w.f.Truncate(int64(w.bytes))
		}
		return err
	}
	w.bytes += uint64(n)
	return w.f.Sync()
}

// writeUnit adds a unit at session time (dts, pts).
func (w *fileWriter) writeUnit(u *media.Unit, dts, pts time.Duration) error {
	switch u.Track.Kind {
	case media.KindVideo:
		if w.video == nil {
			return nil
		}
		if u.Track != w.video {
			if u.Track.Codec != w.video.Codec || string(u.Track.SPS) != string(w.video.SPS) ||
				string(u.Track.PPS) != string(w.video.PPS) || string(u.Track.VPS) != string(w.video.VPS) {
				return errTrackChanged
			}
		}
		if !w.started && !u.Key {
			return nil // a file starts at a key frame
		}
		dts, pts = w.grid.snap(dts, w.video.FPS), w.grid.snap(pts, w.video.FPS)
		if !w.started {
			if err := w.begin(dts, pts); err != nil {
				return err
			}
		}
		// parameter sets are in the init segment: keep what the camera sent
		p := &pending{dts: dts, pts: pts, key: u.Key, payload: avcc(stripParams(u.Data, w.video))}
		if h := w.vHeld; h != nil {
			d := dts - h.dts
			gap := d > time.Second // a dropout: the file continues after a gap
			switch {
			case gap:
				d = w.frameDuration()
			case d <= 0:
				d = time.Millisecond // a repeated timestamp: keep the order
			}
			w.addVideo(h, d)
			// Close the fragment when the frame in hand would complete it:
			// what is not yet on disk then spans less than one fragment,
			// so a crash loses less than record.fragment of media.
			if gap || dts+d-w.fragStart >= w.fragment {
				if err := w.flushFragment(); err != nil {
					return err
				}
				w.fragStart = dts
			}
		}
		w.vHeld = p
	case media.KindAudio:
		if w.audio == nil || u.Track.Codec != w.audio.Codec || u.Track.SampleRate != w.audio.SampleRate || len(u.Data) == 0 {
			return nil
		}
		if !w.started {
			if w.video != nil || dts < w.cfg.Start {
				return nil
			}
			if err := w.begin(dts, dts); err != nil {
				return err
			}
		}
		if dts < w.first {
			return nil // sound from before the presentation
		}
		p := &pending{dts: dts, pts: dts, key: true, payload: w.audioPayload(u.Data[0])}
		if h := w.aHeld; h != nil {
			d := dts - h.dts
			gap := d > time.Second
			if gap || d <= 0 {
				d = w.audioFrame(h.payload)
			}
			w.addAudio(h, d)
			// without video the sound sets the fragments
			full := w.video == nil && dts-w.fragStart >= w.fragment
			if gap || full { // the next fragment starts at the new time
				if err := w.flushFragment(); err != nil {
					return err
				}
				w.fragStart = dts
			}
		}
		w.aHeld = p
	}
	return nil
}

func (w *fileWriter) frameDuration() time.Duration {
	if w.video != nil && w.video.FPS > 0 {
		return time.Duration(float64(time.Second) / w.video.FPS)
	}
	return time.Second / 30
}

// addVideo adds p, lasting d, to the fragment being gathered; the first
// sample of a fragment sets its base time. (close once added the held
// sample without it: a last frame that began a new fragment took the
// previous fragment's time, a second early.)
func (w *fileWriter) addVideo(p *pending, d time.Duration) {
	if len(w.vSamples) == 0 {
		w.vBase = p.dts
	}
	w.vSamples = append(w.vSamples, w.sample(p, d, videoTimescale, w.base))
	w.mediaEnd[0] = max(w.mediaEnd[0], p.dts+d)
	w.presEnd[0] = max(w.presEnd[0], p.pts+d)
}

// addAudio is addVideo for the audio track, whose media time starts at the
// presentation's start.
func (w *fileWriter) addAudio(p *pending, d time.Duration) {
	if len(w.aSamples) == 0 {
		w.aBase = p.dts
	}
	w.aSamples = append(w.aSamples, w.sample(p, d, uint32(w.audio.SampleRate), w.first))
	w.mediaEnd[1] = max(w.mediaEnd[1], p.dts+d)
	w.presEnd[1] = max(w.presEnd[1], p.dts+d)
}

// sample is p lasting d, on a media timeline that starts at session time
// origin. Its duration and composition offset are taken between absolute
// tick counts, so the file's timestamps stay on the exact session times
// however many samples a fragment holds (converting each duration on its
// own would lose a fraction of a tick per sample: 2999 ticks for a 30 fps
// frame, 1023 for an AAC frame).
func (w *fileWriter) sample(p *pending, d time.Duration, scale uint32, origin time.Duration) *fmp4.Sample {
	w.media += uint64(len(p.payload))
	start := ticks(p.dts-origin, scale)
	return &fmp4.Sample{Duration: uint32(max(ticks(p.dts+d-origin, scale)-start, 1)), PTSOffset: int32(ticks(p.pts-origin, scale) - start),
		IsNonSyncSample: !p.key, Payload: p.payload}
}

// ticks converts d to units of 1/scale s, to the nearest.
func ticks(d time.Duration, scale uint32) int64 {
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return sec*int64(scale) + (rem*int64(scale)+int64(time.Second)/2)/int64(time.Second)
}

// flushFragment writes the samples gathered so far as one fragment (the
// first also carries the timecode sample), and the chapter list when it
// changed.
func (w *fileWriter) flushFragment() error {
	if len(w.vSamples) == 0 && len(w.aSamples) == 0 {
		return w.flushChapters()
	}
	w.seq++
	part := fmp4.Part{SequenceNumber: w.seq}
	refID, refTime, refAt := videoID, uint64(0), w.vBase
	if len(w.vSamples) > 0 {
		refTime = uint64(ticks(w.vBase-w.base, videoTimescale))
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: videoID, BaseTime: refTime, Samples: w.vSamples})
	}
	if len(w.aSamples) > 0 {
		sr := uint32(w.audio.SampleRate)
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: audioID, BaseTime: uint64(ticks(w.aBase-w.first, sr)), Samples: w.aSamples})
		if len(w.vSamples) == 0 {
			refID, refTime, refAt = audioID, uint64(ticks(w.aBase-w.first, sr)), w.aBase
		}
	}
	if !w.tcWritten {
		// one sample: the frame number of the start timecode (QuickTime
		// File Format, timecode media); of no duration, as ffmpeg writes it
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: timecodeID, Samples: []*fmp4.Sample{{Payload: u32(uint32(w.tc.frames))}}})
		w.tcWritten = true
	}
	w.buf.Write(prft(refID, w.wall0.Add(refAt), refTime))
	if err := part.Marshal(&w.buf); err != nil {
		return err
	}
	w.last = max(w.last, w.presEnd[0], w.presEnd[1])
	w.vSamples, w.aSamples = nil, nil
	if err := w.flushBuf(); err != nil {
		return err
	}
	return w.flushChapters()
}

// setChapters replaces the chapter list; it goes to disk with the next
// fragment.
func (w *fileWriter) setChapters(c []chapter) {
	w.chapters = c
	w.chaptersDirty = true
}

func (w *fileWriter) flushChapters() error {
	if !w.chaptersDirty || !w.started {
		return nil
	}
	w.chaptersDirty = false
	rel := make([]chapter, 0, len(w.chapters))
	for _, c := range w.chapters {
		rel = append(rel, chapter{at: max(c.at-w.first, 0), title: c.title})
	}
	if err := w.writeAt(w.patch.chapters, chapterBox(rel)); err != nil {
		return err
	}
	return w.f.Sync()
}

// close writes the held samples and the last fragment, the durations and
// the chapters into the init segment, and closes the file.
func (w *fileWriter) close() error {
	var err error
	if w.vHeld != nil {
		w.addVideo(w.vHeld, w.frameDuration())
		w.vHeld = nil
	}
	if w.aHeld != nil && w.audio != nil {
		w.addAudio(w.aHeld, w.audioFrame(w.aHeld.payload))
		w.aHeld = nil
	}
	if w.started {
		err = w.flushFragment()
		if err == nil {
			err = w.writeDurations()
		}
		if err == nil {
			err = w.f.Sync()
		}
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeDurations fills in the durations of the init segment: each track's
// presentation (its edit, tkhd), its media (mdhd), the movie's (mvhd,
// mehd). Sound is shown no longer than the pictures.
func (w *fileWriter) writeDurations() error {
	pres := [2]time.Duration{max(w.presEnd[0]-w.first, 0), max(w.presEnd[1]-w.first, 0)}
	movie := pres[0]
	if w.video == nil {
		movie = pres[1]
	} else {
		pres[1] = min(pres[1], pres[0])
	}
	w.last = w.first + movie
	mt := uint64(ticks(movie, movieTimescale))
	set := func(off int, v uint64) error { return w.writeAt(off, u64(v)) }
	if err := set(w.patch.mvhdDuration, mt); err != nil {
		return err
	}
	if err := set(w.patch.mehdDuration, mt); err != nil {
		return err
	}
	type tr struct {
		id     int
		pres   time.Duration
		media  time.Duration
		scale  uint32
		hasOne bool
	}
	var trs []tr
	if w.video != nil {
		trs = append(trs, tr{videoID, pres[0], w.mediaEnd[0] - w.base, videoTimescale, true})
	}
	if w.audio != nil {
		trs = append(trs, tr{audioID, pres[1], max(w.mediaEnd[1]-w.first, 0), uint32(w.audio.SampleRate), true})
	}
	trs = append(trs, tr{timecodeID, movie, movie, uint32(w.tc.num), false}) // its timescale: frames of num/den s
	for _, t := range trs {
		p := w.patch.tracks[t.id]
		if p == nil {
			return fmt.Errorf("track %d is not in the file's init segment", t.id)
		}
		if err := set(p.tkhdDuration, uint64(ticks(t.pres, movieTimescale))); err != nil {
			return err
		}
		md := uint64(ticks(t.media, t.scale))
		if t.id == timecodeID { // whole frames, never past the movie's end (ffprobe takes it for the file's)
			md = uint64(t.media * time.Duration(w.tc.num) / time.Duration(int64(w.tc.den)*int64(time.Second)))
		}
		if err := set(p.mdhdDuration, md); err != nil {
			return err
		}
		if t.hasOne {
			if err := set(p.elst, uint64(ticks(t.pres, movieTimescale))); err != nil {
				return err
			}
		}
	}
	return nil
}
