package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// programFrames decodes the program's video units with ffmpeg, in order, and
// keeps every frame as thumb×thumb RGB pixels by its program frame index.
type programFrames struct {
	mu     sync.Mutex
	idx    []int64 // frame index of each unit fed, in order
	frames map[int64][]byte
	n      int // frames decoded so far
	cancel context.CancelFunc
	done   chan struct{}
	cmd    *exec.Cmd
}

func decodeProgram(t *testing.T, a *app) *programFrames {
	t.Helper()
	return decodeProgramAt(t, a, thumb, thumb)
}

// decodeProgramAt decodes the program as decodeProgram does, each frame as
// w×h RGB pixels (the program's size for checks exact to the pixel); it
// keeps the last 256 frames.
func decodeProgramAt(t *testing.T, a *app, w, h int) *programFrames {
	t.Helper()
	vt, _ := a.mixer.Targets().ProgramTracks()
	reader := a.mixer.Targets().Program().NewReader(1024)
	args := []string{"-map", "0:v", "-vf", fmt.Sprintf("scale=%d:%d", w, h), "-fps_mode", "passthrough",
		"-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"}
	if w == a.mixer.Config().Width && h == a.mixer.Config().Height {
		args = slices.Delete(args, 2, 4) // no scaling: the pixels as they are
	}
	// -analyzeduration: ffmpeg probes raw H.264 for 5 s of it by default
	// before it decodes a picture; a second finds the program's format (and
	// it reads on until a key frame brings the parameter sets, when later).
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-analyzeduration", "1000000", "-f", "h264", "-i", "pipe:0"},
		args...)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ctx, cancel := context.WithCancel(context.Background())
	p := &programFrames{frames: map[int64][]byte{}, cancel: cancel, done: make(chan struct{}), cmd: cmd}
	go func() { // feed
		defer stdin.Close()
		defer reader.Close()
		w := bufio.NewWriter(stdin)
		for {
			u, err := reader.Next(ctx)
			if err != nil {
				return
			}
			if u.Track != vt {
				continue
			}
			for _, n := range u.Data {
				w.Write([]byte{0, 0, 0, 1})
				w.Write(n)
			}
			p.mu.Lock()
			p.idx = append(p.idx, a.mixer.Config().FrameOf(u.PTS))
			p.mu.Unlock()
			if w.Flush() != nil {
				return
			}
		}
	}()
	go func() { // collect
		defer close(p.done)
		br := bufio.NewReader(stdout)
		for {
			buf := make([]byte, w*h*3)
			if _, err := io.ReadFull(br, buf); err != nil {
				return
			}
			p.mu.Lock()
			p.frames[p.idx[p.n]] = buf
			if w*h > 64*64 && p.n >= 256 { // full-size frames: the last 256
				delete(p.frames, p.idx[p.n-256])
			}
			p.n++
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

// stop ends the feed, which closes ffmpeg's input; ffmpeg then drains and
// exits. One that does not within 10 s is killed, so a hung decoder ends
// the test rather than the suite's timeout.
func (p *programFrames) stop() {
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done // its output closes with it
	}
	_ = p.cmd.Wait()
}

// started waits until the first frame is decoded and returns its index.
func (p *programFrames) started(t *testing.T) int64 {
	t.Helper()
	var first int64
	waitFor(t, 10*time.Second, "the first decoded program frame", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.n > 0 {
			first = p.idx[0]
			return true
		}
		return false
	})
	return first
}

// frame waits for program frame n and returns its pixels.
func (p *programFrames) frame(t *testing.T, n int64) []byte {
	t.Helper()
	var f []byte
	waitFor(t, 10*time.Second, "program frame decoded", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		f = p.frames[n]
		return f != nil
	})
	return f
}

// pixel returns the RGB of thumbnail pixel (x, y).
func pixel(f []byte, x, y int) rgb {
	i := (y*thumb + x) * 3
	return rgb{int(f[i]), int(f[i+1]), int(f[i+2])}
}

// average returns the mean colour of a thumbnail.
func average(f []byte) rgb {
	var c rgb
	for i := 0; i < len(f); i += 3 {
		c.R += int(f[i])
		c.G += int(f[i+1])
		c.B += int(f[i+2])
	}
	n := len(f) / 3
	return rgb{c.R / n, c.G / n, c.B / n}
}

// requireNear checks a decoded colour against r, g, b within 30 per channel.
func requireNear(t *testing.T, c rgb, r, g, b int, what string) {
	t.Helper()
	require.InDelta(t, r, c.R, 30, "%s: %s", what, c)
	require.InDelta(t, g, c.G, 30, "%s: %s", what, c)
	require.InDelta(t, b, c.B, 30, "%s: %s", what, c)
}
