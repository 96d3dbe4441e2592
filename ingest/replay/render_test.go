package replay

import (
	"context"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/ingest/replay/slowmo"
	"switchyard/media"
	"switchyard/media/av"
)

// luma is the flat picture the test camera sends as frame k: 24 to frame
// 30, 8 more each frame after.
func luma(k int) float64 { return float64(24 + 8*max(k-30, 0)) }

// h264Camera publishes 60 frames (2 s at 30 fps, a key frame every 30) of
// real H.264, each a flat 64×64 picture of luma(k).
func h264Camera(t *testing.T, pub *ingest.Publisher) {
	t.Helper()
	enc, err := av.NewH264Encoder(av.H264Config{Width: 64, Height: 64, FPSNum: fps, FPSDen: 1, BitrateBPS: 2_000_000, GOP: 30, Preset: "ultrafast", Threads: 1})
	require.NoError(t, err)
	defer enc.Close()
	track, err := media.H264TrackFromAnnexB(enc.Extradata(), fps)
	require.NoError(t, err)
	f, err := av.NewFrame(64, 64)
	require.NoError(t, err)
	defer f.Free()
	for k := range 60 {
		f.Fill(byte(luma(k)), 128, 128)
		require.NoError(t, enc.Encode(f, int64(k), k%30 == 0, func(pk av.Packet) {
			var au h264.AnnexB
			require.NoError(t, au.Unmarshal(append([]byte(nil), pk.Data...)))
			nalus, key := media.H264KeyWithParams(au, track.SPS, track.PPS)
			pts := time.Duration(pk.PTS) * frame
			pub.WriteUnit(&media.Unit{Track: track, PTS: pts, DTS: pts, Key: key, Data: nalus})
		}))
	}
}

// meanLuma is a frame's mean Y.
func meanLuma(f *av.Frame) float64 {
	sum := 0
	for y := range f.Height {
		for _, v := range f.Y[y*f.StrideY : y*f.StrideY+f.Width] {
			sum += int(v)
		}
	}
	return float64(sum) / float64(f.Width*f.Height)
}

// replayed reads the replay source until its n-th track has sent units
// spanning span (from the first's timestamp to the last's), and returns,
// per track in the order they came, the mean luma of each decoded
// picture, the units' timestamps and which were marked End.
type group struct {
	means []float64
	pts   []time.Duration
	ends  []int // indexes of the units marked End
}

func replayed(t *testing.T, rd *media.Reader, n int, span time.Duration) []*group {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var groups []*group
	var track *media.Track
	var d *slowmo.Decoder
	finish := func() {
		if d != nil {
			g := groups[len(groups)-1]
			require.NoError(t, d.Decode(nil, func(f *av.Frame, _ time.Duration) { g.means = append(g.means, meanLuma(f)); f.Free() }))
			d.Close()
		}
	}
	for {
		u, err := rd.Next(ctx)
		require.NoError(t, err, "the replay source went quiet: %d groups", len(groups))
		require.Equal(t, media.KindVideo, u.Track.Kind)
		if u.Track != track {
			finish()
			track = u.Track
			d, err = slowmo.NewDecoder(u.Track.Codec)
			require.NoError(t, err)
			groups = append(groups, &group{})
		}
		g := groups[len(groups)-1]
		g.pts = append(g.pts, u.PTS)
		if u.End {
			g.ends = append(g.ends, len(g.pts)-1)
		}
		require.NoError(t, d.Decode(u, func(f *av.Frame, _ time.Duration) { g.means = append(g.means, meanLuma(f)); f.Free() }))
		if len(groups) == n && g.pts[len(g.pts)-1]-g.pts[0] >= span {
			finish()
			return groups
		}
	}
}

func h264Show(t *testing.T, cfg Config) (*Replayer, *media.Reader) {
	t.Helper()
	cfg.Lead, cfg.Hold = 50*time.Millisecond, 100*time.Millisecond
	reg, r := newShow(t, cfg)
	pub, rd := publishCam1(t, reg)
	h264Camera(t, pub)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b := r.Buffer("cam1"); b != nil {
			if n, _, _ := b.Size(); n == 60 {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "60 frames never reached the buffer")
		time.Sleep(5 * time.Millisecond)
	}
	return r, rd
}

// With slow blend, a slow replay's in-between pictures are mixes of the
// camera's two around them: at 50 % every other one half of each, at 25 %
// a quarter, a half, three quarters; the last is the marked-out frame,
// marked End, and it is held.
func TestReplayBlend(t *testing.T) {
	for _, speed := range []float64{0.5, 0.25} {
		r, rd := h264Show(t, Config{Slow: SlowBlend, Slowmo: slowmo.Blender{}, Still: slowmo.Blender{}})
		// frames 30 (the mark; decoded from the key frame 0) to 40; the newest is 59
		info, err := r.Play(Request{Source: "cam1", FromS: f(-29.0 / fps), ToS: f(-19.0 / fps), Speed: speed})
		require.NoError(t, err)
		require.Equal(t, SlowBlend, info.Slow)
		require.Equal(t, 30, int(info.MarkPTSS*fps+0.5))
		require.Equal(t, 40, int(info.EndPTSS*fps+0.5))
		steps := int(10/speed + 0.5)
		groups := replayed(t, rd, 3, 500*time.Millisecond)
		require.Len(t, groups, 3, "the mark (the camera's units), the blended pictures, the held one")
		require.Len(t, groups[0].means, 31, "the key frame 0 to the mark, at once")
		require.InDelta(t, luma(30), groups[0].means[30], 1)
		blended := groups[1]
		require.Len(t, blended.means, steps, "a picture each camera frame: 10 frames at %g", speed)
		require.Equal(t, []int{steps - 1}, blended.ends, "the last blended picture, and only it, marked End")
		require.InDelta(t, luma(40), blended.means[steps-1], 1, "the last: the marked-out frame")
		held := groups[2]
		for i, m := range held.means {
			require.InDelta(t, luma(40), m, 1, "held picture %d: the marked-out frame", i)
		}
		require.Equal(t, frame, held.pts[0]-blended.pts[steps-1], "held from when the last picture's time is over")
		for j, m := range blended.means {
			want := luma(30) + 8*float64(j+1)*speed
			require.InDelta(t, want, m, 1, "picture %d at %g: %v", j+1, speed, blended.means)
			if j > 0 {
				require.Equal(t, frame, blended.pts[j]-blended.pts[j-1], "at the camera's rate")
			}
		}
		r.Close()
	}
}

// A replay spans exactly its range — the camera's frames from the marked
// one to the marked-out one, nothing after — its last unit marked End;
// then it holds the last picture, a held picture a frame apart for as long
// as one looks (not the slate half a second later), and with on_end next
// calls Ended once, after that picture has had its time.
func TestReplayHoldsLastPicture(t *testing.T) {
	for _, c := range []struct {
		onEnd string
		speed float64
	}{{EndNext, 1}, {EndHold, 0.5}} {
		ended := make(chan time.Time, 4)
		r, rd := h264Show(t, Config{OnEnd: c.onEnd, Still: slowmo.Blender{}, Ended: func() { ended <- time.Now() }})
		info, err := r.Play(Request{Source: "cam1", FromS: f(-29.0 / fps), ToS: f(-19.0 / fps), Speed: c.speed})
		require.NoError(t, err)
		groups := replayed(t, rd, 2, time.Second)
		require.Len(t, groups, 2, "the camera's units, then the held picture")
		cam := groups[0]
		require.Len(t, cam.means, 41, "frames 0 (the key frame) to 40, none after")
		for k := 30; k <= 40; k++ {
			require.InDelta(t, luma(k), cam.means[k], 1, "frame %d", k)
		}
		require.Equal(t, []int{40}, cam.ends, "the last unit, and only it, marked End")
		held := groups[1]
		step := time.Duration(float64(frame) / c.speed)
		require.Equal(t, step, held.pts[0]-cam.pts[40], "held from when the last picture's time is over")
		for i, m := range held.means {
			require.InDelta(t, luma(40), m, 1, "held picture %d: the marked-out frame", i)
			if i > 0 {
				require.Equal(t, frame, held.pts[i]-held.pts[i-1], "a held picture a frame")
			}
		}
		if c.onEnd == EndNext {
			select {
			case at := <-ended:
				require.False(t, at.Before(info.RollsAt.Add(10*frame)), "Ended after the last frame's time")
			case <-time.After(10 * time.Second):
				t.Fatal("on_end next: Ended was not called")
			}
		}
		select {
		case <-ended:
			t.Fatalf("on_end %s: Ended called once too often", c.onEnd)
		case <-time.After(200 * time.Millisecond):
		}
		r.Close()
	}
}
