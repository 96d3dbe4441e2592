package mixer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"switchyard/media"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
)

// TestSwitchEventsSayWhatAired: a key frame asked for (a recording's REC)
// is the next program frame, encoded as a key frame, and its event names
// the source on program with the timestamp of the very picture composed
// into that frame; a cut's and a transition's events do the same for the
// pictures of their first frame, and a change of a source's audio says
// how it is heard from the next frame. Each camera picture has its own
// colour (testGOP), so the program canvas tells which picture aired.
// Before, events carried program times alone and a recorder guessed the
// camera's times, 2 to 9 frames off.
func TestSwitchEventsSayWhatAired(t *testing.T) {
	const fps, gop = 30, 10
	e, err := New(Config{Width: 320, Height: 180, FPSNum: fps, FPSDen: 1, VideoBitrateBPS: 500_000, AudioBitrateBPS: 128_000, Keyint: 2 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var mu sync.Mutex
	var events []SwitchEvent
	e.OnSwitch = func(ev SwitchEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}
	last := func(kind string) SwitchEvent {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for i := len(events) - 1; i >= 0; i-- {
			if events[i].Kind == kind {
				return events[i]
			}
		}
		t.Fatalf("no %s event in %+v", kind, events)
		return SwitchEvent{}
	}
	program := e.targets.Program().NewReader(1024)
	defer program.Close()

	track, aus := testGOP(t, fps, gop)
	names := []string{"cam1", "cam2"}
	origin := []time.Duration{3 * time.Second, 500 * time.Second} // each camera its own timeline
	streams := make([]*media.Stream, len(names))
	for i, name := range names {
		streams[i] = media.NewStream()
		streams[i].SetTracks(track)
		if err := e.sw.AddInput(name, streams[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	unit := func(s, k int) *media.Unit {
		u := aus[k%gop]
		u.PTS = origin[s] + time.Duration(k)*time.Second/fps
		u.DTS = u.PTS
		return &u
	}
	for s, name := range names {
		in := e.sw.ins.m[name]
		for deadline := time.Now().Add(10 * time.Second); in.frames.Load() == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s decoded nothing", name)
			}
			streams[s].WriteUnit(unit(s, 0))
		}
	}
	if _, err := e.sw.SetProgram("cam1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sw.SetPreview("cam2"); err != nil {
		t.Fatal(err)
	}
	base := []uint64{e.sw.ins.m["cam1"].frames.Load(), e.sw.ins.m["cam2"].frames.Load()}
	n := int64(1)
	frame := func() {
		for s := range streams {
			streams[s].WriteUnit(unit(s, int(n)))
		}
		deadline := time.Now().Add(10 * time.Second)
		for s, name := range names {
			for e.sw.ins.m[name].frames.Load() < base[s]+uint64(n) {
				if time.Now().After(deadline) {
					t.Fatalf("%s not decoded", name)
				}
				runtime.Gosched()
			}
		}
		e.tick(n)
		n++
	}
	// aired is the camera picture index the canvas of program frame m shows.
	aired := func(m int64) int {
		for _, f := range e.outFrames {
			if f.n == m {
				y := f.canvas.Y[f.canvas.StrideY*90+160]
				return int(math.Round(float64(int(y)-40) / 15))
			}
		}
		t.Fatalf("frame %d is gone", m)
		return 0
	}
	index := func(s int, pts time.Duration) int {
		k := float64(pts-origin[s]) * fps / float64(time.Second)
		if math.Abs(k-math.Round(k)) > 1e-6 || k < 0 || k > float64(n) {
			t.Fatalf("%v is no timestamp camera %d sent", pts, s+1)
		}
		return int(math.Round(k))
	}
	for range 13 {
		frame()
	}

	// REC: a key frame on the next frame, and what it shows
	at := e.sw.KeyFrameNext()
	if want := e.cfg.frameTime(n); at != want {
		t.Fatalf("KeyFrameNext = %v, want the next frame's time %v", at, want)
	}
	keyFrame := n
	frame()
	frame()
	ev := last(KindKey)
	if ev.PTS != at || ev.To != "cam1" || len(ev.Sources) != 2 || ev.Sources[0].Name != "cam1" || !ev.Sources[0].Shown {
		t.Fatalf("key event %+v", ev)
	}
	if k := index(0, ev.Sources[0].PTS); k%gop != aired(keyFrame) {
		t.Fatalf("the key event says cam1 picture %d, the frame shows picture %d (mod %d)", k, aired(keyFrame), gop)
	}
	if ev.Sources[0].Audio != audio.ModeAFV || ev.Sources[1].Name != "cam2" || ev.Sources[1].Audio != audio.ModeAFV {
		t.Fatalf("key event sources %+v", ev.Sources)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	keys := map[time.Duration]bool{}
	for {
		u, err := program.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u.Track.Kind == media.KindVideo {
			keys[u.PTS] = u.Key
			if u.PTS >= e.cfg.frameTime(keyFrame+1) {
				break
			}
		}
	}
	if !keys[at] || keys[e.cfg.frameTime(keyFrame-1)] || keys[e.cfg.frameTime(keyFrame+1)] {
		t.Fatalf("program key frames %v: want frame %d (%v) alone", keys, keyFrame, at)
	}

	// a cut: cam2's picture on the cut's frame
	e.sw.Cut()
	cutFrame := n
	frame()
	ev = last("cut")
	if ev.PTS != e.cfg.frameTime(cutFrame) || ev.To != "cam2" || len(ev.Sources) != 1 || !ev.Sources[0].Shown {
		t.Fatalf("cut event %+v", ev)
	}
	if k := index(1, ev.Sources[0].PTS); k%gop != aired(cutFrame) {
		t.Fatalf("the cut says cam2 picture %d, the frame shows %d (mod %d)", k, aired(cutFrame), gop)
	}

	// a mix: its first frame is all cam2; both sources' pictures
	if _, err := e.sw.Auto(bus.Transition{Type: bus.TransMix, DurationMS: 200}); err != nil {
		t.Fatal(err)
	}
	mixFrame := n
	frame()
	first := aired(mixFrame)
	for range 8 {
		frame()
	}
	ev = last(bus.TransMix)
	if ev.PTS != e.cfg.frameTime(mixFrame) || ev.From != "cam2" || ev.To != "cam1" || len(ev.Sources) != 2 {
		t.Fatalf("mix event %+v", ev)
	}
	if k := index(1, ev.Sources[0].PTS); ev.Sources[0].Name != "cam2" || k%gop != first {
		t.Fatalf("the mix's outgoing cam2 picture %d, its first frame shows %d", k, first)
	}
	if ev.Sources[1].Name != "cam1" || !ev.Sources[1].Shown {
		t.Fatalf("the mix's incoming source %+v", ev.Sources[1])
	}
	index(0, ev.Sources[1].PTS)

	// a change of how a source is heard
	mute := true
	if _, err := e.sw.SetAudio("cam2", audio.Patch{Mute: &mute}); err != nil {
		t.Fatal(err)
	}
	muteFrame := n
	frame()
	ev = last(KindAudio)
	if ev.PTS != e.cfg.frameTime(muteFrame) || ev.To != "cam2" || len(ev.Sources) != 1 || ev.Sources[0].Audio != "" {
		t.Fatalf("audio event %+v", ev)
	}
}

// TestJumpsInWhatAired: the program source airing one picture a frame says
// nothing; a picture shown again (it came too late: a freeze) or pictures
// passed over (its mapping to the program clock moved) are jumps, each
// with the picture it aired, so an edit list can take the source anew
// there; so are its slate (no picture of it lately) and its return. A
// cut, a source of another rate are not jumps.
func TestJumpsInWhatAired(t *testing.T) {
	l := &switchLog{cfg: Config{FPSNum: 30, FPSDen: 1}}
	frame := time.Second / 30
	cam := &input{name: "cam1"}
	cam.fpsMilli.Store(30000)
	odd := &input{name: "cam25"}
	odd.fpsMilli.Store(25000)
	var a airing
	air := func(n int64, in *input, pts time.Duration, shown bool) {
		l.lastProg = in.name
		in.shownPTS.Store(int64(pts))
		a.next(l, n, in, shown)
	}
	jumps := func() []time.Duration {
		var out []time.Duration
		for _, ev := range l.pending {
			if ev.Kind != KindJump || ev.To != "cam1" || len(ev.Sources) != 1 || ev.Sources[0].Name != "cam1" {
				t.Fatalf("not a jump of cam1: %+v", ev)
			}
			if !ev.Sources[0].Shown {
				out = append(out, -1) // its slate
				continue
			}
			out = append(out, ev.Sources[0].PTS)
		}
		l.pending = nil
		return out
	}
	base := 7 * time.Second
	for n := int64(0); n < 10; n++ {
		air(n, cam, base+time.Duration(n)*frame+time.Duration(n%3)*time.Millisecond/2, true) // RTMP's rounding
	}
	if j := jumps(); j != nil {
		t.Fatalf("jumps in a picture a frame: %v", j)
	}
	air(10, cam, base+9*frame, true)  // shown again: late
	air(11, cam, base+11*frame, true) // then the one after the late one
	air(12, cam, base+12*frame, true)
	air(13, cam, base+14*frame, true) // the mapping moved: one passed over
	air(14, cam, base+15*frame, true)
	if j, want := jumps(), []time.Duration{base + 9*frame, base + 11*frame, base + 14*frame}; fmt.Sprint(j) != fmt.Sprint(want) {
		t.Fatalf("jumps %v, want %v", j, want)
	}
	air(15, cam, noPTS, false) // its slate: no picture lately
	air(16, cam, noPTS, false)
	air(17, cam, base+20*frame, true) // back
	if j, want := jumps(), []time.Duration{-1, base + 20*frame}; fmt.Sprint(j) != fmt.Sprint(want) {
		t.Fatalf("jumps around a slate %v, want %v", j, want)
	}
	air(18, odd, base, true) // a cut to another source, of another rate
	air(19, odd, base+frame, true)
	air(20, odd, base+frame, true)
	if j := jumps(); j != nil {
		t.Fatalf("jumps across a cut, at another rate: %v", j)
	}
}
