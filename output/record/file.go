package record

import (
	"encoding/binary"
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

// Fragmented MP4 (ISO 14496-12) through mediacommon's fmp4 writer: an init
// segment, then one moof+mdat per fragment, each written and synced to disk as
// it closes, so a crash loses at most the fragment being filled. Before each
// fragment a Producer Reference Time box (prft, 14496-12 8.16.5) ties the
// fragment's media time to the wall clock.

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

// fileWriter writes one fragmented MP4 file with an H.264 track and an
// optional AAC track. Times are session times (the session's start is 0).
type fileWriter struct {
	path     string
	f        *os.File
	video    *media.Track
	audio    *media.Track
	fragment time.Duration
	wall0    time.Time // wall clock at session time 0

	seq       uint32
	vHeld     *pending
	aHeld     *pending
	vSamples  []*fmp4.Sample
	aSamples  []*fmp4.Sample
	vBase     time.Duration // DTS of the first video sample in the fragment
	aBase     time.Duration
	fragStart time.Duration
	started   bool
	first     time.Duration // session time of the first sample
	last      time.Duration // end of the last sample written
	bytes     uint64
	media     uint64 // payload bytes
	buf       seekablebuffer.Buffer
}

func newFileWriter(path string, video, audio *media.Track, fragment time.Duration, wall0 time.Time) (*fileWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, err
	}
	w := &fileWriter{path: path, f: f, video: video, audio: audio, fragment: fragment, wall0: wall0}
	var codec fmp4.Codec = &fmp4.CodecH264{SPS: video.SPS, PPS: video.PPS}
	if video.Codec == media.CodecH265 {
		codec = &fmp4.CodecH265{VPS: video.VPS, SPS: video.SPS, PPS: video.PPS}
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: videoID, TimeScale: videoTimescale, Codec: codec}}}
	if audio != nil {
		codec, err := audioCodec(audio)
		if err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: audioID, TimeScale: uint32(audio.SampleRate), Codec: codec})
	}
	if err := init.Marshal(&w.buf); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := w.flushBuf(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
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

func audioCodec(t *media.Track) (fmp4.Codec, error) {
	switch t.Codec {
	case media.CodecOpus:
		return &fmp4.CodecOpus{ChannelCount: t.Channels}, nil
	case media.CodecPCMU, media.CodecPCMA:
		return &fmp4.CodecLPCM{BitDepth: 16, SampleRate: t.SampleRate, ChannelCount: t.Channels}, nil
	}
	var asc mpeg4audio.AudioSpecificConfig
	if err := asc.Unmarshal(t.Config); err != nil {
		return nil, fmt.Errorf("audio config: %w", err)
	}
	return &fmp4.CodecMPEG4Audio{Config: asc}, nil
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
		if u.Track != w.video {
			if u.Track.Codec != w.video.Codec || string(u.Track.SPS) != string(w.video.SPS) ||
				string(u.Track.PPS) != string(w.video.PPS) || string(u.Track.VPS) != string(w.video.VPS) {
				return errTrackChanged
			}
		}
		if !w.started {
			if !u.Key {
				return nil // a file starts at a key frame
			}
			w.started = true
			w.first = dts
			w.fragStart = dts
			w.vBase = dts
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
		if w.audio == nil || !w.started || u.Track.Codec != w.audio.Codec || u.Track.SampleRate != w.audio.SampleRate || dts < w.first {
			return nil
		}
		p := &pending{dts: dts, pts: dts, key: true, payload: w.audioPayload(u.Data[0])}
		if h := w.aHeld; h != nil {
			d := dts - h.dts
			gap := d > time.Second
			if gap || d <= 0 {
				d = w.audioFrame(h.payload)
			}
			w.addAudio(h, d)
			if gap { // the next fragment starts at the new time
				if err := w.flushFragment(); err != nil {
					return err
				}
			}
		}
		w.aHeld = p
	}
	return nil
}

func (w *fileWriter) frameDuration() time.Duration {
	if w.video.FPS > 0 {
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
	w.vSamples = append(w.vSamples, w.sample(p, d, videoTimescale))
}

// addAudio is addVideo for the audio track.
func (w *fileWriter) addAudio(p *pending, d time.Duration) {
	if len(w.aSamples) == 0 {
		w.aBase = p.dts
	}
	w.aSamples = append(w.aSamples, w.sample(p, d, uint32(w.audio.SampleRate)))
}

// sample is p lasting d. Its duration and composition offset are taken
// between absolute tick counts, so the file's timestamps stay on the exact
// session times however many samples a fragment holds (converting each
// duration on its own would lose a fraction of a tick per sample: 2999
// ticks for a 30 fps frame, 1023 for an AAC frame).
func (w *fileWriter) sample(p *pending, d time.Duration, scale uint32) *fmp4.Sample {
	w.media += uint64(len(p.payload))
	start := ticks(p.dts, scale)
	return &fmp4.Sample{Duration: uint32(max(ticks(p.dts+d, scale)-start, 1)), PTSOffset: int32(ticks(p.pts, scale) - start),
		IsNonSyncSample: !p.key, Payload: p.payload}
}

// ticks converts d to units of 1/scale s, to the nearest.
func ticks(d time.Duration, scale uint32) int64 {
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return sec*int64(scale) + (rem*int64(scale)+int64(time.Second)/2)/int64(time.Second)
}

// flushFragment writes the samples gathered so far as one fragment.
func (w *fileWriter) flushFragment() error {
	if len(w.vSamples) == 0 && len(w.aSamples) == 0 {
		return nil
	}
	w.seq++
	part := fmp4.Part{SequenceNumber: w.seq}
	if len(w.vSamples) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: videoID, BaseTime: uint64(ticks(w.vBase, videoTimescale)), Samples: w.vSamples})
	}
	if len(w.aSamples) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: audioID, BaseTime: uint64(ticks(w.aBase, uint32(w.audio.SampleRate))), Samples: w.aSamples})
	}
	w.buf.Write(prft(w.wall0.Add(w.vBase), uint64(ticks(w.vBase, videoTimescale))))
	if err := part.Marshal(&w.buf); err != nil {
		return err
	}
	end := w.vBase
	for _, s := range w.vSamples {
		end += time.Duration(s.Duration) * time.Second / videoTimescale
	}
	w.last = max(w.last, end)
	w.vSamples, w.aSamples = nil, nil
	return w.flushBuf()
}

// close writes the held samples and the last fragment, and closes the file.
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
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// prft builds a Producer Reference Time box (version 1) for the video track.
func prft(wall time.Time, mediaTime uint64) []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint32(b[0:], 32)
	copy(b[4:], "prft")
	b[8] = 1 // version 1: 64-bit media time
	binary.BigEndian.PutUint32(b[12:], videoID)
	// NTP time: seconds since 1900 and a 32-bit fraction
	secs := uint64(wall.Unix() + 2208988800)
	frac := uint64(wall.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint64(b[16:], secs<<32|frac)
	binary.BigEndian.PutUint64(b[24:], mediaTime)
	return b
}

// stripParams leaves out the parameter sets that ingest put in front of a
// key frame (media.H264KeyWithParams and H265KeyWithParams use the track's
// own slices, so they are recognised by address): they are in the init
// segment, and a sample then holds exactly what the camera sent. Parameter
// sets the camera sent in band are other slices and stay.
func stripParams(nalus [][]byte, t *media.Track) [][]byte {
	params := [][]byte{t.SPS, t.PPS}
	if t.Codec == media.CodecH265 {
		params = [][]byte{t.VPS, t.SPS, t.PPS}
	}
	if len(nalus) <= len(params) {
		return nalus
	}
	for i, p := range params {
		if len(p) == 0 || len(nalus[i]) == 0 || &nalus[i][0] != &p[0] {
			return nalus
		}
	}
	return nalus[len(params):]
}

// avcc joins NAL units with 4-byte lengths.
func avcc(nalus [][]byte) []byte {
	n := 0
	for _, u := range nalus {
		n += 4 + len(u)
	}
	b := make([]byte, 0, n)
	for _, u := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(u)))
		b = append(b, u...)
	}
	return b
}
