package record

import (
	"errors"
	"fmt"
	"os"

	"switchyard/media"
)

// WriteClip writes units (a camera's own, from a video key unit, in
// decoding order) to a new fragmented MP4 file at path without
// re-encoding: the samples are the units' bytes (parameter sets moved to
// the init segment), timed by the units' own timestamps. It is how an
// instant replay is kept as a clip. The file must not exist.
func WriteClip(path string, units []*media.Unit) error {
	var video, audio *media.Track
	for _, u := range units {
		switch {
		case u.Track.Kind == media.KindVideo && video == nil:
			video = u.Track
		case u.Track.Kind == media.KindAudio && audio == nil:
			audio = u.Track
		}
	}
	if video == nil && audio == nil {
		return errors.New("nothing to write")
	}
	w, err := newFileWriter(path, fileConfig{Video: video, Audio: audio})
	if err != nil {
		return err
	}
	for _, u := range units {
		err = w.writeUnit(u, u.DTS, u.PTS)
		if errors.Is(err, errTrackChanged) {
			err = nil // the camera changed its parameters: the clip ends before
			break
		}
		if err != nil {
			break
		}
	}
	if cerr := w.close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("clip %s: %w", path, err)
	}
	return nil
}
