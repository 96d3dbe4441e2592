package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"switchyard/ingest"
)

// BenchmarkClips: the CPU a playing clip costs beside a camera. One show
// (720p30 program) with a generated camera on program for a window, then a
// looping 720p30 H.264 + AAC clip on program beside it for the same window;
// the figure is the extra CPU seconds per media second (the clip's demux,
// decode and what the mixer does with it). Written for `make bench`; it is
// not run by `make test`.
func BenchmarkClips(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("ffmpeg not installed (make deps)")
	}
	dir := b.TempDir()
	clipPath := filepath.Join(dir, "clips", "bench.mp4")
	if err := exec.Command("mkdir", "-p", filepath.Dir(clipPath)).Run(); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=10",
		"-f", "lavfi", "-i", "sine=sample_rate=48000:d=10", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4500k", "-g", "60",
		"-c:a", "aac", "-shortest", clipPath).CombinedOutput()
	if err != nil {
		b.Fatalf("make the bench clip: %v: %s", err, out)
	}
	const window = 10 * time.Second
	cfg := benchConfig(b, 1280, 720)
	cfg.DataDir = dir
	cfg.Sources = []ingest.SourceConfig{{Name: "cam", URL: "gen://bars"}, {Name: "clip", URL: "file:bench.mp4", Loop: true}}
	a := benchStart(b, &cfg)
	measure := func(program string) float64 {
		if _, err := a.mixer.Switcher().SetProgram(program); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second) // settle: pacing, not synchronisation
		c0, t0 := selfCPU(), time.Now()
		time.Sleep(window)
		return (selfCPU() - c0).Seconds() / time.Since(t0).Seconds()
	}
	b.ResetTimer()
	for range b.N {
		camOnly := measure("cam")
		if err := a.sources.PlayerCommand("clip", "play", 0); err != nil {
			b.Fatal(err)
		}
		withClip := measure("clip")
		b.ReportMetric(camOnly, "cam-cpu-s/media-s")
		b.ReportMetric(withClip, "cam+clip-cpu-s/media-s")
		b.ReportMetric(withClip-camOnly, "clip-cpu-s/media-s")
		fmt.Printf("\nclips: camera on program %.3f CPU s per media s; a 720p30 clip playing on program beside it %.3f (the clip: %.3f)\n",
			camOnly, withClip, withClip-camOnly)
	}
}
