// Package flashprobe measures a video path's delay the way a camera and a
// screen would show it: a Camera sends dark pictures with a bright flash
// every so often, each flash's send instant noted; a Viewer decodes what
// comes out of the far end and notes the instant each flash arrives. The
// delay of each flash is the difference — camera to program, through every
// buffer, decoder, tick, encoder and packetiser between.
//
// The camera's pictures are encoded ahead of time (x264, no B-frames) so
// that sending costs nothing and happens on time; the viewer decodes on its
// own goroutine, so decoding never delays an arrival stamp.
package flashprobe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/media"
	"switchyard/media/av"
)

// Camera is a pre-encoded flashing picture sequence.
type Camera struct {
	Track *media.Track
	// FPSNum/FPSDen is the camera's frame rate: 30000/1001 for an NTSC
	// camera, whose frames drift against a 30 fps program's ticks, so a
	// measurement meets every phase between them.
	FPSNum, FPSDen int
	// Every is the number of frames from one flash to the next.
	Every int
	units []*media.Unit // one loop: Every·k frames, the flash first

	mu    sync.Mutex
	sends []time.Time // each flash's send instant
}

// NewCamera encodes one loop of w×h pictures at fpsNum/fpsDen frames a
// second: a flash (white) frame, then every−1 dark ones, over and over;
// gop frames from key to key.
func NewCamera(w, h, fpsNum, fpsDen, every, gop int) (*Camera, error) {
	if every < 2 || fpsNum <= 0 || fpsDen <= 0 || gop <= 0 {
		return nil, errors.New("flashprobe: need a frame rate, gop > 0 and at least 2 frames between flashes")
	}
	fps := float64(fpsNum) / float64(fpsDen)
	enc, err := av.NewH264Encoder(av.H264Config{Width: w, Height: h, FPSNum: fpsNum, FPSDen: fpsDen,
		BitrateBPS: 2_000_000, GOP: gop, Preset: "ultrafast", Threads: 1})
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	track, err := media.H264TrackFromAnnexB(enc.Extradata(), fps)
	if err != nil {
		return nil, err
	}
	frame, err := av.NewFrame(w, h)
	if err != nil {
		return nil, err
	}
	defer frame.Free()
	c := &Camera{Track: track, FPSNum: fpsNum, FPSDen: fpsDen, Every: every}
	n := every * gop / gcd(every, gop) // a whole number of flash periods and of GOPs
	for i := 0; i < n; i++ {
		if i%every == 0 {
			frame.Fill(235, 128, 128)
		} else {
			frame.Fill(16, 128, 128)
		}
		pts := c.frameTime(i)
		var perr error
		err := enc.Encode(frame, int64(i), false, func(p av.Packet) {
			var au h264.AnnexB
			if perr = au.Unmarshal(append([]byte(nil), p.Data...)); perr != nil {
				return
			}
			nalus, key := media.H264KeyWithParams(au, track.SPS, track.PPS)
			c.units = append(c.units, &media.Unit{Track: track, PTS: pts, DTS: pts, Key: key, Data: nalus})
		})
		if err == nil {
			err = perr
		}
		if err != nil {
			return nil, fmt.Errorf("flashprobe: encode: %w", err)
		}
	}
	if len(c.units) != n {
		return nil, fmt.Errorf("flashprobe: the encoder gave %d pictures for %d frames (it must not delay any)", len(c.units), n)
	}
	return c, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// frameTime is frame i's time from the first.
func (c *Camera) frameTime(i int) time.Duration {
	return time.Duration(int64(i) * int64(c.FPSDen) * int64(time.Second) / int64(c.FPSNum))
}

// Period is the time from one flash to the next.
func (c *Camera) Period() time.Duration { return c.frameTime(c.Every) }

// Run writes the pictures into w on the camera's clock, from the first
// flash on, until ctx ends; each flash's send instant is noted as it is
// handed to w (the delay includes w's own write). Timestamps keep rising
// across loops.
func (c *Camera) Run(ctx context.Context, w func(*media.Unit)) {
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k := i % len(c.units)
		u := *c.units[k]
		u.PTS = c.frameTime(i) // no B-frames: decoded in order
		u.DTS = u.PTS
		if k%c.Every == 0 {
			now := time.Now()
			c.mu.Lock()
			c.sends = append(c.sends, now)
			c.mu.Unlock()
		}
		w(&u)
		t.Reset(time.Until(start.Add(c.frameTime(i + 1))))
	}
}

// Sends returns the flashes' send instants so far.
func (c *Camera) Sends() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sends)
}

// Viewer is a media.Publisher that finds the flashes in what it is given:
// the arrival instant of each picture that is bright after a dark one.
type Viewer struct {
	in      chan arrival
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu       sync.Mutex
	flashes  []time.Time
	pictures int
	errs     int
	dropped  int
}

type arrival struct {
	u  *media.Unit
	at time.Time
}

// NewViewer starts a viewer; Close stops it.
func NewViewer() *Viewer {
	v := &Viewer{in: make(chan arrival, 256), done: make(chan struct{}), stopped: make(chan struct{})}
	go v.run()
	return v
}

// SetTracks is part of media.Publisher.
func (v *Viewer) SetTracks(...*media.Track) {}

// SetWarning is part of media.Publisher.
func (v *Viewer) SetWarning(string) {}

// Malformed is part of media.Publisher.
func (v *Viewer) Malformed() {}

// OnKick is part of media.Publisher.
func (v *Viewer) OnKick(func()) {}

// WriteUnit notes a video unit's arrival; it never blocks (a unit that
// finds the decoding behind by 256 is counted and left out).
func (v *Viewer) WriteUnit(u *media.Unit) {
	if u.Track == nil || u.Track.Kind != media.KindVideo {
		return
	}
	select {
	case v.in <- arrival{u, time.Now()}:
	default:
		v.mu.Lock()
		v.dropped++
		v.mu.Unlock()
	}
}

// Close is media.Publisher's: a pull's session that fed the viewer ended.
// The viewer goes on (the next session feeds it again); Stop ends it.
func (v *Viewer) Close() {}

// Stop ends the viewer's decoding and waits for it. Safe twice.
func (v *Viewer) Stop() {
	v.once.Do(func() { close(v.done) })
	<-v.stopped
}

func (v *Viewer) run() {
	defer close(v.stopped)
	var (
		dec    *av.VideoDecoder
		track  *media.Track
		sc     av.Scaler
		thumb  *av.Frame
		bright bool
		at     time.Time
	)
	defer func() {
		if dec != nil {
			dec.Close()
		}
		sc.Close()
		if thumb != nil {
			thumb.Free()
		}
	}()
	thumb, err := av.NewFrame(16, 16)
	if err != nil {
		return
	}
	onPicture := func(p av.Picture, _ int64) {
		if sc.Scale(p, thumb, av.Rect{W: 16, H: 16}) != nil {
			return
		}
		sum := 0
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				sum += int(thumb.Y[y*thumb.StrideY+x])
			}
		}
		now := sum/256 > 128
		v.mu.Lock()
		v.pictures++
		if now && !bright {
			v.flashes = append(v.flashes, at)
		}
		v.mu.Unlock()
		bright = now
	}
	for {
		select {
		case <-v.done:
			return
		case a := <-v.in:
			if a.u.Track != track {
				if dec != nil {
					dec.Close()
				}
				if dec, err = av.NewVideoDecoder(a.u.Track.Codec, 1); err != nil {
					dec = nil
					v.mu.Lock()
					v.errs++
					v.mu.Unlock()
					continue
				}
				track = a.u.Track
			}
			at = a.at
			if dec.Decode(a.u.Data, int64(a.u.PTS/time.Microsecond), onPicture) != nil {
				v.mu.Lock()
				v.errs++
				v.mu.Unlock()
			}
		}
	}
}

// Flashes returns the arrival instants of the flashes seen so far.
func (v *Viewer) Flashes() []time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.flashes)
}

// Counts returns the pictures decoded, the units that could not be and
// those left out because decoding was behind.
func (v *Viewer) Counts() (pictures, errs, dropped int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.pictures, v.errs, v.dropped
}

// Delays pairs each flash seen with the latest flash sent before it and
// returns their delays in order. A flash seen is paired once; flashes sent
// that were never seen (before the path was up, or lost) are left out, as
// are arrivals that match no send within period (a flash is at most one
// period late, or it would be taken for the next one).
func Delays(sends, seen []time.Time, period time.Duration) []time.Duration {
	var out []time.Duration
	used := -1
	for _, r := range seen {
		i, _ := slices.BinarySearchFunc(sends, r, func(s, r time.Time) int { return s.Compare(r) })
		i-- // the latest send before r
		if i < 0 || i == used || r.Sub(sends[i]) >= period {
			continue
		}
		used = i
		out = append(out, r.Sub(sends[i]))
	}
	return out
}

// Summary is the median and the worst of some delays.
type Summary struct {
	N             int
	Median, Worst time.Duration
}

// Summarise returns the median and the worst of ds.
func Summarise(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Summary{N: len(s), Median: s[len(s)/2], Worst: s[len(s)-1]}
}

func (s Summary) String() string {
	return fmt.Sprintf("median %.1f ms, worst %.1f ms over %d flashes", float64(s.Median.Microseconds())/1000, float64(s.Worst.Microseconds())/1000, s.N)
}
