package record

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/media"
)

// track is one recorded stream: the program or a camera.
type track struct {
	s       *session
	name    string
	program bool
	stream  *media.Stream
	reader  *media.Reader

	// the track's goroutine's
	prerollLeft int // units of the pre-roll still to come: they arrived before the reader, when is not known
	cur         *fileWriter
	anchor      time.Duration // for cameras: session time = camera time + anchor
	anchored    bool
	maxPTS      time.Duration // the latest frame written, in presentation order
	chapters    int64         // the chapter list's generation the file has
	wrote       bool          // the current file has its first frame
	failedFor   string        // the reason given for units that cannot be recorded

	// removed: the source left the show (Recorder.RemoveSource closed the
	// reader); what was due goes in and the file ends. done is closed when
	// the track's goroutine has returned (session.startTrack).
	removed atomic.Bool
	done    chan struct{}

	mu    sync.Mutex // guards what the session's snapshot reads
	parts []partJSON
	state string // waiting, recording, failed, stopped
	err   string
}

// anchorWindow is how long a camera's units are held at the start of its
// recording to find its clock when the program's mapping is not to be had
// (a source the mixer does not time): the least-delayed unit in it sets the
// anchor, so a publisher's bursts do not shift the file.
const anchorWindow = time.Second

type arrived struct {
	u    *media.Unit
	at   time.Duration // session time of arrival (of the reader's start for the pre-roll)
	live bool          // not of the pre-roll: at is when it came
}

// check says at once when the source's announced tracks cannot be recorded.
func (t *track) check() {
	tracks := t.stream.Tracks()
	if len(tracks) == 0 {
		return // not there yet: waiting
	}
	for _, tr := range tracks {
		if recordsVideo(tr) || recordsAudio(tr) {
			return
		}
	}
	t.fail(fmt.Sprintf("none of its tracks can be recorded (%s): send H.264 or H.265 video, or AAC, Opus or G.711 sound", describe(tracks)))
}

func describe(tracks []*media.Track) string {
	s := ""
	for i, tr := range tracks {
		if i > 0 {
			s += ", "
		}
		s += tr.Kind.String() + " " + tr.Codec
	}
	return s
}

// recordsVideo reports whether a video track goes into a file.
func recordsVideo(t *media.Track) bool {
	return t.Kind == media.KindVideo && (t.Codec == media.CodecH264 || t.Codec == media.CodecH265)
}

// hasVideo reports whether the stream announces video: its file then
// starts at a key frame; else it is a sound file.
func (t *track) hasVideo() bool {
	for _, tr := range t.stream.Tracks() {
		if tr.Kind == media.KindVideo {
			return true
		}
	}
	return false
}

// recoverPanic keeps a fault in one file's writing from taking the process
// (the show, the other files) down with it: the file is closed as far as it
// can be, the source is failed with the reason and the stack is logged.
func (t *track) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	t.s.rec.log.Error("recording of a source failed: a fault in its writer; the show and the other files go on",
		"file", t.fileName(), "panic", v, "stack", string(debug.Stack()))
	t.fail(fmt.Sprintf("internal error while writing %s: %v", t.fileName(), v))
	func() {
		defer func() { _ = recover() }() // closing may meet the same fault
		t.closeFile()
	}()
}

func (t *track) fail(reason string) {
	t.mu.Lock()
	changed := t.err != reason
	t.state, t.err = "failed", reason
	t.mu.Unlock()
	if changed {
		t.s.rec.log.Error("source cannot be recorded", "session", t.s.id, "source", t.name, "reason", reason)
		t.s.wake()
	}
}

func (t *track) run() {
	defer t.reader.Close()
	defer t.closeFile()
	var (
		held []arrived
		due  []timed // timed after now (a camera timed as the program airs it): not yet
		done [2]bool // video, audio: nothing before the end can come any more (an operator's stop)
	)
	for {
		u, err := t.reader.Next(t.s.ctx)
		if err != nil {
			if end := t.end(); end > 0 { // what was due before the end goes in
				_ = t.flush(&due, end, math.MaxInt64, &done)
			} else if t.removed.Load() { // the source left the show: everything it sent goes in
				if !t.program && !t.anchored && len(held) > 0 && t.anchorOn(held, math.MaxInt64) {
					for _, a := range t.preroll(held) {
						dts, pts := t.sessionTimes(a)
						due = append(due, timed{a.u, dts, pts})
					}
				}
				if err := t.flush(&due, 0, math.MaxInt64, &done); err != nil {
					t.s.rec.log.Error("recording write failed at the end of a removed source's file", "file", t.fileName(), "err", err)
				}
			}
			if !t.program && t.s.ctx.Err() == nil && !t.removed.Load() {
				// the stream closed under a running session, the recorder
				// not told: the source left the show just before the
				// session took it (RemoveSource found none)
				t.markStopped()
				t.s.wake()
			}
			return
		}
		// now before end: a stop marked after this reads as no stop, and
		// its end is then after now
		at := time.Since(t.s.start)
		end := t.end()
		live := t.prerollLeft == 0
		if !live {
			t.prerollLeft--
		}
		var batch []arrived
		switch {
		case t.program || t.anchored:
			batch = []arrived{{u, at, live}}
		default:
			// bounded by time: anchored at the latest after anchorWindow
			held = append(held, arrived{u, at, live})
			if !t.anchorOn(held, end) {
				continue
			}
			batch, held = t.preroll(held), nil
		}
		for _, a := range batch {
			dts, pts := t.sessionTimes(a)
			due = append(due, timed{a.u, dts, pts})
		}
		now := at
		if end > 0 {
			now = math.MaxInt64 // from the stop on, the end decides
		}
		if err := t.flush(&due, end, now, &done); err != nil {
			t.s.rec.log.Error("recording write failed; stopping the recording", "file", t.fileName(), "err", err)
			reason := "stopped: write error"
			if errors.Is(err, syscallENOSPC) {
				reason = "stopped: disk full"
			}
			t.s.rec.stopFor(t.s, reason)
			return
		}
		if end > 0 && t.pastEnd(done) {
			return
		}
	}
}

// end is the session time the track's file ends at after an operator's
// stop (0 before): the program's frames up to the stop; a camera's up to
// the one the program's last frame aired (up to half a frame after it: a
// camera is timed as the program airs it, each picture in the program
// frame whose middle it is due by).
func (t *track) end() time.Duration {
	end := time.Duration(t.s.endAt.Load())
	if end == 0 || t.program {
		return end
	}
	c := t.s.clock
	last := int64(end) * int64(c.num) / (int64(c.den) * int64(time.Second)) // the program's last frame
	end = t.s.frameTime(last) + t.s.frameTime(1)/2
	// the mixer's mapping of the camera may have moved since the file was
	// timed: its picture aired then is where that mapping puts it
	if f := t.s.rec.opts.SourceOffset; f != nil && t.anchored {
		if off, ok := f(t.name); ok {
			if d := t.anchor - (off - t.s.startPTS()); absDur(d) < time.Second {
				end += d
			}
		}
	}
	return max(end, 1)
}

// timed is a unit on the session's timebase.
type timed struct {
	u        *media.Unit
	dts, pts time.Duration
}

// flush writes the units due by now, in order. A camera timed as the
// program airs it has units timed up to its jitter buffer after their
// arrival: they wait for their time, so that a stop before it leaves them
// out, as it leaves out the program's frames after it.
func (t *track) flush(due *[]timed, end, now time.Duration, done *[2]bool) error {
	q := *due
	i := 0
	for ; i < len(q) && q[i].dts <= now; i++ {
		if err := t.handle(q[i], end, done); err != nil {
			return err
		}
	}
	n := copy(q, q[i:])
	clear(q[n:])
	*due = q[:n]
	return nil
}

// anchorOn tries to time the camera, from what is held: by the program's
// mapping of its timestamps (it is then timed as the program airs it), or
// else, once anchorWindow has passed, by the least-delayed unit's arrival.
func (t *track) anchorOn(held []arrived, end time.Duration) bool {
	var live []arrived // the pre-roll says nothing of when units come
	for _, h := range held {
		if h.live {
			live = append(live, h)
		}
	}
	if len(live) == 0 {
		return end > 0 && t.anchorByArrival(held, held[len(held)-1].at)
	}
	last := live[len(live)-1]
	if f := t.s.rec.opts.SourceOffset; f != nil {
		if off, ok := f(t.name); ok {
			a := off - t.s.startPTS()
			if absDur(last.u.DTS+a-last.at) < time.Second { // not an old publisher's mapping
				t.setAnchor(a, last.at)
				return true
			}
		}
	}
	if last.at-live[0].at < anchorWindow && end == 0 {
		return false // a stop before the window is over anchors on what came
	}
	return t.anchorByArrival(live, last.at)
}

// anchorByArrival anchors on the least-delayed unit of the stream's lead
// kind (video, else sound).
func (t *track) anchorByArrival(units []arrived, at time.Duration) bool {
	video := t.hasVideo()
	var best time.Duration
	found := false
	for _, h := range units {
		if (h.u.Track.Kind == media.KindVideo) == video && (!found || h.at-h.u.DTS < best) {
			best, found = h.at-h.u.DTS, true
		}
	}
	if found {
		t.setAnchor(best, at)
	}
	return found
}

func (t *track) setAnchor(a, at time.Duration) {
	t.anchor, t.anchored = a, true
	t.mu.Lock()
	if n := len(t.parts); n > 0 && t.cur != nil {
		t.parts[n-1].Anchors = append(t.parts[n-1].Anchors, anchorJSON{SinceS: at.Seconds(), OffsetNS: int64(a)})
	}
	t.mu.Unlock()
}

// preroll drops what the file does not need of the held units: a camera's
// file starts at the latest key frame aired at or before the session's
// first frame (the pre-roll is there so the first event has its camera
// from the first frame, however far back its jitter buffer reaches);
// a sound file at the last packet sounding at the session's start.
func (t *track) preroll(held []arrived) []arrived {
	half := t.s.frameTime(1) / 2
	video := t.hasVideo()
	from := -1
	for i, h := range held {
		u := h.u
		if (u.Track.Kind == media.KindVideo) != video {
			continue
		}
		s := u.PTS + t.anchor
		if s > half && from >= 0 {
			break
		}
		if video && u.Key && s <= half || !video && s <= 0 {
			from = i
		}
	}
	if from <= 0 {
		return held
	}
	return held[from:]
}

// handle writes one unit, unless it comes after the end: after an
// operator's stop the video goes on until every frame shown before the end
// is written — a B-frame camera's frames after the end in decode order fill
// the holes before the last one written — and no further.
func (t *track) handle(a timed, end time.Duration, done *[2]bool) error {
	u, dts, pts := a.u, a.dts, a.pts
	k := kindIndex(u.Track)
	if end > 0 && done[k] {
		return nil
	}
	if end > 0 && dts > end {
		if k == 1 || !t.wrote || pts > t.maxPTS {
			done[k] = true
			return nil
		}
		// a hole before the last frame written: it goes in
	}
	if err := t.write(u, dts, pts); err != nil {
		return err
	}
	if k == 0 && t.wrote {
		t.maxPTS = max(t.maxPTS, pts)
	}
	return nil
}

func kindIndex(tr *media.Track) int {
	if tr.Kind == media.KindAudio {
		return 1
	}
	return 0
}

// pastEnd reports whether every track of the stream is done: nothing
// before the end can come any more.
func (t *track) pastEnd(done [2]bool) bool {
	for _, tr := range t.stream.Tracks() {
		if k := tr.Kind; (k == media.KindVideo || k == media.KindAudio) && !done[kindIndex(tr)] {
			return false
		}
	}
	return true
}

// sessionTimes maps a unit's timestamps onto the session's timebase. The
// program runs on the mixer's clock. A camera runs on its own timestamps
// plus its anchor; when its timeline jumps away from the arrival times (a
// new publisher, timestamps starting over) it is anchored anew, which
// leaves a gap in its file.
func (t *track) sessionTimes(a arrived) (dts, pts time.Duration) {
	u, at := a.u, a.at
	if t.program {
		return t.s.programTime(u.DTS), t.s.programTime(u.PTS)
	}
	lead := u.Track.Kind == media.KindVideo || !t.hasVideo()
	if a.live && lead && absDur(u.DTS+t.anchor-at) > time.Second {
		a := at - u.DTS
		if f := t.s.rec.opts.SourceOffset; f != nil {
			if off, ok := f(t.name); ok && absDur(u.DTS+off-t.s.startPTS()-at) < time.Second {
				a = off - t.s.startPTS()
			}
		}
		t.setAnchor(a, at)
	}
	return u.DTS + t.anchor, u.PTS + t.anchor
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// fileName is the name of the current (or next) file: <source>.mp4, a
// sound-only source's <source>.m4a, and .partN before the extension for
// the files after the first (a camera that changed its format).
func (t *track) fileName() string {
	n := len(t.parts)
	if t.cur == nil {
		n++
	}
	ext := ".mp4"
	if !t.program && !t.hasVideo() {
		ext = ".m4a"
	}
	if n <= 1 {
		return t.name + ext
	}
	return fmt.Sprintf("%s.part%d%s", t.name, n, ext) // "." is not in source names: no clash
}

func (t *track) write(u *media.Unit, dts, pts time.Duration) error {
	if t.program && pts < 0 {
		return nil // before the session started
	}
	if t.cur == nil {
		if !t.opens(u) {
			return nil
		}
		if err := t.openFile(u.Track); err != nil {
			t.fail(fmt.Sprintf("cannot open its file: %v", err))
			return nil
		}
	}
	err := t.cur.writeUnit(u, dts, pts)
	if errors.Is(err, errTrackChanged) {
		// new parameters (a camera restarted at another resolution): a new part file
		t.closeFile()
		if err := t.openFile(u.Track); err != nil {
			t.fail(fmt.Sprintf("cannot open its file: %v", err))
			return nil
		}
		err = t.cur.writeUnit(u, dts, pts)
	}
	if err != nil {
		return err
	}
	if t.cur.started {
		t.noteWritten(u, dts)
	}
	if t.program && t.s.chapterGen.Load() != t.chapters {
		t.chapters = t.s.chapterGen.Load()
		t.cur.setChapters(t.s.chapters())
	}
	return nil
}

// opens reports whether u can begin a file: a key frame of a recordable
// video codec, or for a source without video, sound.
func (t *track) opens(u *media.Unit) bool {
	if t.program || t.hasVideo() {
		if u.Track.Kind != media.KindVideo || !u.Key {
			return false
		}
		if !recordsVideo(u.Track) {
			t.fail(fmt.Sprintf("its %s video cannot be recorded: send H.264 or H.265 (a clip: its file is already on disk; convert it with ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4 to record it)", u.Track.Codec))
			return false
		}
		return true
	}
	if !recordsAudio(u.Track) {
		t.fail(fmt.Sprintf("its %s sound cannot be recorded: send AAC, Opus or G.711", u.Track.Codec))
		return false
	}
	return true
}

// noteWritten keeps the file's description up to date.
func (t *track) noteWritten(u *media.Unit, dts time.Duration) {
	w := t.cur
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &t.parts[len(t.parts)-1]
	if !t.wrote {
		t.wrote = true
		t.maxPTS = w.first
		p.StartS = w.first.Seconds()
		p.StartFrame = t.s.clock.frameOf(w.first)
		p.Timecode = t.s.clock.format(t.s.clock.start + p.StartFrame)
		if !t.program {
			p.Anchors = []anchorJSON{{SinceS: w.first.Seconds(), OffsetNS: int64(t.anchor)}}
		}
		t.state, t.err = "recording", ""
	}
	p.EndS = max(p.EndS, dts.Seconds())
}

func (t *track) openFile(first *media.Track) error {
	var video, audio *media.Track
	if first.Kind == media.KindVideo {
		video = first
		for _, tr := range t.stream.Tracks() {
			if recordsAudio(tr) {
				audio = tr
			}
		}
	} else {
		audio = first
	}
	name := t.fileName()
	w, err := newFileWriter(filepath.Join(t.s.dir, name), fileConfig{Video: video, Audio: audio, Fragment: t.s.rec.opts.Fragment,
		Wall0: t.s.start, Start: math.MinInt64, Timecode: t.s.clock.tc})
	if err != nil {
		return err
	}
	p := partJSON{File: name}
	if video != nil {
		p.Video = fmt.Sprintf("%s %dx%d", video.Codec, video.Width, video.Height)
		p.Width, p.Height = video.Width, video.Height
	}
	if audio != nil {
		p.Audio = fmt.Sprintf("%s %d Hz %d ch", audio.Codec, audio.SampleRate, audio.Channels)
		if audio.Codec == media.CodecPCMU || audio.Codec == media.CodecPCMA {
			p.Audio += " (as 16-bit PCM)"
		}
		p.Channels = audio.Channels
	}
	t.mu.Lock()
	t.cur = w
	t.wrote = false
	t.parts = append(t.parts, p)
	t.mu.Unlock()
	t.s.wake()
	return nil
}

func (t *track) closeFile() {
	if t.cur == nil {
		return
	}
	if err := t.cur.close(); err != nil {
		t.s.rec.log.Error("closing recording file", "file", t.cur.path, "err", err)
	}
	t.mu.Lock()
	if n := len(t.parts); n > 0 && t.cur.started {
		t.parts[n-1].EndS = t.cur.last.Seconds()
	}
	t.cur = nil
	t.mu.Unlock()
}

// markStopped says a camera that was recording or waiting stopped: its
// source left the show (a failure keeps its reason).
func (t *track) markStopped() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == "recording" || t.state == "waiting" {
		t.state = "stopped"
	}
}
