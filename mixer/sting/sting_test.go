package sting

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/internal/fault"
	"switchyard/media/color"
	"switchyard/mixer/clock"
)

// vf draws pure green over the left half of 320x240, opaque from 200 ms to
// 600 ms, transparent elsewhere.
const vf = "format=rgba,geq=r='0':g='255':b='0':a='if(lt(X,160)*between(T,0.2,0.6),255,0)'"

func makeClip(t *testing.T, name string, sound bool, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	path := filepath.Join(t.TempDir(), name)
	in := []string{"-n", "19", "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=30:d=1," + vf}
	if sound {
		in = append(in, "-f", "lavfi", "-i", "sine=f=440:sample_rate=44100:d=1", "-shortest")
	}
	out, err := exec.Command("nice", append(append(in, args...), path)...).CombinedOutput()
	require.NoError(t, err, string(out))
	return path
}

var opts = Options{Width: 160, Height: 120, Rate: clock.Rate{Num: 30, Den: 1}, SampleRate: 48000}

// Every alpha format the docs name decodes to the same layers: transparent
// before 200 ms, the green box opaque over the left half at 300 ms, clear on
// the right; VP9's alpha survives (libvpx-vp9, not FFmpeg's vp9).
func TestLoadAlphaFormats(t *testing.T) {
	green := color.FromRGB(0, 255, 0)
	for _, tc := range []struct {
		name, decoder string
		sound         bool
		args          []string
	}{
		{"prores.mov", "prores", true, []string{"-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "-c:a", "pcm_s16le"}},
		{"qtrle.mov", "qtrle", false, []string{"-c:v", "qtrle", "-pix_fmt", "argb"}},
		{"vp9.webm", "libvpx-vp9", true, []string{"-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-deadline", "realtime", "-c:a", "libopus"}},
		{"png.mov", "png", false, []string{"-c:v", "png", "-pix_fmt", "rgba"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.name, makeClip(t, tc.name, tc.sound, tc.args...), opts)
			require.NoError(t, err)
			require.Equal(t, tc.decoder, c.Decoder)
			require.Equal(t, 1000, c.DurationMS)
			require.Len(t, c.Frames, 30)
			require.True(t, c.At(3) == nil, "100 ms: transparent")
			require.True(t, c.At(25) == nil, "833 ms: transparent")
			l := c.At(9)
			require.True(t, l != nil, "300 ms: the box")
			require.Equal(t, 160, l.W)
			require.EqualValues(t, 255, l.A[60*160+20], "left: opaque")
			require.EqualValues(t, 0, l.A[60*160+140], "right: clear")
			require.InDelta(t, green.Y, l.Y[60*160+20], 3)
			require.InDelta(t, green.U, l.U[30*80+10], 3)
			require.InDelta(t, green.V, l.V[30*80+10], 3)
			require.Zero(t, l.Y[60*160+140], "premultiplied: nothing where clear")
			if tc.sound {
				require.InDelta(t, 2*48000, len(c.Audio), 2*2048, "a second of stereo at 48 kHz")
				peak := 0.0
				for _, v := range c.Audio {
					peak = max(peak, math.Abs(float64(v)))
				}
				require.InDelta(t, 0.125, peak, 0.02, "the tone (lavfi sine: 1/8)")
			} else {
				require.Nil(t, c.Audio)
			}
			require.Equal(t, int64(13*(160*120*2+3*80*60)), c.Bytes, "only the 13 pictures that show something")
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	opaque := makeClip(t, "opaque.mp4", false, "-c:v", "libx264", "-pix_fmt", "yuv420p")
	sting := makeClip(t, "sting.mov", false, "-c:v", "qtrle", "-pix_fmt", "argb")
	for _, tc := range []struct {
		name, path string
		o          Options
		want       string
	}{
		{"no alpha", opaque, opts, "has no alpha channel"},
		{"missing", filepath.Join(t.TempDir(), "nope.mov"), opts, "no such file"},
		{"too large", sting, Options{Width: 1920, Height: 1080, Rate: opts.Rate, SampleRate: 48000, MaxBytes: 32 << 20},
			"the mixer holds at most 32 MiB of a stinger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.name, tc.path, tc.o)
			var inv *fault.Invalid
			require.ErrorAs(t, err, &inv)
			require.Equal(t, "clip", inv.Field)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestLoadPNGSequence: a folder of numbered PNG pictures plays one a
// program frame, in the order of their names, with the same layers as the
// clip files; a file that is no PNG is skipped; a picture changed makes
// the loaded clip stale (Same); a link, a picture without alpha and an
// empty folder are refused with what to do.
func TestLoadPNGSequence(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	dir := filepath.Join(t.TempDir(), "sting")
	require.NoError(t, os.Mkdir(dir, 0o755))
	in := []string{"-n", "19", "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=30:d=1," + vf,
		"-c:v", "png", "-pix_fmt", "rgba", "-f", "image2", filepath.Join(dir, "%04d.png")}
	out, err := exec.Command("nice", in...).CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Thumbs.db"), []byte("not a picture"), 0o644))

	green := color.FromRGB(0, 255, 0)
	c, err := Load("sting", dir, opts)
	require.NoError(t, err)
	require.Equal(t, "png", c.Decoder)
	require.Equal(t, 1000, c.DurationMS, "30 pictures, one a program frame at 30 fps")
	require.Len(t, c.Frames, 30)
	require.True(t, c.At(3) == nil, "100 ms: transparent")
	require.True(t, c.At(25) == nil, "833 ms: transparent")
	l := c.At(9)
	require.True(t, l != nil, "300 ms: the box")
	require.EqualValues(t, 255, l.A[60*160+20], "left: opaque")
	require.EqualValues(t, 0, l.A[60*160+140], "right: clear")
	require.InDelta(t, green.Y, l.Y[60*160+20], 3)
	require.Nil(t, c.Audio)
	require.Equal(t, int64(13*(160*120*2+3*80*60)), c.Bytes, "only the 13 pictures that show something")
	require.True(t, c.Same(dir))

	// a 60 fps program: still one picture a frame (half a second)
	c60, err := Load("sting", dir, Options{Width: 160, Height: 120, Rate: clock.Rate{Num: 60, Den: 1}, SampleRate: 48000})
	require.NoError(t, err)
	require.Equal(t, 500, c60.DurationMS)

	// a picture replaced: the loaded clip is stale
	b, err := os.ReadFile(filepath.Join(dir, "0001.png"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0001.png"), append(b, 0), 0o644))
	require.False(t, c.Same(dir), "a changed picture")

	refused := func(what, path, want string) {
		t.Helper()
		_, err := Load("sting", path, opts)
		var inv *fault.Invalid
		require.ErrorAs(t, err, &inv, what)
		require.Equal(t, "clip", inv.Field)
		require.ErrorContains(t, err, want, what)
	}
	linked := filepath.Join(t.TempDir(), "linked")
	require.NoError(t, os.Mkdir(linked, 0o755))
	require.NoError(t, os.Symlink(filepath.Join(dir, "0002.png"), filepath.Join(linked, "0001.png")))
	refused("a link", linked, "not a regular file")
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	refused("an empty folder", empty, "no PNG pictures")
	opaque := filepath.Join(t.TempDir(), "opaque")
	require.NoError(t, os.Mkdir(opaque, 0o755))
	out, err = exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=64x64:d=0.1:r=30",
		"-pix_fmt", "rgb24", "-f", "image2", filepath.Join(opaque, "%04d.png")).CombinedOutput()
	require.NoError(t, err, string(out))
	refused("pictures without alpha", opaque, "has no alpha channel")
}
