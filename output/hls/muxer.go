package hls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"switchyard/media"
)

// errTracksChanged ends a variant whose stream described itself anew (a
// camera that restarted at another size): the next request starts a new
// muxer with the new tracks.
var errTracksChanged = errors.New("the stream's tracks changed")

// variant is one muxer: one stream (the program, one of its renditions,
// the preview or a source) cut into LL-HLS segments and parts in memory.
// Its goroutine reads the stream and feeds the muxer until it is idle for
// Config.IdleTimeout, the stream ends or the origin closes.
type variant struct {
	key     string // "program", "program/2500k", "preview", "live/cam1"
	bps     int    // a rendition's bitrate, else 0
	mux     *gohlslib.Muxer
	reader  *media.Reader
	release func()
	tracks  map[*media.Track]*gohlslib.Track
	segDur  time.Duration

	refused  int          // units the muxer could not take (feed's goroutine)
	lastUsed atomic.Int64 // unix nanoseconds of the last request's end
	inflight atomic.Int32 // requests being answered
	ready    chan struct{}
	done     chan struct{}
	err      error // why it ended (after done)
}

func (v *variant) touch() { v.lastUsed.Store(time.Now().UnixNano()) }

// newVariant starts a muxer on st's tracks, reading st from its pre-roll
// (the last key frame), so the first segment is out one segment after the
// first request rather than a key-frame interval later.
func newVariant(key string, st *media.Stream, release func(), c Config, log *slog.Logger) (*variant, error) {
	v := &variant{key: key, release: release, tracks: map[*media.Track]*gohlslib.Track{},
		ready: make(chan struct{}), done: make(chan struct{}), segDur: c.SegmentDuration}
	var tracks []*gohlslib.Track
	hasVideo := false
	for _, t := range st.Tracks() {
		if t.Kind == media.KindVideo && !t.Carried() {
			// its sound alone would pass for the source: say why not
			return nil, fmt.Errorf("%s: its %s video (a clip) cannot be served over HLS (H.264 and H.265 can); watch program or preview, "+
				"or convert the clip with ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4", key, t.Codec)
		}
		ht, err := hlsTrack(t)
		if err != nil {
			log.Debug("track not served over hls", "stream", key, "err", err)
			continue
		}
		if t.Kind == media.KindVideo {
			if hasVideo {
				continue
			}
			hasVideo = true
		}
		v.tracks[t] = ht
		tracks = append(tracks, ht)
	}
	if len(tracks) == 0 {
		return nil, fmt.Errorf("%s has no track HLS can carry (H.264, H.265, AAC, Opus)", key)
	}
	v.mux = &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       c.SegmentCount,
		SegmentMinDuration: c.SegmentDuration,
		PartMinDuration:    c.PartDuration,
		OnEncodeError: func(err error) {
			log.Debug("hls muxer", "stream", key, "err", err)
		},
	}
	if err := v.mux.Start(); err != nil {
		return nil, fmt.Errorf("%s: hls muxer: %w", key, err)
	}
	v.reader, _ = st.NewReaderFromPreroll(1024)
	v.touch()
	return v, nil
}

// hlsTrack describes t to the muxer.
func hlsTrack(t *media.Track) (*gohlslib.Track, error) {
	switch t.Codec {
	case media.CodecH264:
		return &gohlslib.Track{Codec: &codecs.H264{SPS: t.SPS, PPS: t.PPS}, ClockRate: 90000}, nil
	case media.CodecH265:
		return &gohlslib.Track{Codec: &codecs.H265{VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}, ClockRate: 90000}, nil
	case media.CodecAAC:
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(t.Config); err != nil {
			return nil, fmt.Errorf("aac config: %w", err)
		}
		return &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: asc}, ClockRate: asc.SampleRate}, nil
	case media.CodecOpus:
		ch := t.Channels
		if ch == 0 {
			ch = 2
		}
		return &gohlslib.Track{Codec: &codecs.Opus{ChannelCount: ch}, ClockRate: 48000}, nil
	}
	return nil, fmt.Errorf("codec %s", t.Codec)
}

// ticks converts d to a clock of rate Hz without overflow.
func ticks(d time.Duration, rate int) int64 {
	s, r := int64(d/time.Second), int64(d%time.Second)
	return s*int64(rate) + r*int64(rate)/int64(time.Second)
}

// run feeds the muxer until ctx ends, the stream ends or its tracks
// change, or nobody asked for anything for idle. It closes the muxer and
// the reader, and releases the stream.
func (v *variant) run(ctx context.Context, c Config, log *slog.Logger) {
	defer close(v.done)
	defer v.release()
	defer v.mux.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer v.reader.Close()
	var idle atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the idle watch: cancelling ends Next below
		defer wg.Done()
		t := time.NewTicker(min(c.IdleTimeout/4, time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if v.inflight.Load() == 0 && time.Since(time.Unix(0, v.lastUsed.Load())) > c.IdleTimeout {
					idle.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	v.err = v.feed(ctx)
	if idle.Load() {
		v.err = fmt.Errorf("nobody asked for %s for %s", v.key, c.IdleTimeout)
	}
	cancel()
	wg.Wait()
	log.Debug("hls muxer stopped", "stream", v.key, "reason", v.err, "units_refused", v.refused)
}

func (v *variant) feed(ctx context.Context) error {
	var first, firstKey time.Duration
	started, sawVideo, haveKey := false, false, false
	for _, ht := range v.tracks {
		sawVideo = sawVideo || ht.Codec.IsVideo()
	}
	for {
		u, err := v.reader.Next(ctx)
		if err != nil {
			return err
		}
		ht, ok := v.tracks[u.Track]
		if !ok {
			if _, err := hlsTrack(u.Track); err == nil {
				return errTracksChanged
			}
			continue // a track HLS does not carry
		}
		now := time.Now()
		switch u.Track.Codec {
		case media.CodecH264:
			err = v.mux.WriteH264(ht, now, ticks(u.PTS, 90000), u.Data)
		case media.CodecH265:
			err = v.mux.WriteH265(ht, now, ticks(u.PTS, 90000), u.Data)
		case media.CodecAAC:
			err = v.mux.WriteMPEG4Audio(ht, now, ticks(u.PTS, ht.ClockRate), [][]byte{join(u.Data)})
		case media.CodecOpus:
			err = v.mux.WriteOpus(ht, now, ticks(u.PTS, 48000), u.Data)
		}
		if err != nil {
			v.refused++ // a unit it cannot cut (a picture before the first key frame): summed up at the end
			continue
		}
		if !started {
			started, first = true, u.DTS
		}
		// ready: the first segment is cut (video: a key frame a segment
		// after the first; sound alone: two segments of it)
		select {
		case <-v.ready:
		default:
			switch {
			case sawVideo && u.Track.Kind == media.KindVideo && u.Key:
				if !haveKey {
					haveKey, firstKey = true, u.DTS
				} else if u.DTS-firstKey >= v.segDur {
					close(v.ready)
				}
			case !sawVideo && u.DTS-first >= 2*v.segDur:
				close(v.ready)
			}
		}
	}
}

func join(d [][]byte) []byte {
	if len(d) == 1 {
		return d[0]
	}
	var out []byte
	for _, b := range d {
		out = append(out, b...)
	}
	return out
}

// serve hands r to the muxer once its first segment is out, or answers
// 503 when it is not out within c.ReadyTimeout.
func (v *variant) serve(w http.ResponseWriter, r *http.Request, c Config) bool {
	v.inflight.Add(1)
	defer func() {
		v.touch()
		v.inflight.Add(-1)
	}()
	t := time.NewTimer(c.ReadyTimeout)
	defer t.Stop()
	select {
	case <-v.ready:
	case <-v.done:
		return false
	case <-r.Context().Done():
		return false
	case <-t.C:
		return false
	}
	v.mux.Handle(w, r)
	return true
}
