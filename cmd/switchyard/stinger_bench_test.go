package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"switchyard/ingest"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
)

// BenchmarkStinger: what a stinger costs at 1080p30. Memory: a 2 s ProRes
// 4444 stinger (its pictures drawn for 1.4 s of it) decoded whole when it is
// set as the default transition — the time that takes, the mixer's count of
// bytes, the heap and the resident memory it adds. CPU: the same show
// (two generator sources, 1080p30 program) running stingers back to back
// against mixes of the same length back to back.
func BenchmarkStinger(b *testing.B) {
	cfg := benchConfig(b, 1920, 1080)
	cfg.Sources = []ingest.SourceConfig{{Name: "bars", URL: "gen://bars"}, {Name: "blue", URL: "gen://color?c=blue"}}
	clip := filepath.Join(cfg.DataDir, "clips", "sting.mov")
	if err := os.MkdirAll(filepath.Dir(clip), 0o755); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("nice", "-n", "19", "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		"testsrc2=s=1920x1080:r=30:d=2,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(between(T,0.3,1.7),255*X/W,0)'",
		"-f", "lavfi", "-i", "sine=f=880:sample_rate=48000:d=2", "-c:v", "prores_ks", "-profile:v", "4444",
		"-pix_fmt", "yuva444p10le", "-c:a", "pcm_s16le", "-shortest", clip).CombinedOutput()
	if err != nil {
		b.Fatalf("making the stinger: %v: %s", err, out)
	}
	a := benchStart(b, &cfg)
	defer a.Close()
	waitAllLive(b, a, "bars", "blue")
	if _, err := a.mixer.Switcher().SetProgram("bars"); err != nil {
		b.Fatal(err)
	}
	if _, err := a.mixer.Switcher().SetPreview("blue"); err != nil {
		b.Fatal(err)
	}

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	rss0 := rssBytes()
	t0 := time.Now()
	if _, err := a.mixer.Switcher().SetTransition(bus.Transition{Type: bus.TransStinger, Clip: "sting.mov", CutAtMS: new(1000)}); err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	rss1 := rssBytes()

	// back to back on the show's own thread of commands: each waits for the
	// one before to end
	run := func(t bus.Transition, window time.Duration) (float64, clock.Stats) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !a.mixer.Switcher().State().Transition.Active {
					if _, err := a.mixer.Switcher().Auto(t); err != nil {
						b.Error(err)
						return
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		cores, st := measureShow(a, 2*time.Second, window)
		close(stop)
		wg.Wait()
		for deadline := time.Now().Add(5 * time.Second); a.mixer.Switcher().State().Transition.Active && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		return cores, st
	}
	const window = 20 * time.Second
	mix, _ := run(bus.Transition{Type: bus.TransMix, DurationMS: 2000}, window)
	sting, st := run(bus.Transition{Type: bus.TransStinger}, window)
	b.ReportMetric(load.Seconds(), "s-load")
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20), "MiB-heap")
	b.ReportMetric((sting-mix)*100, "%core-stinger")
	fmt.Printf("\nstinger at 1080p30 (2 s ProRes 4444 with sound, drawn over 1.4 s of it):\n")
	fmt.Printf("  loaded in %.2f s: %d MiB of pictures held (heap +%d MiB, RSS +%d MiB)\n",
		load.Seconds(), a.mixer.Switcher().StingerBytes()>>20, (m1.HeapAlloc-m0.HeapAlloc)>>20, (rss1-rss0)>>20)
	fmt.Printf("  %.3f cores with mixes back to back, %.3f with stingers: %+.1f %% of a core (%d late, %d dropped program frames)\n",
		mix, sting, (sting-mix)*100, st.Late, st.Dropped)
}
