package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"switchyard/ingest"
	"switchyard/ingest/replay"
	"switchyard/media"
)

// BenchmarkReplayBuffer: what the replay buffer costs per 1080p camera.
// A real 1080p30 camera (ffmpeg, x264 at 6 Mbit/s with AAC, over RTMP)
// fills a 20 s buffer in a show; then its units are fed again, through a
// media.Stream and a reader like the buffer's own, into a fresh Buffer
// as fast as they go, with the thread's CPU time measured. Reported:
// the bytes held beside bitrate × buffer (the goal: about equal), and
// the CPU the buffer takes at the camera's real rate, in % of one core
// (the goal: next to nothing — no decode).
func BenchmarkReplayBuffer(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("ffmpeg is not installed (make deps)")
	}
	const span = 20 * time.Second
	cfg := defaults()
	cfg.HTTP.Listen, cfg.RTMP.Listen, cfg.RTSP.Listen, cfg.SRT.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.RTSP.UDPRTP, cfg.RTSP.UDPRTCP = "", ""
	cfg.DataDir = b.TempDir()
	cfg.Sources = []ingest.SourceConfig{{Name: "cam1"}}
	cfg.Replay.Enabled = true
	cfg.Replay.Buffer = Duration(span)
	a, err := start(&cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	cam := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60", "-b:v", "6M", "-maxrate", "6M", "-bufsize", "6M",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", a.rtmpURL("cam1"))
	if err := cam.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cam.Process.Kill()
		_ = cam.Wait()
	}()
	buf := func() *replay.Buffer { return a.replay.Buffer("cam1") }
	deadline := time.Now().Add(2*span + 30*time.Second)
	for {
		if bb := buf(); bb != nil {
			if _, _, s := bb.Size(); s >= span {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("the buffer did not fill %s within %s", span, 2*span+30*time.Second)
		}
		time.Sleep(200 * time.Millisecond)
	}
	units, _ := buf().Snapshot()
	n, held, s := buf().Size()
	var payload int64
	for _, u := range units {
		payload += int64(u.Size())
	}
	rate := float64(payload) / s.Seconds() // bytes/s the camera sends
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	// CPU of the buffer: the same units again, through a stream and a reader
	st := media.NewStream()
	rd := st.NewReader(len(units) * 2)
	fresh := replay.NewBuffer(span, replay.DefaultMaxBytes)
	done := make(chan time.Duration)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c0 := threadCPU()
		for range units {
			u, err := rd.Next(context.Background())
			if err != nil {
				break
			}
			fresh.Add(u, time.Now())
		}
		done <- threadCPU() - c0
	}()
	runtime.LockOSThread()
	w0 := threadCPU()
	for _, u := range units {
		st.WriteUnit(u)
	}
	writeCPU := threadCPU() - w0
	runtime.UnlockOSThread()
	readCPU := <-done
	perSecond := float64(writeCPU+readCPU) / s.Seconds() // CPU for one second of camera
	b.ReportMetric(float64(held)/1e6, "MB_held")
	b.ReportMetric(rate*span.Seconds()/1e6, "MB_bitrate×buffer")
	b.ReportMetric(float64(n), "units")
	b.ReportMetric(perSecond/float64(time.Second)*100, "cpu_%_of_a_core")
	fmt.Printf("replay buffer, one 1080p30 camera at %.1f Mbit/s, %s: %.1f MB held (bitrate × buffer %.1f MB), %d units, CPU %.4f %% of a core (process heap %.0f MB)\n",
		rate*8/1e6, span, float64(held)/1e6, rate*span.Seconds()/1e6, n, perSecond/float64(time.Second)*100, float64(ms.HeapAlloc)/1e6)
}

// threadCPU is the calling thread's CPU time (user and system), from
// getrusage(RUSAGE_THREAD).
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
