package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"switchyard/ingest"
	"switchyard/internal/servers/webrtc/whiptest"
)

// BenchmarkWebRTC: the CPU each WHIP guest (320×240 H.264 and Opus from a
// pion sender, decoded by the mixer) and each WHEP viewer of the program
// (H.264 passed through, the AAC transcoded to Opus once for all) adds
// to a running 720p30 show. The peers are pion clients in this process,
// so the figures include their side too: an upper bound of the server's.
func BenchmarkWebRTC(b *testing.B) {
	const window = 10 * time.Second
	h264, opus := whiptest.Media(b)
	names := []string{"g1", "g2", "g3", "g4"}
	cfg := benchConfig(b, 1280, 720)
	for _, n := range names {
		cfg.Sources = append(cfg.Sources, ingest.SourceConfig{Name: n})
	}
	cfg.Sources = append(cfg.Sources, ingest.SourceConfig{Name: "bars", URL: "gen://tone"})
	a := benchStart(b, &cfg)
	if _, err := a.mixer.Switcher().SetProgram("bars"); err != nil {
		b.Fatal(err)
	}
	measure := func() float64 {
		time.Sleep(2 * time.Second)
		c0 := selfCPU()
		time.Sleep(window)
		return (selfCPU() - c0).Seconds() / window.Seconds()
	}
	base := measure()
	fmt.Printf("\nWebRTC on a 720p30 show (pion peers in this process, their CPU included):\n  nothing: %.3f cores\n", base)
	for i, n := range names {
		c := whiptest.New(b, webrtc.MimeTypeH264)
		an, err := a.webrtc.Publish(n, "", c.Offer(b))
		if err != nil {
			b.Fatal(err)
		}
		c.Send(b, an.SDP, h264, opus)
		waitLiveTB(b, a, n)
		if i == 0 {
			one := measure()
			b.ReportMetric((one-base)*100, "%core/guest@1")
			fmt.Printf("  1 guest: %.3f cores\n", one)
		}
	}
	four := measure()
	b.ReportMetric((four-base)/4*100, "%core/guest@4")
	fmt.Printf("  4 guests: %.3f cores, %.1f %% of a core each\n", four, (four-base)/4*100)

	viewers := 0
	for _, want := range []int{1, 10} {
		for ; viewers < want; viewers++ {
			v := whiptest.NewViewer(b)
			an, err := a.webrtc.Play("program", "", v.Offer(b))
			if err != nil {
				b.Fatal(err)
			}
			v.Answered(b, an.SDP)
		}
		c := measure()
		b.ReportMetric((c-four)/float64(want)*100, fmt.Sprintf("%%core/viewer@%d", want))
		fmt.Printf("  %d WHEP viewers of the program: %.3f cores, %.2f %% of a core each\n", want, c, (c-four)/float64(want)*100)
	}
}
