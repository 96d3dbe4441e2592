package mixer

import (
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/bus"
	"switchyard/mixer/keyer"
)

// TestTickAllocatesOnlyItsPackets runs the program tick on three live
// sources — decoded from real H.264, one on program, one on preview, one in
// a PiP, a lower third over them, a mix running — and counts every heap
// allocation in the process (the sources' decoders included) over 60
// frames (twice, the quieter window counted). Pictures, canvases and scalers come from pools, so the only
// allocations are the packets the tick publishes: three each (the unit, its
// NAL unit list, its bytes — readers downstream keep them as long as they
// need; measured: 463–471 for 154 packets, 470 when the runtime started a
// thread). A per-frame allocation anywhere in the path adds 60 and fails it.
func TestTickAllocatesOnlyItsPackets(t *testing.T) {
	tickAllocs(t, Config{}, bus.Transition{Type: bus.TransMix, DurationMS: 10_000})
}

// tickAllocs runs TestTickAllocatesOnlyItsPackets with transition trans on
// air while it counts, on an engine with cfg's Stingers.
func tickAllocs(t *testing.T, with Config, trans bus.Transition) {
	const (
		fps   = 30
		gop   = 10
		ticks = 60
	)
	cfg := Config{Width: 640, Height: 360, FPSNum: fps, FPSDen: 1, VideoBitrateBPS: 1_000_000, AudioBitrateBPS: 128_000,
		Stingers: with.Stingers}
	e, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	track, aus := testGOP(t, fps, gop) // played over and over

	names := []string{"cam1", "cam2", "cam3"}
	streams := make([]*media.Stream, len(names))
	for i, n := range names {
		streams[i] = media.NewStream()
		streams[i].SetTracks(track)
		if err := e.sw.AddInput(n, streams[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{
		`{"type":"pip","source":"cam3","rect":{"x":420,"y":20,"w":200,"h":112},"z":10,"on":true,"border":{"width":2}}`,
		`{"type":"lowerthird","title":"Ada Lovelace","subtitle":"Analyst","on":true}`,
	} {
		var s keyer.Spec
		if err := json.Unmarshal([]byte(k), &s); err != nil {
			t.Fatal(err)
		}
		if _, err := e.keyers.AddKeyer(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.sw.SetProgram("cam1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sw.SetPreview("cam2"); err != nil {
		t.Fatal(err)
	}

	// every unit the test will write, made before the count starts
	const warm = 3 * gop
	units := make([][]media.Unit, len(names))
	for s := range units {
		units[s] = make([]media.Unit, warm+2*ticks+gop)
		for i := range units[s] {
			u := aus[i%gop]
			u.PTS = time.Duration(i) * time.Second / fps
			u.DTS = u.PTS
			units[s][i] = u
		}
	}
	// each input's reader is made by its own goroutine: offer the first
	// keyframe until every input has decoded it
	base := make([]uint64, len(names))
	for s, name := range names {
		in := e.sw.ins.m[name]
		for deadline := time.Now().Add(10 * time.Second); in.frames.Load() == 0; {
			if time.Now().After(deadline) {
				t.Fatalf("%s decoded no picture in 10 s", name)
			}
			streams[s].WriteUnit(&units[s][0])
			time.Sleep(5 * time.Millisecond)
		}
		base[s] = in.frames.Load()
	}
	n := int64(1)
	frame := func() { // a picture from each source, decoded; then the tick
		for s, st := range streams {
			st.WriteUnit(&units[s][n])
		}
		deadline := time.Now().Add(10 * time.Second)
		for s, name := range names {
			in := e.sw.ins.m[name]
			for in.frames.Load() < base[s]+uint64(n) {
				if time.Now().After(deadline) {
					t.Fatalf("%s decoded %d pictures of %d", name, in.frames.Load()-base[s], n)
				}
				runtime.Gosched()
			}
		}
		e.tick(n)
		n++
	}
	for n < warm {
		frame()
	}
	if _, err := e.sw.Auto(trans); err != nil {
		t.Fatal(err)
	}
	for range gop { // the transition's canvas and scaler are made on its first frames
		frame()
	}
	if !e.sw.State().Transition.Active {
		t.Fatal("no transition running")
	}

	// no collection during the count: what came before (a stinger's load)
	// leaves garbage, and a collection in the window empties the
	// sync.Pools the runtime and libraries refill, counted against the tick
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// two windows, the quieter counted: what the packets' contents make
	// the streams keep (their pre-roll, trimmed by bytes) grows now and
	// then by a few objects; an allocation a frame adds ticks to both
	var allocs, packets uint64
	for w := range 2 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		p0 := e.targets.Program().UnitsWritten()
		for range ticks {
			frame()
		}
		runtime.ReadMemStats(&m1)
		p, a := e.targets.Program().UnitsWritten()-p0, m1.Mallocs-m0.Mallocs
		t.Logf("%d frames: %d allocations for %d packets published", ticks, a, p)
		if w == 0 || a < allocs {
			allocs, packets = a, p
		}
	}
	if packets < ticks {
		t.Fatalf("%d packets published in %d frames", packets, ticks)
	}
	// the runtime may start a thread meanwhile (7 objects, for a locked
	// decoder's hand-off): 16 to spare, still far below one a frame
	if allocs > 3*packets+16 {
		t.Fatalf("%d allocations in %d frames for %d packets published: more than the packets' own", allocs, ticks, packets)
	}
}

// testGOP encodes one closed GOP of a 320×180 camera at fps: its track and
// access units (no timestamps), every picture a different colour.
func testGOP(t *testing.T, fps, gop int) (*media.Track, []media.Unit) {
	t.Helper()
	enc, err := av.NewH264Encoder(av.H264Config{Width: 320, Height: 180, FPSNum: fps, FPSDen: 1,
		BitrateBPS: 500_000, GOP: gop, Preset: "ultrafast", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	track, err := media.H264TrackFromAnnexB(enc.Extradata(), float64(fps))
	if err != nil {
		t.Fatal(err)
	}
	f, err := av.NewFrame(320, 180)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Free()
	var aus []media.Unit
	for i := range gop {
		f.Fill(byte(40+15*i), 128, byte(100+10*i))
		err := enc.Encode(f, int64(i), i == 0, func(p av.Packet) {
			var au h264.AnnexB
			if err := au.Unmarshal(append([]byte(nil), p.Data...)); err != nil {
				t.Fatal(err)
			}
			nalus, key := media.H264KeyWithParams(au, track.SPS, track.PPS)
			aus = append(aus, media.Unit{Track: track, Key: key, Data: nalus})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(aus) != gop || !aus[0].Key {
		t.Fatalf("encoded %d access units (first key: %v), want %d from a keyframe", len(aus), len(aus) > 0 && aus[0].Key, gop)
	}
	return track, aus
}
