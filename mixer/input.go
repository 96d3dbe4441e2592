package mixer

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/audio"
	"switchyard/mixer/clock"
)

// input decodes one source continuously, so a cut to it never waits for a
// keyframe. Its pictures (references, not copies) wait in a small queue for
// their program time, its audio in a ring at 48 kHz stereo (timing.go).
type input struct {
	name   string
	stream *media.Stream
	log    *slog.Logger
	slate  *av.Frame // "NO SIGNAL" with the source name, rendered once

	gate   *decodeGate   // a slot for each picture decoded (the switcher's)
	gateCh chan struct{} // where the gate hands this input a slot

	pics  av.PicturePool
	audio *audio.Ring

	// audio mixer (settings guarded by the switcher's mu; the rest the encode
	// loop's, which mixes each frame's sound: sound.mix)
	mix     audio.Settings
	tickBuf []float32 // this frame's samples
	weight  float32   // this frame's gain into the program
	meter   audio.Meter

	// timing: the mapping of its timestamps to the program clock
	cmap    clockMap
	progNow func() time.Duration // the program clock now
	delay   atomic.Int64         // the jitter buffer (time.Duration; SetJitterBuffer or, adaptive, noteNeed changes it)
	buf     buffer               // … its sound's lag and its estimator (adaptive.go)
	soundJ  atomic.Int64         // the buffer its sound is read with (time.Duration; stepSound)
	// soundShort: its last read ran out of sound (the encode loop's)
	soundShort bool
	// tie: what a microphone's sound is read later to rest with its
	// camera's (time.Duration; tieToLead, the encode loop's)
	tie     atomic.Int64
	lead    atomic.Pointer[input] // the source whose buffer it uses (follows), or nil
	frame   time.Duration         // the program's frame duration
	rate    clock.Rate            // the program's frame rate
	follows string                // the name of the source it follows (under the switcher's mu)
	reader  *media.Reader         // what the decoding reads
	// decodeDevice decodes its pictures on a GPU (Config.DecodeDevice)
	decodeDevice *av.HWDevice
	// picGrid is the source time of a recent picture, when gridOK: its
	// rate the program's and its cadence steady (picPhase)
	picGrid atomic.Int64
	gridOK  atomic.Bool

	mu        sync.Mutex
	queue     []duePic       // decoded, waiting for their time, by due time
	shown     *av.PictureRef // the picture on show
	shownPTS  atomic.Int64   // its source timestamp (noPTS: none); written under mu
	fpsMilli  atomic.Int64   // its pictures' declared frame rate × 1000 (0: not known)
	decodedAt time.Time      // the last picture decoded (stale detection)

	// tickAt is the latest program time a tick took a picture for (under
	// mu): a picture due by then and decoded after it missed its tick.
	tickAt time.Duration
	// took is the way of the picture the last tick took (under mu); Fresh
	// when it was new then.
	took clock.PictureWay

	decodeErrors atomic.Uint64
	frames       atomic.Uint64
	picsLate     atomic.Uint64 // pictures decoded after the tick that was to show them
	picsSkipped  atomic.Uint64 // pictures its decoder passed over, fallen behind (skipBehind)
	soundLate    atomic.Uint64 // samples of its sound that missed the program
	jumps        atomic.Uint64 // program frames whose picture of it was not the one after the last (airing)
	decodeWait   atomic.Int64  // the most its media waited for its decoder lately (time.Duration; lateWarning)
	behindOffAir atomic.Int64  // how far behind its decoder was while quiet, when too far (time.Duration; lateWarning)

	// shownAt is the last program tick that used (or had on preview) this
	// source, heardAt the last that mixed its sound into the program; clock
	// is the engine's current tick. A source out of sight for hideAfter
	// ticks skips its non-reference pictures; one also unheard (quiet)
	// decodes at a lower priority (lowered, while it does).
	shownAt atomic.Int64
	heardAt atomic.Int64
	// airedAt is the last tick whose program frame showed or mixed the
	// source (program bus, a transition's incoming side, a PiP, its sound
	// heard; preview does not count), or that of a source following its
	// buffer: an adaptive buffer shrinks only off air (adaptive.go).
	airedAt atomic.Int64
	clock   *atomic.Int64
	lowered atomic.Bool

	cancel context.CancelFunc
	done   chan struct{}
}

// hideAfter is how many ticks a source may be out of sight before it skips
// non-reference pictures. A cut to it still shows it on the next tick: its
// latest picture is at most a couple of frames older until the decoder,
// which never lost a reference, gives it every picture again.
const hideAfter = 3

// hidden reports whether no bus or keyer has used the source lately.
func (in *input) hidden() bool {
	return in.clock != nil && in.clock.Load()-in.shownAt.Load() > hideAfter
}

// quiet reports whether the program neither shows nor hears the source
// lately: its decoding may wait for everything else (lowerThreadPriority).
func (in *input) quiet() bool {
	return in.hidden() && in.clock.Load()-in.heardAt.Load() > hideAfter
}

// markShown marks the source as in sight at tick n (in may be nil).
func (in *input) markShown(n int64) {
	if in != nil {
		in.shownAt.Store(n)
	}
}

// run decodes the source until ctx ends. Its priority follows the program:
// a source the program shows or hears decodes at the process's priority,
// beside the tick (its pictures have a jitter buffer to meet, and a late
// one is a repeated frame on air); a quiet one decodes on a thread of its
// own at a lower priority, after everything else (decoding.run).
func (in *input) run(ctx context.Context, threads int) {
	d := &decoding{in: in, threads: threads, errLog: time.Now(), inUseSince: never, countFrom: never}
	d.pictureFn, d.samplesFn = d.onPicture, d.onSamples // once: a method value passed on allocates
	// Wake the decoder once a picture, its sound decoded with the picture
	// that follows (fewer wake-ups, and a locked goroutine's wake-up costs
	// the scheduler a hand-off). Half the jitter buffer is the most the
	// sound may wait for it (a 30 fps camera in the default buffer of two
	// program frames), which leaves the sound half the buffer for the
	// network.
	in.setWake()
	d.run(ctx, nil)
}

// jitter is the source's jitter buffer for its pictures (its own, or that
// of the source it follows); soundJitter is its sound's.
func (in *input) jitter() time.Duration { return time.Duration(in.jitterBuffer().delay.Load()) }

// setWake sets how long the source's sound may wait for the picture after
// it: half its jitter buffer (see run).
func (in *input) setWake() { in.reader.WakeWithVideo(in.jitter() / 2) }

// decoding is a source's decoders and what goes with them, used by one
// goroutine at a time (run hands it on).
type decoding struct {
	in      *input
	threads int

	vdec    *av.VideoDecoder
	vtrack  *media.Track
	adec    *av.AudioDecoder
	atrack  *media.Track
	grid    cadence
	taken   time.Duration // when the unit being decoded was taken from the stream (program clock)
	apts    time.Duration // the source time of the next decoded sample
	errLog  time.Time
	skipLog time.Time // when skipBehind last said so
	late    lateWarning

	// arrived is when the unit being decoded was written to the stream,
	// excused the part of its wait for the decoder that is not its
	// buffer's to cover (the wait of a quiet source and its catching up,
	// excuse), inUseSince when the source was last found in use and
	// countFrom when the decoder had caught up since (never while quiet;
	// countFrom never until then); all on the program clock.
	arrived, excused, inUseSince, countFrom time.Duration

	pictureFn func(av.Picture, int64)
	samplesFn func([]float32)
}

// run decodes, starting with u if it is not nil, until ctx ends, then
// closes everything and the input's done. A quiet source's decoding lowers
// its thread's priority. When the source is in use again the thread's
// priority is restored before the next unit is decoded, if the process may;
// else that unit and the rest are decoded in a fresh goroutine and this one
// ends, its thread with it.
func (d *decoding) run(ctx context.Context, u *media.Unit) {
	lockDecodeThread() // a thread of its own, below the Go runtime's (decodeInUseNice)
	lowered := false
	for {
		if u == nil {
			var err error
			var at time.Time
			if u, at, err = d.in.reader.NextAt(ctx); err != nil {
				if !errors.Is(err, context.Canceled) && !errors.Is(err, media.ErrReaderClosed) {
					d.in.log.Error("input stopped", "err", err)
				}
				// the thread back to the process's priority (or, where it
				// cannot be, to end with this goroutine) before the input
				// is done: whoever waits for that finds no decoder's thread
				releaseDecodeThread()
				d.close()
				return
			}
			d.taken = d.in.progNow()
			d.arrived = d.taken - max(time.Since(at), 0)
		}
		quiet := d.in.quiet()
		switch {
		case quiet:
			d.inUseSince, d.countFrom = never, never
		case d.inUseSince == never:
			d.inUseSince = d.in.progNow()
		}
		if d.countFrom == never && d.inUseSince != never && d.arrived >= d.inUseSince {
			d.countFrom = d.taken // the first unit that came in use: what came while quiet is decoded
		}
		switch {
		case quiet && !lowered:
			lowered = lowerThreadPriority()
			d.in.lowered.Store(lowered)
		case !quiet && lowered:
			// before decoding: a source just put on preview or in a PiP
			// must not spend its first pictures on the lowered thread
			d.in.lowered.Store(false)
			if !restoreThreadPriority() {
				handOvers.Add(1)
				releaseDecodeThread() // cannot be raised: it ends with this goroutine
				go d.run(ctx, u)      // a fresh thread, at the in-use priority
				return
			}
			lowered = false
		}
		d.decode(ctx, u)
		u = nil
	}
}

// openDecoder opens a decoder for the track's codec: on the program's
// decode device when it has one, else — or when the device cannot take the
// codec — on the CPU (said once in the source's log). A clip's codec other
// than H.264/H.265 (ProRes, VP9, AV1…) opens FFmpeg's decoder of that name
// with the track's extradata, on the CPU.
func (d *decoding) openDecoder(t *media.Track) (*av.VideoDecoder, error) {
	codec := t.Codec
	if !av.NALCodec(codec) {
		return av.NewVideoDecoderConfig(codec, t.Config, d.threads)
	}
	if dev := d.in.decodeDevice; dev != nil {
		dec, err := av.NewVideoDecoderOn(codec, d.threads, dev)
		if err == nil {
			return dec, nil
		}
		d.in.log.Warn("cannot decode on the GPU; decoding on the CPU", "device", dev.Kind, "codec", codec, "err", err)
	}
	return av.NewVideoDecoder(codec, d.threads)
}

// handOvers counts the decodings moved to a fresh goroutine because a
// lowered thread could not be raised again (each such thread ended).
var handOvers atomic.Uint64

func (d *decoding) close() {
	if d.vdec != nil {
		d.vdec.Close()
	}
	if d.adec != nil {
		d.adec.Close()
	}
	d.in.reader.Close()
	d.in.clearPictures()
	d.in.pics.Close()
	close(d.in.done)
}

func (d *decoding) countErr(err error) {
	in := d.in
	in.decodeErrors.Add(1)
	if time.Since(d.errLog) > 10*time.Second { // summarise, never per frame
		d.errLog = time.Now()
		in.log.Warn("decode errors", "total", in.decodeErrors.Load(), "err", err)
	}
}

// decode decodes one unit into the picture queue or the sample ring.
func (d *decoding) decode(ctx context.Context, u *media.Unit) {
	in := d.in
	track := 0
	if u.Track.Kind == media.KindAudio {
		track = 1
	}
	// the mapping follows the units' arrival, not their decoder's pace
	in.cmap.observe(track, d.arrived, u.PTS)
	d.late.note(d.arrived, d.arrived-u.PTS-in.cmap.offset(), 0)
	if d.skipBehind(u) {
		return
	}
	d.excuse(d.taken)
	var err error
	switch u.Track.Kind {
	case media.KindVideo:
		if u.Track != d.vtrack {
			// a new publisher or new parameters: reopen the decoder when they differ
			if v := d.vtrack; d.vdec == nil || v == nil || v.Codec != u.Track.Codec ||
				string(v.SPS) != string(u.Track.SPS) || string(v.PPS) != string(u.Track.PPS) ||
				string(v.VPS) != string(u.Track.VPS) || string(v.Config) != string(u.Track.Config) {
				if d.vdec != nil {
					// the pictures it still holds (B-frames' reordering) are
					// the last of the old stream: shown, not dropped
					_ = d.vdec.Decode(nil, 0, d.pictureFn)
					d.vdec.Close()
					d.vdec = nil
				}
				if d.vdec, err = d.openDecoder(u.Track); err != nil {
					d.countErr(err)
					d.vdec, d.vtrack = nil, nil
					return
				}
			}
			d.vtrack = u.Track
			in.fpsMilli.Store(int64(u.Track.FPS * 1000))
		}
		if d.vdec == nil {
			return
		}
		d.vdec.SkipNonReference(in.hidden())
		if !in.gate.enter(ctx, in.gateCh, !in.quiet()) {
			return // stopping
		}
		if now := in.progNow(); in.quiet() {
			d.late.noteOffAir(now, now-d.arrived)
		}
		d.excuse(in.progNow()) // and the wait for a slot
		err := d.vdec.Decode(u.Data, int64(u.PTS/time.Microsecond), d.pictureFn)
		if u.End {
			// nothing follows for now (a clip's end): the pictures held for
			// reordering now, not when the next unit comes
			if ferr := d.vdec.Decode(nil, 0, d.pictureFn); err == nil {
				err = ferr
			}
		}
		in.gate.leave()
		if err != nil {
			d.countErr(err)
		}
	case media.KindAudio:
		if u.Track != d.atrack {
			if d.adec != nil {
				d.adec.Close()
				d.adec = nil
			}
			d.atrack = u.Track
			if d.adec, err = av.NewAudioDecoder(u.Track.Codec, u.Track.Config, u.Track.SampleRate, u.Track.Channels, audio.SampleRate); err != nil {
				d.countErr(err)
				d.adec = nil
				return
			}
		}
		if d.adec == nil || len(u.Data) == 0 {
			return
		}
		d.apts = u.PTS
		if err := d.adec.Decode(u.Data[0], d.samplesFn); err != nil {
			d.countErr(err)
		}
		// in the ring from now: what the sound needs of the buffer
		in.noteNeed(d.taken, d.taken-u.PTS-in.cmap.offset()-d.excused, in.frame, true)
		d.late.note(d.taken, 0, d.taken-d.arrived-d.excused)
	}
	in.decodeWait.Store(int64(d.late.decodeMax()))
	d.late.check(in)
	d.late.checkOffAir(in)
}

// never is a time that does not come (inUseSince while quiet).
const never = time.Duration(math.MaxInt64)

// excuse sets excused to the part of the unit's wait until now (taken
// from the stream, or let into the decode gate) that passed before
// countFrom: while its source was quiet — neither shown nor heard, so
// decoding after everything else on purpose (lowered priority, the gate's
// last place) — and, once in use again, behind the units that came while
// it was quiet, until the decoder caught up. That wait is the program's
// choice, not the network's or the machine's steady pace: noted as a need
// it would grow the source's buffer (on a busy machine to its maximum, by
// the second a quiet decoder falls behind), and since on air a buffer
// shrinks only by a quarter frame a second, a camera cut to, or put in a
// PiP, would stay on air that late for minutes; excused, a cut to a camera
// that fell behind shows its latest picture until it has caught up
// (counted late), then runs on the buffer its network and decode need.
// What a source in use waits for its decoder after that counts: on air a
// late picture is a repeat.
func (d *decoding) excuse(now time.Duration) {
	d.excused = max(min(now, d.countFrom)-d.arrived, 0)
}

// skipBehind passes over u and what waits after it up to the newest key
// frame in the source's ring when u is so far behind its media — waiting
// for the decoder, or arrived late — that its picture would come after
// its tick even at the buffer's end (fallenBehind): so would every picture
// passed over (on air the picture before repeated, the sound silent, while
// an adaptive buffer grows a frame a step; out of use, a decoder that stays
// behind and a cut to it that repeats its last picture until it catches
// up), and a decoder catches up soonest by not decoding them. Without a
// key frame waiting it goes on (a camera with a long GOP, or none). It
// reports whether u was passed over.
func (d *decoding) skipBehind(u *media.Unit) bool {
	in := d.in
	arrivedLate := d.arrived - u.PTS - in.cmap.offset()
	behind := arrivedLate + d.taken - d.arrived
	if behind <= in.fallenBehind() {
		return false
	}
	found, video := in.reader.SkipToKey()
	if !found {
		return false
	}
	if u.Track.Kind == media.KindVideo {
		video++
	}
	in.picsSkipped.Add(uint64(video))
	if time.Since(d.skipLog) >= 30*time.Second { // summarise, never per skip
		d.skipLog = time.Now()
		why := "its decoder fell behind its media (the machine is short of CPU): lighten the machine (fewer sources, or a GPU's decode)"
		if arrivedLate > d.taken-d.arrived {
			why = "its media arrived late (the network or the sender): raise its jitter_buffer_ms if this repeats, or mend its network"
		}
		in.log.Warn("skipped to its newest key frame, passing over pictures that would have come after their tick: "+why,
			"behind_ms", behind.Milliseconds(), "arrived_late_ms", arrivedLate.Milliseconds(), "pictures_skipped", video,
			"pictures_skipped_total", in.picsSkipped.Load(), "jitter_buffer_ms", in.jitter().Milliseconds())
	}
	return true
}

func (d *decoding) onPicture(p av.Picture, ptsUs int64) {
	in := d.in
	r, err := in.pics.Ref(p)
	if err != nil {
		in.decodeErrors.Add(1)
		return
	}
	in.frames.Add(1)
	now := in.progNow()
	if ptsUs != math.MinInt64 {
		// decoded now: what its picture needs of the buffer (a step, if
		// one is due, applies to this picture), and half a frame: a tick
		// shows the pictures due by its frame's middle and runs at its
		// frame's start (compose), so a picture is due at that tick up to
		// half a frame before its time
		pts := d.grid.snap(time.Duration(ptsUs)*time.Microsecond, d.vtrack.FPS)
		in.notePicGrid(pts, d.grid.steady() && sameRate(d.vtrack.FPS, in.rate))
		in.noteNeed(now, now-pts-in.cmap.offset()+in.frame/2-d.excused, in.frame, false)
		d.late.note(now, 0, now-d.arrived-d.excused)
		delay := in.jitter()
		in.queuePicture(r, pts+in.cmap.offset()+delay, pts, queueCap(delay+in.cmap.ahead(0), d.vtrack.FPS), clock.PictureWay{Taken: d.taken, Decoded: now})
		return
	}
	delay := in.jitter()
	in.queuePicture(r, now+delay, noPTS, queueCap(delay, d.vtrack.FPS), clock.PictureWay{Taken: d.taken, Decoded: now}) // no timestamp: as it comes
}

func (d *decoding) onSamples(s []float32) {
	d.in.audio.Write(s, d.apts)
	d.apts += time.Duration(len(s)/2) * time.Second / audio.SampleRate
}

// lateWarning says in the source's log, at most every 10 s and never per
// frame, what of it came too late for the program since it last said so:
// sound the tick counted (silence in its place) and pictures decoded after
// their tick (the picture before repeated) — and where they lost the time,
// so the operator knows what to fix: arriving late (the network or the
// sender) or waiting for the decoder (the machine).
type lateWarning struct {
	at          time.Time
	sound, pics uint64 // the totals last reported
	// the most a unit arrived after the mapping's least delay, and waited
	// from its arrival to its decode (less what was excused), over the
	// last lateBin to twice that (roll)
	arrival, decode [2]time.Duration
	// the most a picture was behind (its wait from arrival) when its
	// decode began while the source was quiet, likewise; offAirAt when
	// that was last said
	offAir   [2]time.Duration
	offAirAt time.Time
	binStart time.Duration
}

// behindMin is the least a source's decoder must be behind its media to
// have fallen behind (and beyond its jitter buffer and two frames): a quiet
// decoder goes after the sources in use on purpose, and a busy moment may
// hold it a few frames; half a second is a machine that does not keep up.
const behindMin = 500 * time.Millisecond

// fallenBehind is how far behind its media (after its least delay) the
// source's decoder must be to have fallen behind: a picture that far
// behind comes after its tick even at its buffer's end.
func (in *input) fallenBehind() time.Duration {
	return max(in.jitter()+2*in.frame, behindMin)
}

const lateBin = 5 * time.Second

// decodeMax is the most a picture or sound waited for its decoder over
// the last lateBin to twice that.
func (w *lateWarning) decodeMax() time.Duration { return max(w.decode[0], w.decode[1]) }

// note notes, at program time now, a unit that arrived arrival after its
// least-delay time, or a picture or sound that waited decode from its
// unit's arrival to being ready.
func (w *lateWarning) note(now, arrival, decode time.Duration) {
	w.roll(now)
	w.arrival[0] = max(w.arrival[0], arrival)
	w.decode[0] = max(w.decode[0], decode)
}

// noteOffAir notes, at program time now, a picture of a quiet source whose
// decode begins behind its arrival.
func (w *lateWarning) noteOffAir(now, behind time.Duration) {
	w.roll(now)
	w.offAir[0] = max(w.offAir[0], behind)
}

func (w *lateWarning) roll(now time.Duration) {
	if now-w.binStart >= lateBin {
		if now-w.binStart >= 2*lateBin {
			w.arrival[0], w.decode[0], w.offAir[0] = 0, 0, 0
		}
		w.arrival[1], w.decode[1], w.offAir[1] = w.arrival[0], w.decode[0], w.offAir[0]
		w.arrival[0], w.decode[0], w.offAir[0], w.binStart = 0, 0, 0, now
	}
}

// checkOffAir keeps the source's BehindOffAir and says, at most every 30
// s, that its decoder fell behind while it was out of use — before a cut
// to it shows it, where the late-media warning would only say so after.
func (w *lateWarning) checkOffAir(in *input) {
	behind := max(w.offAir[0], w.offAir[1])
	if behind <= in.fallenBehind() {
		in.behindOffAir.Store(0)
		return
	}
	in.behindOffAir.Store(int64(behind))
	if time.Since(w.offAirAt) < 30*time.Second {
		return
	}
	w.offAirAt = time.Now()
	in.log.Warn("off air, its decoder fell behind its media (it decodes after the sources in use): the machine is short of CPU "+
		"for every source, and a cut to it repeats its last picture until it catches up (skipping to its next key frame); lighten the machine (fewer sources, or a GPU's decode)",
		"behind_ms", behind.Milliseconds(), "jitter_buffer_ms", in.jitter().Milliseconds())
}

func (w *lateWarning) check(in *input) {
	sound, pics := in.soundLate.Load(), in.picsLate.Load()
	if sound == w.sound && pics == w.pics || time.Since(w.at) < 10*time.Second {
		return
	}
	w.at = time.Now()
	arrival, decode := max(w.arrival[0], w.arrival[1]), w.decodeMax()
	what := "its media arrived late (the network or the sender): raise the source's jitter_buffer_ms " +
		"(or program.jitter_buffer for every source) if this repeats, or mend its network"
	if decode > arrival {
		what = "its decoder fell behind (the machine is short of CPU): lighten the machine (fewer sources, " +
			"or a GPU's decode); a longer jitter_buffer_ms only hides it"
	}
	in.log.Warn("media after the jitter buffer (sound: silence in its place; pictures: the one before repeated): "+what,
		"jitter_buffer_ms", in.jitter().Milliseconds(), "sound_late_ms", (sound-w.sound)*1000/audio.SampleRate, "pictures_late", pics-w.pics,
		"arrived_late_ms", arrival.Milliseconds(), "decode_wait_ms", decode.Milliseconds(),
		"sound_total_ms", sound*1000/audio.SampleRate, "pictures_total", pics)
	w.sound, w.pics = sound, pics
}
