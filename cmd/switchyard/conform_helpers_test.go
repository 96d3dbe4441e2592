package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Test cameras for the conform test: each picture is a bar code of its
// frame number, machine-read from the pixels (no OCR): a 16×4 grid of
// cells (20×60 pixels at 320×240), row 0 the counter's 16 bits (white 1,
// black 0, least significant on the left), row 1 the camera's number in
// its first 4 cells, row 2 row 0 inverted (a check that a cell is not a
// blend), row 3 grey. Drawn by geq on a 16×4 picture, scaled up without
// filtering, so every cell is flat: x264 keeps it within a few levels.

const (
	barW, barH = 16, 4
	barLow     = 16  // black, on the limited range
	barHigh    = 235 // white
)

// barCamera returns ffmpeg's inputs and codecs for camera id at rate (e.g.
// "30000/1001"): the bar code, a tone, H.264 (with B-frames when bframes;
// else without, as an encoder tuned for latency) and AAC.
func barCamera(id int, rate string, gop int, bframes bool) []string {
	bit := func(v string) string { return fmt.Sprintf("mod(floor(%s/pow(2,X)),2)", v) }
	lum := fmt.Sprintf("%d+%d*if(eq(Y,0),%s,if(eq(Y,1),%s*lt(X,4),if(eq(Y,2),1-%s,0.5)))",
		barLow, barHigh-barLow, bit("N"), bit(fmt.Sprint(id)), bit("N"))
	video := fmt.Sprintf("color=c=black:s=%dx%d:r=%s,format=yuv420p,geq=lum='%s':cb=128:cr=128,scale=320:240:flags=neighbor",
		barW, barH, rate, lum)
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", video,
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000", 300+200*id),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", fmt.Sprint(gop), "-pix_fmt", "yuv420p", "-b:v", "400k"}
	if bframes {
		args = append(args, "-bf", "2")
	} else {
		args = append(args, "-tune", "zerolatency")
	}
	return append(args, "-c:a", "aac", "-b:a", "64k")
}

// bars is one decoded picture: its cells' luma.
type bars [barW * barH]byte

// read returns the counter and the camera's number, ok when every cell is
// clearly black or white and row 2 is row 0 inverted.
func (b bars) read() (n, id int, ok bool) {
	ok = true
	bit := func(v byte) int {
		if v > (barLow+barHigh)/2 {
			return 1
		}
		return 0
	}
	clear := func(v byte) bool { return v < barLow+60 || v > barHigh-60 }
	for x := range barW {
		a, inv := b[x], b[2*barW+x]
		if !clear(a) || !clear(inv) || bit(a) == bit(inv) {
			ok = false
		}
		n |= bit(a) << x
	}
	for x := range 4 {
		if !clear(b[barW+x]) {
			ok = false
		}
		id |= bit(b[barW+x]) << x
	}
	return n, id, ok
}

// blendOf is what the mixer's dissolve makes of a and b at position w/256
// (draw.Mix).
func blendOf(a, b bars, w int) bars {
	var out bars
	for i := range out {
		out[i] = byte((int(a[i])*(256-w) + int(b[i])*w + 128) >> 8)
	}
	return out
}

// blendErr is how far a picture's cells are from a blend, in all.
func blendErr(got, a, b bars, w int) int {
	e := 0
	for i, v := range blendOf(a, b, w) {
		d := int(got[i]) - int(v)
		e += max(d, -d)
	}
	return e
}

// bestBlend reports whether got is the blend at w/256 of the outgoing
// picture out(0) and the incoming in(0) rather than of any of their
// neighbours (out(±1, ±2), in(±1, ±2)): the program encoder blurs a
// dissolve's cells by more than a tolerance would allow, but a
// neighbouring picture (its counter's bits differ) is always further. A
// neighbour exactly as near is a tie (a side weighted too little to tell).
func bestBlend(got bars, w int, out, in func(d int64) (bars, bool)) bool {
	a0, ok1 := out(0)
	b0, ok2 := in(0)
	if !ok1 || !ok2 {
		return false
	}
	e0 := blendErr(got, a0, b0, w)
	if e0 > 20*len(got) {
		return false // nothing like the blend
	}
	for da := int64(-2); da <= 2; da++ {
		for db := int64(-2); db <= 2; db++ {
			a, ok1 := out(da)
			b, ok2 := in(db)
			if (da != 0 || db != 0) && ok1 && ok2 && blendErr(got, a, b, w) < e0 {
				return false
			}
		}
	}
	return true
}

// decodeBars decodes every frame of a file's video at its frame rate, as
// an editor's timeline counts them (a frame a frame time, from the file's
// start), each reduced to its cells' mean luma.
func decodeBars(t *testing.T, file, rate string) []bars {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", file, "-map", "0:v",
		"-vf", fmt.Sprintf("scale=%d:%d:flags=area", barW, barH), "-fps_mode", "cfr", "-r", rate,
		"-pix_fmt", "yuv420p", "-f", "rawvideo", "-").Output()
	require.NoError(t, err, file)
	const size = barW*barH + 2*(barW/2)*(barH/2)
	require.Zero(t, len(out)%size, file)
	frames := make([]bars, len(out)/size)
	for i := range frames {
		copy(frames[i][:], out[i*size:])
	}
	return frames
}

// parseSoak reads SOAK: empty is no soak.
func parseSoak(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration (e.g. 10m): the soak would not run as long as asked", soakEnv, v)
	}
	return d, nil
}

func TestParseSoak(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "10m": 10 * time.Minute, "90s": 90 * time.Second} {
		d, err := parseSoak(v)
		require.NoError(t, err, v)
		require.Equal(t, want, d, v)
	}
	for _, v := range []string{"10", "ten minutes", "-5m", "0s", "10mins"} {
		_, err := parseSoak(v)
		require.Error(t, err, v)
	}
}

// chapters lists a file's chapters as ffprobe reads them.
func chapters(t *testing.T, file string) (titles []string, starts []float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_chapters", "-of", "json", file).Output()
	require.NoError(t, err)
	var doc struct {
		Chapters []struct {
			StartTime string            `json:"start_time"`
			Tags      map[string]string `json:"tags"`
		} `json:"chapters"`
	}
	require.NoError(t, json.Unmarshal(out, &doc))
	for _, c := range doc.Chapters {
		titles = append(titles, c.Tags["title"])
		starts = append(starts, f64(c.StartTime))
	}
	return titles, starts
}

// mediainfoVideo returns a field of mediainfo's video track.
func mediainfoVideo(t *testing.T, file, field string) string {
	t.Helper()
	out, err := exec.Command("mediainfo", "--Inform=Video;%"+field+"%", file).Output()
	require.NoError(t, err, "mediainfo (make deps installs it)")
	return string(bytes.TrimSpace(out))
}

// mediainfoAudio returns a field of mediainfo's audio track.
func mediainfoAudio(t *testing.T, file, field string) string {
	t.Helper()
	out, err := exec.Command("mediainfo", "--Inform=Audio;%"+field+"%", file).Output()
	require.NoError(t, err, "mediainfo (make deps installs it)")
	return string(bytes.TrimSpace(out))
}
