package mixer

import (
	"fmt"

	"switchyard/media"
	"switchyard/media/av"
)

// rendition is a second encode of the program frames at another bitrate, for
// destinations with less bandwidth. It carries the program's own audio.
type rendition struct {
	bps    int
	refs   int
	enc    *av.VideoEncoder
	track  *media.Track
	stream *media.Stream
}

// MaxRenditions bounds the second encodes: each costs a whole x264 encode
// of the program, so outputs asking for other bitrates share these.
const MaxRenditions = 4

// AcquireRendition returns a stream of the program re-encoded at bps (same
// size, rate and GOP, same audio), starting one if no one uses that bitrate
// yet. Each Acquire is paired with a ReleaseRendition.
func (e *Engine) AcquireRendition(bps int) (*media.Stream, error) {
	if bps <= 0 || bps >= e.cfg.VideoBitrateBPS {
		return nil, fmt.Errorf("a rendition needs a bitrate below the program's %d bit/s", e.cfg.VideoBitrateBPS)
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	cur := *e.renditions.Load()
	for _, r := range cur {
		if r.bps == bps {
			r.refs++
			return r.stream, nil
		}
	}
	if len(cur) >= MaxRenditions {
		have := make([]int, 0, len(cur))
		for _, r := range cur {
			have = append(have, r.bps)
		}
		return nil, fmt.Errorf("at most %d bitrates below the program's are encoded at once; use one of %v", MaxRenditions, have)
	}
	enc, err := e.newVideoEncoder(bps)
	if err != nil {
		return nil, err
	}
	vt, err := media.H264TrackFromAnnexB(enc.Extradata(), float64(e.cfg.FPSNum)/float64(e.cfg.FPSDen))
	if err != nil {
		enc.Close()
		return nil, err
	}
	r := &rendition{bps: bps, refs: 1, enc: enc, track: vt, stream: media.NewStream()}
	r.stream.SetTracks(vt, e.audioTrack)
	next := append(append([]*rendition(nil), cur...), r)
	e.renditions.Store(&next)
	return r.stream, nil
}

// ReleaseRendition drops a user of the bps rendition; the last one stops it.
func (e *Engine) ReleaseRendition(bps int) {
	e.rmu.Lock()
	defer e.rmu.Unlock()
	cur := *e.renditions.Load()
	var gone *rendition
	next := make([]*rendition, 0, len(cur))
	for _, r := range cur {
		if r.bps == bps {
			r.refs--
			if r.refs == 0 {
				gone = r
				continue
			}
		}
		next = append(next, r)
	}
	if gone == nil {
		return
	}
	e.renditions.Store(&next)
	// the encode loop may still be encoding with it: wait for that frame's end
	e.tickMu.Lock()
	e.tickMu.Unlock() //nolint:staticcheck // an empty critical section is the point
	gone.stream.Close()
	gone.enc.Close()
}
