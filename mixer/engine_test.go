package mixer

import (
	"bytes"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"switchyard/media/av"
)

// x264Threads encodes one program frame with the engine's encoder and
// returns x264's own account of its threads (from the settings it writes
// into the first keyframe), e.g. "threads=1 lookahead_threads=1".
func x264Threads(t *testing.T, cfg Config) string {
	t.Helper()
	e, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var out []byte
	if err := e.venc.Encode(e.black, 0, true, func(p av.Packet) { out = append(out, p.Data...) }); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(out, []byte(" threads="))
	if i < 0 {
		t.Fatalf("no x264 settings in the first frame (%d bytes)", len(out))
	}
	end := bytes.IndexByte(out[i+1:], ' ')
	return string(out[i+1 : i+1+end])
}

// TestEncodeThreadsBySize: a program up to 720p is encoded on one x264
// thread (no per-frame slice threads to wake), a larger one on x264's own
// choice, and an explicit count is used as given.
func TestEncodeThreadsBySize(t *testing.T) {
	base := Config{FPSNum: 30, FPSDen: 1, VideoBitrateBPS: 2_000_000, AudioBitrateBPS: 128_000}
	c720 := base
	c720.Width, c720.Height = 1280, 720
	if got := x264Threads(t, c720); got != "threads=1" {
		t.Errorf("720p program: x264 runs %s, want threads=1", got)
	}
	c1080 := base
	c1080.Width, c1080.Height = 1920, 1080
	if got := x264Threads(t, c1080); runtime.NumCPU() > 1 && got == "threads=1" {
		t.Errorf("1080p program on %d CPUs: x264 runs %s, want its own choice of more", runtime.NumCPU(), got)
	}
	c1080.EncodeThreads = 3
	if got := x264Threads(t, c1080); got != "threads=3" {
		t.Errorf("1080p program with EncodeThreads 3: x264 runs %s", got)
	}
}
