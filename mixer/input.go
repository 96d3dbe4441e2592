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
)

// input decodes one source continuously, so a cut to it never waits for a
// keyframe. Its pictures (references, not copies) wait in a small queue for
// their program time, its audio in a ring at 48 kHz stereo (timing.go).
type input struct {
	name   string
	stream *media.Stream
	log    *slog.Logger
	slate  *av.Frame // "NO SIGNAL" with the source name, rendered once

	pics  av.PicturePool
	audio *sampleRing

	// audio mixer (settings guarded by the engine's mu; the rest the tick's)
	mix     AudioSettings
	tickBuf []float32 // this tick's samples
	weight  float32   // this tick's gain into the program
	meter   meter

	// timing: the mapping of its timestamps to the program clock
	cmap    clockMap
	progNow func() time.Duration // the program clock now
	delay   time.Duration        // the jitter buffer

	mu        sync.Mutex
	queue     []duePic       // decoded, waiting for their time, by due time
	shown     *av.PictureRef // the picture on show
	decodedAt time.Time      // the last picture decoded (stale detection)

	// tickAt is the latest program time a tick took a picture for (under
	// mu): a picture due by then and decoded after it missed its tick.
	tickAt time.Duration

	decodeErrors atomic.Uint64
	frames       atomic.Uint64
	picsLate     atomic.Uint64 // pictures decoded after the tick that was to show them
	soundLate    atomic.Uint64 // samples of its sound that missed the program

	// shownAt is the last program tick that used (or had on preview) this
	// source; clock is the engine's current tick. A source out of sight
	// for hideAfter ticks skips its non-reference pictures.
	shownAt atomic.Int64
	clock   *atomic.Int64

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

// markShown marks the source as in sight at tick n (in may be nil).
func (in *input) markShown(n int64) {
	if in != nil {
		in.shownAt.Store(n)
	}
}

func (in *input) run(ctx context.Context, threads int) {
	defer close(in.done)
	lowerDecodePriority()
	reader := in.stream.NewReader(256)
	// This goroutine is locked to its thread, and waking a locked goroutine
	// costs the scheduler a hand-off each time: wake it once a picture, its
	// sound decoded with the picture that follows. Half the jitter buffer is
	// the most the sound may wait for it (a 30 fps camera in the default
	// buffer of two program frames), which leaves the sound half the buffer
	// for the network.
	reader.WakeWithVideo(in.delay / 2)
	defer reader.Close()

	var (
		vdec   *av.VideoDecoder
		vtrack *media.Track
		adec   *av.AudioDecoder
		atrack *media.Track
		errLog = time.Now()
		late   lateWarning
	)
	defer func() {
		if vdec != nil {
			vdec.Close()
		}
		if adec != nil {
			adec.Close()
		}
		in.clearPictures()
		in.pics.Close()
	}()
	var grid cadence
	onPicture := func(p av.Picture, ptsUs int64) {
		r, err := in.pics.Ref(p)
		if err != nil {
			in.decodeErrors.Add(1)
			return
		}
		in.frames.Add(1)
		due := in.progNow() + in.delay // no timestamp: as it comes
		if ptsUs != math.MinInt64 {
			pts := grid.snap(time.Duration(ptsUs)*time.Microsecond, vtrack.FPS)
			due = pts + in.cmap.offset() + in.delay
		}
		in.queuePicture(r, due, queueCap(in.delay, vtrack.FPS))
	}
	var apts time.Duration // the source time of the next decoded sample
	onSamples := func(s []float32) {
		in.audio.write(s, apts)
		apts += time.Duration(len(s)/2) * time.Second / SampleRate
	}
	countErr := func(err error) {
		in.decodeErrors.Add(1)
		if time.Since(errLog) > 10*time.Second { // summarise, never per frame
			errLog = time.Now()
			in.log.Warn("decode errors", "total", in.decodeErrors.Load(), "err", err)
		}
	}

	for {
		u, err := reader.Next(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, media.ErrReaderClosed) {
				in.log.Error("input stopped", "err", err)
			}
			return
		}
		track := 0
		if u.Track.Kind == media.KindAudio {
			track = 1
		}
		in.cmap.observe(track, in.progNow(), u.PTS)
		switch u.Track.Kind {
		case media.KindVideo:
			if u.Track != vtrack {
				// a new publisher or new parameters: reopen the decoder when they differ
				if vdec == nil || vtrack == nil || vtrack.Codec != u.Track.Codec ||
					string(vtrack.SPS) != string(u.Track.SPS) || string(vtrack.PPS) != string(u.Track.PPS) ||
					string(vtrack.VPS) != string(u.Track.VPS) {
					if vdec != nil {
						vdec.Close()
						vdec = nil
					}
					if vdec, err = av.NewVideoDecoder(u.Track.Codec, threads); err != nil {
						countErr(err)
						vdec = nil
						vtrack = nil
						continue
					}
				}
				vtrack = u.Track
			}
			if vdec == nil {
				continue
			}
			vdec.SkipNonReference(in.hidden())
			if err := vdec.Decode(u.Data, int64(u.PTS/time.Microsecond), onPicture); err != nil {
				countErr(err)
			}
			late.check(in)
		case media.KindAudio:
			if u.Track != atrack {
				if adec != nil {
					adec.Close()
					adec = nil
				}
				atrack = u.Track
				if adec, err = av.NewAudioDecoder(u.Track.Codec, u.Track.Config, u.Track.SampleRate, u.Track.Channels, SampleRate); err != nil {
					countErr(err)
					adec = nil
					continue
				}
			}
			if adec == nil || len(u.Data) == 0 {
				continue
			}
			apts = u.PTS
			if err := adec.Decode(u.Data[0], onSamples); err != nil {
				countErr(err)
			}
			late.check(in)
		}
	}
}

// lateWarning says in the source's log, at most every 10 s and never per
// frame, what of it came too late for the program since it last said so:
// sound the tick counted (silence in its place) and pictures decoded after
// their tick (the picture before repeated).
type lateWarning struct {
	at          time.Time
	sound, pics uint64 // the totals last reported
}

func (w *lateWarning) check(in *input) {
	sound, pics := in.soundLate.Load(), in.picsLate.Load()
	if sound == w.sound && pics == w.pics || time.Since(w.at) < 10*time.Second {
		return
	}
	w.at = time.Now()
	in.log.Warn("media arriving after the jitter buffer (sound: silence in its place; pictures: the one before repeated): "+
		"raise program.jitter_buffer if this repeats, or lighten the machine if it is busy",
		"sound_late_ms", (sound-w.sound)*1000/SampleRate, "pictures_late", pics-w.pics,
		"sound_total_ms", sound*1000/SampleRate, "pictures_total", pics)
	w.sound, w.pics = sound, pics
}
