package rtmp

import "switchyard/media"

// Tag is one media message to send: its type (MsgVideo or MsgAudio) and its
// body, an FLV tag.
type Tag struct {
	Type byte
	Body []byte
}

// Tags makes the FLV tags a player is sent from a stream's units (the
// direction opposite to Receiver): H.264 video, with the AVC sequence
// header before the first unit of each track (new parameters), and AAC or
// G.711 at 8 kHz audio, with the AAC sequence header likewise. Units FLV
// cannot carry are skipped: video of another codec, and the units of an
// audio track of a codec it cannot carry, which Append names once per
// track. One Tags serves one player's units, in order.
type Tags struct {
	video, audio *media.Track
	audioHeader  byte
	audioOK      bool
}

// AudioNotCarriedError names an audio track FLV cannot carry; its units are
// skipped, the picture goes on.
type AudioNotCarriedError struct {
	Track *media.Track
	Err   error
}

func (e *AudioNotCarriedError) Error() string { return e.Err.Error() }

func (e *AudioNotCarriedError) Unwrap() error { return e.Err }

// Append appends the tags that carry u to dst. The error is an
// *AudioNotCarriedError for the first unit of an audio track FLV cannot
// carry; any other means a tag could not be built.
func (t *Tags) Append(dst []Tag, u *media.Unit) ([]Tag, error) {
	switch u.Track.Kind {
	case media.KindVideo:
		if u.Track.Codec != media.CodecH264 {
			return dst, nil
		}
		if u.Track != t.video { // first unit, or new parameters: the sequence header first
			t.video = u.Track
			sh, err := AVCSequenceHeaderTag(t.video)
			if err != nil {
				return dst, err
			}
			dst = append(dst, Tag{MsgVideo, sh})
		}
		return append(dst, Tag{MsgVideo, AVCFrameTag(u)}), nil
	case media.KindAudio:
		if u.Track != t.audio { // first unit, or a new track: can FLV carry it?
			t.audio = u.Track
			var err error
			t.audioHeader, err = AudioHeader(t.audio)
			t.audioOK = err == nil
			if !t.audioOK {
				return dst, &AudioNotCarriedError{Track: t.audio, Err: err}
			}
			if t.audio.Codec == media.CodecAAC {
				dst = append(dst, Tag{MsgAudio, AACSequenceHeaderTag(t.audio)})
			}
		}
		if !t.audioOK || len(u.Data) == 0 {
			return dst, nil
		}
		return append(dst, Tag{MsgAudio, AudioFrameTag(t.audioHeader, u)}), nil
	}
	return dst, nil
}
