package replay

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/internal/fault"
	"switchyard/media"
)

const fps = 30

var frame = time.Second / fps

// camera writes n frames (a key frame every gop) and AAC-like audio, its
// frame number in the payload, starting at frame first.
func camera(t *testing.T, pub *ingest.Publisher, v, a *media.Track, first, n, gop int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		pts := time.Duration(i) * frame
		pub.WriteUnit(&media.Unit{Track: v, PTS: pts, DTS: pts, Key: i%gop == 0, Data: [][]byte{{byte(i), byte(i >> 8), 0xAA}}})
		pub.WriteUnit(&media.Unit{Track: a, PTS: pts, DTS: pts, Key: true, Data: [][]byte{{0x21, byte(i)}}})
	}
}

func frameNo(u *media.Unit) int { return int(u.Data[0][0]) | int(u.Data[0][1])<<8 }

func TestBufferKeepsSpanFromKeyFrame(t *testing.T) {
	v := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, FPS: fps}
	b := NewBuffer(2*time.Second, 0)
	for i := range 300 { // 10 s, GOP of 1 s
		pts := time.Duration(i) * frame
		b.Add(&media.Unit{Track: v, PTS: pts, DTS: pts, Key: i%30 == 0, Data: [][]byte{make([]byte, 100)}}, time.Now())
	}
	units, bytes, span := b.Size()
	snap, _ := b.Snapshot()
	require.True(t, snap[0].Key, "starts at a key frame")
	require.GreaterOrEqual(t, span, 2*time.Second-frame)
	require.Less(t, span, 3*time.Second+frame, "at most one GOP more than the span")
	require.Equal(t, int64(units*100), bytes)

	// bounded in bytes: a GOP is 30×100 bytes; 5000 bytes keep one or two GOPs
	b = NewBuffer(time.Minute, 5000)
	for i := range 300 {
		pts := time.Duration(i) * frame
		b.Add(&media.Unit{Track: v, PTS: pts, DTS: pts, Key: i%30 == 0, Data: [][]byte{make([]byte, 100)}}, time.Now())
	}
	_, bytes, _ = b.Size()
	require.LessOrEqual(t, bytes, int64(5000+3000))
	snap, _ = b.Snapshot()
	require.True(t, snap[0].Key)
}

// cameraOn publishes n frames (GOPs of 30, with sound) on cam1 and waits
// for the replay's buffer to hold them; it returns a reader of the replay
// source. The publisher and the reader end with the test.
func cameraOn(t *testing.T, reg *ingest.Registry, r *Replayer, n int) *media.Reader {
	t.Helper()
	v := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, FPS: fps}
	a := &media.Track{Kind: media.KindAudio, Codec: media.CodecAAC, SampleRate: 48000, Channels: 2}
	pub, rd := publishCam1(t, reg)
	camera(t, pub, v, a, 0, n, 30)
	waitFrames(t, r, "cam1", n-1)
	return rd
}

// publishCam1 claims cam1 for the test's camera and reads the replay
// source from now on; both end with the test.
func publishCam1(t *testing.T, reg *ingest.Registry) (*ingest.Publisher, *media.Reader) {
	t.Helper()
	pub, err := reg.Publish("cam1", "", "rtmp")
	require.NoError(t, err)
	t.Cleanup(pub.Close)
	src, _ := reg.Get(Source)
	rd := src.Stream().NewReader(4096)
	t.Cleanup(rd.Close)
	return pub, rd
}

func newShow(t *testing.T, cfg Config) (*ingest.Registry, *Replayer) {
	t.Helper()
	reg := ingest.NewRegistry(slog.New(slog.DiscardHandler))
	_, err := reg.Add(ingest.SourceConfig{Name: "cam1"})
	require.NoError(t, err)
	_, err = reg.Add(ingest.SourceConfig{Name: "cam2"})
	require.NoError(t, err)
	_, err = reg.Add(ingest.SourceConfig{Name: Source, PublishKey: "k"})
	require.NoError(t, err)
	cfg.Key = "k"
	r := New(cfg, reg, slog.New(slog.DiscardHandler))
	r.Start()
	t.Cleanup(r.Close)
	return reg, r
}

// waitUnits waits until cam's buffer holds n video frames.
func waitFrames(t *testing.T, r *Replayer, cam string, last int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b := r.Buffer(cam); b != nil {
			units, _ := b.Snapshot()
			for _, u := range units {
				if u.Track.Kind == media.KindVideo && u.Data != nil && frameNo(u) == last { // (spilled units have no Data)
					return
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: frame %d never reached the replay buffer", cam, last)
}

func f(x float64) *float64 { return &x }

// A replay at 50 % republishes the range on the replay source: the GOP up
// to the marked frame at once, all stamped with the mark's time; then each
// frame from the mark on, in order, two program frames (at 30 fps) apart,
// the same bytes as the camera's; no sound below 100 %.
func TestReplayTimeline(t *testing.T) {
	reg, r := newShow(t, Config{Lead: 50 * time.Millisecond, Hold: 100 * time.Millisecond})
	rd := cameraOn(t, reg, r, 300) // 10 s, frames 0–299
	// from −5 s: the newest frame is 299 (9.967 s): the mark is at 4.967 s, frame 149; key frame 120
	info, err := r.Play(Request{Source: "cam1", FromS: f(-5), ToS: f(-4), Speed: 0.5})
	require.NoError(t, err)
	require.Equal(t, 149, int(info.MarkPTSS*fps+0.5))
	require.Equal(t, 120, int(info.KeyPTSS*fps+0.5))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []*media.Unit
	for len(got) < 60 { // 120..148 before the mark, 149 the mark, 150..179 after
		u, err := rd.Next(ctx)
		require.NoError(t, err, "after %d units", len(got))
		require.Equal(t, media.KindVideo, u.Track.Kind, "no sound at 50 %")
		got = append(got, u)
	}
	markPTS := got[29].PTS
	for i, u := range got {
		require.Equal(t, 120+i, frameNo(u), "every frame, in order")
		require.Equal(t, u.Key, frameNo(u)%30 == 0)
		if i <= 29 {
			require.Equal(t, markPTS, u.PTS, "the GOP to the mark is due with the mark")
			continue
		}
		want := markPTS + 100*time.Millisecond + time.Duration(i-29)*2*frame
		require.InDelta(t, float64(want), float64(u.PTS), float64(time.Millisecond), "frame %d: stretched ×2 after the hold", frameNo(u))
	}
	require.InDelta(t, fps*0.5, got[40].Track.FPS, 0.001, "the replay's rate is the camera's × speed")
}

func TestReplayBadInput(t *testing.T) {
	reg, r := newShow(t, Config{Buffer: 3 * time.Second})
	cameraOn(t, reg, r, 300)

	var inv *fault.Invalid
	_, err := r.Play(Request{Source: "cam1", FromS: f(-30), Speed: 1})
	require.ErrorAs(t, err, &inv, "a range older than the buffer")
	require.Contains(t, err.Error(), "older than the buffer")
	_, err = r.Play(Request{Source: "cam1", FromS: f(-2), Speed: 0.3})
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "speed", inv.Field)
	_, err = r.Play(Request{Source: "cam9", FromS: f(-2)})
	require.ErrorIs(t, err, fault.NotFound)
	_, err = r.Play(Request{Source: "cam2", FromS: f(-2)})
	require.ErrorIs(t, err, fault.Conflict, "an offline source")
	require.Contains(t, err.Error(), "offline")
	_, err = r.Play(Request{Source: Source, FromS: f(-2)})
	require.ErrorAs(t, err, &inv)
	_, err = r.Play(Request{Source: "cam1", FromS: f(-2), ToS: f(-3)})
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "to_s", inv.Field)
	_, err = r.Play(Request{Source: "cam1", FromS: f(-15.5 / fps), ToS: f(-15.5/fps + 0.005)})
	require.ErrorAs(t, err, &inv, "a range between two frames")
	require.Equal(t, "to_s", inv.Field)
	require.Contains(t, err.Error(), "no frame")
	_, err = r.Play(Request{Speed: 1})
	require.ErrorAs(t, err, &inv, "no range, no mark")
	_, playing := r.Playing()
	require.False(t, playing, "nothing played")

	// a replay while one plays replaces it
	first, err := r.Play(Request{Source: "cam1", FromS: f(-2), Speed: 0.25})
	require.NoError(t, err)
	second, err := r.Play(Request{Source: "cam1", FromS: f(-1), Speed: 1})
	require.NoError(t, err)
	now, playing := r.Playing()
	require.True(t, playing)
	require.Equal(t, second.ID, now.ID)
	require.NotEqual(t, first.ID, second.ID)

	// marks: mark-in, then a replay from it
	m, err := r.SetMark("cam1", false)
	require.NoError(t, err)
	require.InDelta(t, 299.0/fps, m.PTSS, 0.001)
	_, err = r.SetMark("cam2", true)
	require.Error(t, err, "mark-out on another source than the mark-in")
}

// At 100 % the replay has the camera's sound too, in time with its
// pictures; no camera can publish on the replay source (its key).
func TestReplaySoundAtFullSpeed(t *testing.T) {
	reg, r := newShow(t, Config{Hold: 100 * time.Millisecond})
	v := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, FPS: fps}
	a := &media.Track{Kind: media.KindAudio, Codec: media.CodecAAC, SampleRate: 48000, Channels: 2}
	pub, err := reg.Publish("cam1", "", "rtmp")
	require.NoError(t, err)
	defer pub.Close()
	_, err = reg.Publish(Source, "", "rtmp")
	require.ErrorIs(t, err, ingest.ErrBadKey, "a camera pushing to the replay source")
	src, _ := reg.Get(Source)
	rd := src.Stream().NewReader(4096)
	defer rd.Close()
	camera(t, pub, v, a, 0, 90, 30)
	waitFrames(t, r, "cam1", 89)
	_, err = r.Play(Request{Source: "cam1", FromS: f(-1), Speed: 1})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var video, audio int
	var lastVideo time.Duration
	for video < 58 { // 30–59 (the key frame to the mark), then 60–87
		u, err := rd.Next(ctx)
		require.NoError(t, err)
		if u.Track.Kind == media.KindAudio {
			audio++
			require.GreaterOrEqual(t, u.PTS, lastVideo-frame, "sound in time with the pictures")
			continue
		}
		video++
		lastVideo = u.PTS
	}
	require.GreaterOrEqual(t, audio, 25, "the camera's sound is in the replay at 100 %%")
}
