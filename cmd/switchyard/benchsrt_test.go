package main

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	"switchyard/ingest"
	"switchyard/internal/testpeer"
	"switchyard/output/push"
)

// BenchmarkSRTCost: what a camera and a destination cost over SRT beside
// the same over RTMP (issue 24). Cameras: 4 × 720p30 pushed by ffmpeg -c
// copy, over RTMP, then the same over SRT (MPEG-TS, 120 ms latency), each
// set measured against the show with none; Switchyard's CPU per camera
// (ingest, decode) for each. Destinations: 5 RTMP destinations (nginx-rtmp)
// and 5 SRT destinations (ffmpeg listening), sharing the program encode;
// the extra CPU per destination for each.
func BenchmarkSRTCost(b *testing.B) {
	in, err := benchInput()
	if err != nil {
		b.Fatal(err)
	}
	const window, n = 15 * time.Second, 4
	names := []string{"cam1", "cam2", "cam3", "cam4"}
	ng := testpeer.StartNginx(b) // before the app, so it outlives it at clean-up
	a := benchApp(b, 1280, 720, names...)
	base, _ := measureShow(a, 2*time.Second, window)
	fmt.Printf("\nSRT beside RTMP: %d × 720p30 cameras (ffmpeg -c copy), then 5 destinations sharing the program encode:\n", n)
	fmt.Printf("  no camera: %.3f cores\n", base)
	perCamera := map[string]float64{}
	for _, proto := range []string{"rtmp", "srt"} {
		var pushers []*exec.Cmd
		for _, name := range names {
			if proto == "rtmp" {
				pushers = append(pushers, pushFile(b, a, name, in))
				continue
			}
			cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", in, "-c", "copy",
				"-f", "mpegts", "srt://"+a.srt.Addr().String()+"?streamid=publish:"+name+"&latency=120000")
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { stopPush(cmd) })
			pushers = append(pushers, cmd)
		}
		waitAllLive(b, a, names...)
		cpu, st := measureShow(a, 3*time.Second, window)
		perCamera[proto] = (cpu - base) / n * 100
		b.ReportMetric(perCamera[proto], "%core/camera-"+proto)
		fmt.Printf("  %d cameras over %-4s: %.3f cores, %.1f %% of a core a camera (%d late program frames)\n", n, proto, cpu, perCamera[proto], st.Late)
		for _, p := range pushers {
			stopPush(p)
		}
		waitFor(b, 30*time.Second, "the cameras gone (an SRT publisher that went silent is cut after its read timeout)", func() bool {
			for _, name := range names {
				if s, _ := a.registry.Get(name); s.Status().State != ingest.StateOffline {
					return false
				}
			}
			return true
		})
	}
	fmt.Printf("  a camera over SRT costs %.1f %% of a core more than over RTMP\n", perCamera["srt"]-perCamera["rtmp"])

	pushFile(b, a, "cam1", in)
	waitAllLive(b, a, "cam1")
	if _, err := a.mixer.Switcher().SetProgram("cam1"); err != nil {
		b.Fatal(err)
	}
	base, _ = measureShow(a, 2*time.Second, window)
	for _, proto := range []string{"rtmp", "srt"} {
		const dests = 5
		for i := range dests {
			url := ng.URL(fmt.Sprintf("k%d", i))
			if proto == "srt" {
				port := freeUDPPort(b)
				cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i",
					fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120000", port), "-c", "copy", "-f", "null", "-")
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { stopPush(cmd) })
				waitUDPBound(b, port)
				url = fmt.Sprintf("srt://127.0.0.1:%d?latency=120", port)
			}
			if _, err := a.outputs.Add(push.Config{Name: fmt.Sprintf("%s%d", proto, i), URL: url, Enabled: true}); err != nil {
				b.Fatal(err)
			}
		}
		waitFor(b, 30*time.Second, "the destinations live", func() bool {
			live := 0
			for _, st := range a.outputs.List() {
				if st.State == push.StateLive {
					live++
				}
			}
			return live == dests
		})
		c, _ := measureShow(a, 2*time.Second, window)
		per := (c - base) / dests * 100
		b.ReportMetric(per, "%core/dest-"+proto)
		fmt.Printf("  %d destinations over %-4s: %.3f cores, %.2f %% of a core a destination\n", dests, proto, c, per)
		for i := range dests {
			if err := a.outputs.Remove(fmt.Sprintf("%s%d", proto, i)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
