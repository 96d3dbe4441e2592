package clip

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/media/av"
)

// counterClip makes a 1 s 25 fps H.264 (B-frames, a key frame every 10) +
// AAC clip in dir whose frame N has luma 24+8N all over: a decoded picture
// tells its frame number (black, luma 16, is none of them).
func counterClip(t *testing.T, dir, name string) string {
	t.Helper()
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	p := filepath.Join(dir, name)
	out, err := exec.Command(ff, "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:s=160x120:r=25:d=1,format=yuv420p,geq=lum='24+8*N':cb=128:cr=128",
		"-f", "lavfi", "-i", "sine=d=1:sample_rate=48000", "-c:v", "libx264", "-g", "10", "-bf", "2", "-c:a", "aac", "-shortest", p).CombinedOutput()
	require.NoError(t, err, string(out))
	return p
}

// frameOf is a decoded picture of the source: the frame number its luma
// tells (-1 for black), whether it came as a held picture, its PTS.
type frameOf struct {
	n    int
	held bool
	pts  time.Duration
}

// watch decodes what the source publishes and sends every picture's frame.
// A held picture is one the player encoded: its parameter sets are not the
// clip's (clipSPS).
func watch(t *testing.T, st *media.Stream, clip string) <-chan frameOf {
	t.Helper()
	m, err := av.OpenDemuxer(clip)
	require.NoError(t, err)
	ct, err := media.H264TrackFromAnnexB(m.Video.Extradata, 25)
	m.Close()
	require.NoError(t, err)
	clipSPS := string(ct.SPS)
	out := make(chan frameOf, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	rd := st.NewReader(1024)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		var dec *av.VideoDecoder
		var track *media.Track
		var emit func(av.Picture, int64)
		defer func() {
			if dec != nil {
				dec.Close()
			}
		}()
		frame, _ := av.NewFrame(160, 120)
		defer frame.Free()
		var sc av.Scaler
		defer sc.Close()
		var last time.Duration = -1
		held := false
		emit = func(pic av.Picture, pts int64) {
			if sc.Scale(pic, frame, av.Rect{W: 160, H: 120}) != nil {
				return
			}
			l := int(frame.Y[60*frame.StrideY+80])
			n := (l - 24 + 4) / 8
			if l < 20 {
				n = -1
			}
			select {
			case out <- frameOf{n: n, held: held, pts: time.Duration(pts)}:
			default:
			}
		}
		for {
			u, err := rd.Next(ctx)
			if err != nil {
				return
			}
			if u.Track.Kind != media.KindVideo {
				continue
			}
			if u.DTS <= last {
				t.Errorf("timeline went back: DTS %v after %v", u.DTS, last)
			}
			last = u.DTS
			if u.Track != track {
				if dec != nil {
					_ = dec.Decode(nil, 0, emit) // the pictures still in the decoder
					dec.Close()
				}
				dec, _ = av.NewVideoDecoder(u.Track.Codec, 1)
				track = u.Track
			}
			held = string(u.Track.SPS) != clipSPS
			_ = dec.Decode(u.Data, int64(u.PTS), emit)
		}
	}()
	return out
}

func newPlayer(t *testing.T, cfg Config) (*Player, *media.Stream) {
	t.Helper()
	reg := ingest.NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil)))
	src, err := reg.Add(ingest.SourceConfig{Name: cfg.Source, URL: "file:" + cfg.Names[0]})
	require.NoError(t, err)
	p, err := New(cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	st := src.Stream()
	require.NoError(t, p.Start())
	t.Cleanup(p.Close)
	return p, st
}

// next waits for a picture that satisfies ok.
func next(t *testing.T, ch <-chan frameOf, what string, ok func(frameOf) bool) frameOf {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-ch:
			if ok(f) {
				return f
			}
		case <-deadline:
			t.Fatalf("no picture: %s", what)
		}
	}
}

func waitState(t *testing.T, p *Player, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Status().State != state {
		if time.Now().After(deadline) {
			t.Fatalf("player state %q, want %q", p.Status().State, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPlayerCuesPlaysHoldsLast(t *testing.T) {
	dir := t.TempDir()
	f := counterClip(t, dir, "count.mp4")
	p, st := newPlayer(t, Config{Source: "intro", Files: []string{f}, Names: []string{"count.mp4"}})
	ch := watch(t, st, f)

	cued := next(t, ch, "the cued picture", func(frameOf) bool { return true })
	require.Equal(t, 0, cued.n, "a cued clip holds its first frame")
	require.Equal(t, StateCued, p.Status().State)
	require.InDelta(t, 1.0, p.Status().DurationS, 0.1)

	require.NoError(t, p.Command(ActionPlay, 0))
	// every picture of the clip, in order, from frame 0
	first := next(t, ch, "the first played frame", func(f frameOf) bool { return !f.held })
	require.Equal(t, 0, first.n, "play starts at frame 0")
	want := 1
	for want < 25 {
		f := next(t, ch, "frame", func(f frameOf) bool { return true })
		if f.held {
			break
		}
		require.Equal(t, want, f.n, "frames in order")
		want++
	}
	require.Equal(t, 25, want, "all 25 frames played")
	waitState(t, p, StateEnded)
	for range 5 {
		f := next(t, ch, "the held last frame", func(f frameOf) bool { return f.held })
		require.Equal(t, 24, f.n, "on_end hold shows the last frame")
	}
	require.InDelta(t, 0, p.Status().RemainingS, 0.001)
}

func TestPlayerLoopsAndPauses(t *testing.T) {
	dir := t.TempDir()
	clip := counterClip(t, dir, "count.mkv")
	p, st := newPlayer(t, Config{Source: "intro", Files: []string{clip}, Names: []string{"count.mkv"}, Loop: true})
	ch := watch(t, st, clip)
	require.NoError(t, p.Command(ActionPlay, 0))
	next(t, ch, "frame 24", func(f frameOf) bool { return f.n == 24 && !f.held })
	f := next(t, ch, "the frame after the last", func(f frameOf) bool { return true })
	require.Equal(t, 0, f.n, "a looping clip starts over after its last frame")
	require.Equal(t, StatePlaying, p.Status().State)

	next(t, ch, "frame 12", func(f frameOf) bool { return f.n == 12 })
	require.NoError(t, p.Command(ActionPause, 0))
	require.Equal(t, StatePaused, p.Status().State)
	h := next(t, ch, "the paused picture", func(f frameOf) bool { return f.held })
	require.InDelta(t, 13, h.n, 3, "pause holds the picture it stopped at")
}

func TestPlayerEndBlackAndNext(t *testing.T) {
	dir := t.TempDir()
	clip := counterClip(t, dir, "count.mov")
	ended := make(chan struct{}, 1)
	p, st := newPlayer(t, Config{Source: "intro", Files: []string{clip}, Names: []string{"count.mov"}, OnEnd: EndBlack,
		Ended: func() { ended <- struct{}{} }})
	ch := watch(t, st, clip)
	require.NoError(t, p.Command(ActionPlay, 0))
	next(t, ch, "frame 24", func(f frameOf) bool { return f.n == 24 })
	h := next(t, ch, "black", func(f frameOf) bool { return f.held })
	require.Equal(t, -1, h.n, "on_end black")
	select {
	case <-ended:
		t.Fatal("Ended is for on_end next")
	default:
	}

	p2, st2 := newPlayer(t, Config{Source: "spot", Files: []string{clip}, Names: []string{"count.mov"}, OnEnd: EndNext,
		Ended: func() { ended <- struct{}{} }})
	_ = st2
	require.NoError(t, p2.Command(ActionPlay, 0))
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("on_end next did not call Ended")
	}
}

func TestPlayerPlaylist(t *testing.T) {
	dir := t.TempDir()
	a := counterClip(t, dir, "a.mp4")
	b := counterClip(t, dir, "b.webm.mkv")
	p, st := newPlayer(t, Config{Source: "intro", Files: []string{a, b}, Names: []string{"a.mp4", "b.webm.mkv"}})
	ch := watch(t, st, a)
	require.NoError(t, p.Command(ActionPlay, 0))
	next(t, ch, "a's last frame", func(f frameOf) bool { return f.n == 24 })
	f := next(t, ch, "b's first frame", func(f frameOf) bool { return true })
	require.Equal(t, 0, f.n)
	require.Equal(t, "b.webm.mkv", p.Status().File)
	waitState(t, p, StateEnded)
}

func TestPlayerBadInput(t *testing.T) {
	dir := t.TempDir()
	f := counterClip(t, dir, "count.mp4")
	reg := ingest.NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil)))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	_, err := New(Config{Source: "x", Files: []string{filepath.Join(dir, "missing.mp4")}, Names: []string{"missing.mp4"}}, reg, log)
	require.ErrorContains(t, err, "FFmpeg cannot read missing.mp4")
	junk := filepath.Join(dir, "junk.mp4")
	require.NoError(t, os.WriteFile(junk, []byte("not media, only words"), 0o644))
	_, err = New(Config{Source: "x", Files: []string{junk}, Names: []string{"junk.mp4"}}, reg, log)
	require.ErrorContains(t, err, "FFmpeg cannot read junk.mp4")

	p, st := newPlayer(t, Config{Source: "intro", Files: []string{f}, Names: []string{"count.mp4"}, Loop: true})
	ch := watch(t, st, f)
	require.ErrorContains(t, p.Command(ActionSeek, 5*time.Second), "outside the clip")
	require.ErrorContains(t, p.Command("rewind", 0), "must be play, pause, stop or seek")
	require.NoError(t, p.Command(ActionSeek, 500*time.Millisecond))
	h := next(t, ch, "the picture sought to", func(f frameOf) bool { return f.held && f.n > 0 })
	require.Equal(t, 10, h.n, "a seek holds the key frame at or before the position")

	// deleted while it plays: it plays to the end of what it has, then
	// holds its last picture, with a clear error, and the source goes on
	require.NoError(t, p.Command(ActionPlay, 0))
	next(t, ch, "frame 14", func(f frameOf) bool { return f.n == 14 })
	require.NoError(t, os.Remove(f))
	waitState(t, p, StateEnded)
	require.Contains(t, p.Status().Error, "FFmpeg cannot read count.mp4")
	for range 3 {
		h := next(t, ch, "the held picture", func(f frameOf) bool { return f.held })
		require.Equal(t, 24, h.n)
	}
}
