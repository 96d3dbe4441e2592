package mpegts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	mcts "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"

	"switchyard/media"
)

// PacketsPerWrite is how many 188-byte TS packets go in one write: 1316
// bytes, the payload of one SRT packet (and of one UDP datagram MPEG-TS
// senders use), so no TS packet is split across two.
const PacketsPerWrite = 7

// ErrTooSlow ends a reader whose queue overflowed.
var ErrTooSlow = errors.New("reader too slow: its queue overflowed")

// SoundNotCarriedError says a stream's sound cannot be carried in MPEG-TS
// (G.711): the picture is sent without it.
type SoundNotCarriedError struct{ Codec string }

func (e *SoundNotCarriedError) Error() string {
	return fmt.Sprintf("sound in %s cannot be carried in MPEG-TS (AAC and Opus can)", e.Codec)
}

// Sender writes a media.Stream as a transport stream.
type Sender struct {
	// W gets the transport stream, PacketsPerWrite TS packets per write at
	// most (a unit's last write may be shorter).
	W io.Writer
	// OnSoundNotCarried, when set, is told once that the stream's sound
	// is not sent (a codec MPEG-TS does not carry here, or sound that began
	// after the reader); the picture goes on without it.
	OnSoundNotCarried func(error)
	// KeepClock sends the stream's own timestamps (plus ClockRoom) instead
	// of starting near zero for each run: an output that reconnects
	// continues its receiver's clock where it left it, as the program's
	// clock does (frame index × frame duration, never jumping).
	KeepClock bool
	// Sent, when set, is told of each unit once it is written.
	Sent func(*media.Unit)
}

// ClockRoom is added to a stream's timestamps with KeepClock: room below
// the first picture for the sound stamped slightly before it.
const ClockRoom = time.Second

// Run sends st from its next key frame until ctx ends, a write fails or the
// reader falls behind (ErrTooSlow). Timestamps start near zero for this
// reader. Video must be H.264 or H.265.
func (s *Sender) Run(ctx context.Context, st *media.Stream) error {
	reader := st.NewReader(512)
	defer reader.Close()
	return s.RunReader(ctx, st, reader)
}

// RunReader is Run with the caller's reader on st (its queue, of the size
// the caller chose, perhaps made before a connection was set up).
func (s *Sender) RunReader(ctx context.Context, st *media.Stream, reader *media.Reader) error {
	dropped := reader.Dropped()
	bw := &chunker{w: s.W}
	var (
		w      *mcts.Writer
		vt, at *mcts.Track
		vcodec string
		acodec string
		base   time.Duration
		said   bool
	)
	for {
		u, err := reader.Next(ctx)
		if err != nil {
			return err
		}
		if reader.Dropped() != dropped {
			return ErrTooSlow
		}
		if w == nil {
			if u.Track.Kind != media.KindVideo || !u.Key {
				continue
			}
			vcodec = u.Track.Codec
			switch vcodec {
			case media.CodecH264:
				vt = &mcts.Track{Codec: &mcts.CodecH264{}}
			case media.CodecH265:
				vt = &mcts.Track{Codec: &mcts.CodecH265{}}
			default:
				return fmt.Errorf("video %s cannot be carried in MPEG-TS here (H.264 and H.265 can)", vcodec)
			}
			tracks := []*mcts.Track{vt}
			for _, t := range st.Tracks() {
				if t.Kind != media.KindAudio {
					continue
				}
				var err error
				at, err = audioTrack(t)
				if err != nil {
					if s.OnSoundNotCarried != nil {
						s.OnSoundNotCarried(err)
					}
					said = true
					break
				}
				acodec = t.Codec
				tracks = append(tracks, at)
				break
			}
			w = &mcts.Writer{W: bw, Tracks: tracks}
			if err := w.Initialize(); err != nil {
				return err
			}
			// A little room below the first picture: the sound that goes
			// with it may be stamped slightly earlier.
			base = u.DTS - 200*time.Millisecond
			if s.KeepClock {
				base = -ClockRoom
			}
		}
		pts := int64((u.PTS - base) * 90000 / time.Second)
		switch {
		case u.Track.Kind == media.KindVideo:
			if u.Track.Codec != vcodec {
				return fmt.Errorf("the video changed from %s to %s: read the stream again", vcodec, u.Track.Codec)
			}
			if u.DTS < base {
				continue
			}
			dts := int64((u.DTS - base) * 90000 / time.Second)
			if vcodec == media.CodecH264 {
				err = w.WriteH264(vt, pts, dts, u.Data)
			} else {
				err = w.WriteH265(vt, pts, dts, u.Data)
			}
		case at == nil || u.Track.Codec != acodec || u.PTS < base:
			if at == nil && !said {
				said = true
				err := errors.New("the sound began after this reader started: read again to hear it")
				if _, terr := audioTrack(u.Track); terr != nil {
					err = terr
				}
				if s.OnSoundNotCarried != nil {
					s.OnSoundNotCarried(err)
				}
			}
			continue
		case acodec == media.CodecOpus:
			err = w.WriteOpus(at, pts, u.Data)
		default:
			err = w.WriteMPEG4Audio(at, pts, u.Data)
		}
		if err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if s.Sent != nil {
			s.Sent(u)
		}
	}
}

// audioTrack describes a unit track's sound for MPEG-TS.
func audioTrack(t *media.Track) (*mcts.Track, error) {
	switch t.Codec {
	case media.CodecAAC:
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(t.Config); err != nil {
			return nil, fmt.Errorf("AAC configuration: %w", err)
		}
		return &mcts.Track{Codec: &mcts.CodecMPEG4Audio{Config: asc}}, nil
	case media.CodecOpus:
		// channel_config_code 1 and 2: mono and stereo (the table in mediacommon's OpusAudioDescriptor)
		return &mcts.Track{Codec: &mcts.CodecOpus{Desc: &substructs.OpusAudioDescriptor{ChannelConfigCode: uint8(min(max(t.Channels, 1), 2))}}}, nil
	}
	return nil, &SoundNotCarriedError{Codec: t.Codec}
}

// chunker writes what it is given in writes of exactly PacketsPerWrite TS
// packets, the rest on Flush. (bufio.Writer hands a write larger than its
// free space straight through, which would put a TS packet across two SRT
// packets.)
type chunker struct {
	w   io.Writer
	buf [PacketsPerWrite * 188]byte
	n   int
}

func (c *chunker) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := copy(c.buf[c.n:], p)
		c.n += k
		p = p[k:]
		if c.n == len(c.buf) {
			if err := c.Flush(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

// Flush writes what is buffered.
func (c *chunker) Flush() error {
	if c.n == 0 {
		return nil
	}
	_, err := c.w.Write(c.buf[:c.n])
	c.n = 0
	return err
}
