package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"switchyard/ingest/clip"
	"switchyard/internal/servers/webrtc/whiptest"
	"switchyard/output/record"
)

// makeCodecClip writes a 320x240 30 fps clip of frames frames whose frame
// N is grey with luma 24+4N (as makeCounterClip), with a 440 Hz tone, in
// the codecs args name (ffmpeg output options: -c:v …, -c:a …).
func makeCodecClip(t *testing.T, path string, frames int, args ...string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	in := []string{"-v", "error", "-y", "-f", "lavfi", "-i",
		fmt.Sprintf("color=black:s=320x240:r=30:d=%.4f,format=yuv420p,geq=lum='24+4*N':cb=128:cr=128", float64(frames)/30),
		"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000"}
	out, err := exec.Command("ffmpeg", append(append(in, args...), "-shortest", path)...).CombinedOutput()
	require.NoError(t, err, string(out))
}

// hasFFmpeg reports whether the ffmpeg build lists name among its encoders
// or decoders (what: "-encoders", "-decoders").
func hasFFmpeg(t *testing.T, what, name string) bool {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", what).Output()
	require.NoError(t, err)
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == name {
			return true
		}
	}
	return false
}

// playsEveryFrame cuts source (autoplay on-program) to program from cam
// and checks that the cut's frame shows the clip's frame 0 and the program
// then steps through every one of its n frames in order, none skipped.
func playsEveryFrame(t *testing.T, a *app, frames *programFrames, source string, n int) {
	t.Helper()
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam"}`, nil)
	st := cutOnNextFrame(t, a, "/program", fmt.Sprintf(`{"source":%q}`, source))
	require.Equal(t, -1, clipFrame(frames.frame(t, st.Frame-1)), "%s: the camera before the cut", source)
	require.Equal(t, 0, clipFrame(frames.frame(t, st.Frame)), "%s: the cut's frame shows the clip's frame 0", source)
	prev, seen := 0, map[int]bool{0: true}
	for i := int64(1); i < int64(n)+30 && prev < n-1; i++ {
		f := clipFrame(frames.frame(t, st.Frame+i))
		require.GreaterOrEqual(t, f, prev, "%s: program frame %d: clip frame %d after %d", source, st.Frame+i, f, prev)
		require.LessOrEqual(t, f-prev, 1, "%s: program frame %d skipped clip frames %d to %d", source, st.Frame+i, prev, f)
		prev, seen[f] = f, true
	}
	require.Equal(t, n-1, prev, "%s: the clip played to its last frame", source)
	require.Len(t, seen, n, "%s: every frame of the clip was on program", source)
}

// Clips of codecs other than H.264/H.265 play on program through the
// mixer's decoder like a camera's: ProRes 422 with PCM sound in MOV, VP9
// with Opus in WebM, MPEG-2 with B-frames in Matroska, and AV1 when the
// build decodes it. Each plays from frame 0 when cut to program, every
// frame in order, its sound heard. The re-servers that carry only
// H.264/H.265 refuse them with the reason; the upload of one is accepted,
// that of a file FFmpeg opens but cannot decode refused.
func TestClipCodecsOnProgram(t *testing.T) {
	mustHaveTools(t)
	data := t.TempDir()
	dir := filepath.Join(data, "clips")
	const n = 45
	makeCodecClip(t, filepath.Join(dir, "count.mov"), n, "-c:v", "prores_ks", "-profile:v", "2", "-c:a", "pcm_s16le")
	makeCodecClip(t, filepath.Join(dir, "count.webm"), n, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-crf", "10", "-b:v", "0", "-c:a", "libopus")
	makeCodecClip(t, filepath.Join(dir, "count.mkv"), n, "-c:v", "mpeg2video", "-q:v", "2", "-bf", "2", "-g", "15", "-c:a", "mp2")
	sources := `
  - { name: pr, url: "file:count.mov", autoplay: on-program }
  - { name: vp, url: "file:count.webm", autoplay: on-program }
  - { name: m2, url: "file:count.mkv", autoplay: on-program }`
	av1 := hasFFmpeg(t, "-encoders", "libsvtav1") && hasFFmpeg(t, "-decoders", "libdav1d")
	if av1 {
		makeCodecClip(t, filepath.Join(dir, "count-av1.mkv"), n, "-c:v", "libsvtav1", "-preset", "12", "-crf", "20", "-g", "15", "-c:a", "libopus")
		sources += `
  - { name: a1, url: "file:count-av1.mkv", autoplay: on-program }`
	}
	a, _ := startFromFile(t, loopbackShowIn(data)+`sources:
  - { name: cam, url: "gen://color?c=red" }`+sources+"\n")
	waitLive(t, a, "cam")
	names := []string{"pr", "vp", "m2"}
	if av1 {
		names = append(names, "a1")
	} else {
		t.Log("AV1 left out: this ffmpeg has no libsvtav1 encoder or libdav1d decoder")
	}
	for _, s := range names {
		waitLive(t, a, s)
		require.Equal(t, clip.StateCued, playerOf(t, a, s).State, s)
	}

	frames := decodeProgram(t, a)
	frames.started(t)
	for _, s := range names {
		playsEveryFrame(t, a, frames, s, n)
	}

	// its sound: the ProRes clip's PCM tone is heard on program
	mustAPI(t, "POST", a.apiURL("/sources/pr/player"), `{"action":"seek","position_s":0}`, nil)
	mustAPI(t, "POST", a.apiURL("/sources/pr/player"), `{"action":"play"}`, nil)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"pr"}`, nil)
	waitFor(t, 10*time.Second, "the ProRes clip's PCM sound is heard", func() bool {
		return a.mixer.Sound().TakeLevels().Sources["pr"].PeakDB > -30
	})

	// RTSP and WebRTC carry H.264/H.265 only: refused with the reason
	out, err := exec.Command("ffmpeg", "-hide_banner", "-rtsp_transport", "tcp", "-i", a.rtspURL("pr"), "-t", "0.5", "-f", "null", "-").CombinedOutput()
	require.Error(t, err, "an RTSP reader of the ProRes clip is refused")
	require.Contains(t, string(out), "404", "%s", out)
	res, whep := whipPost(t, "POST", "http://"+a.http.Addr().String()+"/whep/pr", "application/sdp", "", "", whiptest.NewViewerOf(t, webrtc.MimeTypeH264).Offer(t))
	require.Equal(t, http.StatusBadRequest, res.StatusCode, whep)
	require.Contains(t, whep, "prores", "the viewer is told why")

	// uploads: a VP9 clip is accepted; a file FFmpeg opens but cannot
	// decode (ProRes whose pictures are zeroed) is refused with the reason
	good, err := os.ReadFile(filepath.Join(dir, "count.webm"))
	require.NoError(t, err)
	code, body := putClip(t, a, "spot.webm", good)
	require.Equal(t, http.StatusCreated, code, body)
	require.Contains(t, body, `"video":"vp9"`)
	bad, err := os.ReadFile(filepath.Join(dir, "count.mov"))
	require.NoError(t, err)
	zeroPictures(t, bad)
	code, body = putClip(t, a, "broken.mov", bad)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "cannot be decoded", body)
	require.Contains(t, body, "ffmpeg -i IN -c:v libx264", body)
	require.Equal(t, "pr", a.mixer.Switcher().State().Program, "nothing on program disturbed")

	// the ISO recording (MP4 of H.264/H.265) cannot take ProRes: that
	// source fails with the reason, the program is recorded
	var in record.Info
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/recording/start"), ``, &in))
	waitFor(t, 20*time.Second, "the ProRes clip's ISO fails with its reason", func() bool {
		var list []record.Info
		mustAPI(t, "GET", a.apiURL("/recordings"), "", &list)
		for _, r := range list {
			for _, s := range r.Sources {
				if s.Name == "pr" && s.State == "failed" && strings.Contains(s.Error, "prores video cannot be recorded") {
					return true
				}
			}
		}
		return false
	})
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/recording/stop"), ``, &in))
	programFile := false
	for _, f := range in.Files {
		programFile = programFile || f.Source == "program"
	}
	require.True(t, programFile, "the program is recorded: %+v", in.Files)
}

// putClip uploads body as the clip name; the status and the answer.
func putClip(t *testing.T, a *app, name string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest("PUT", a.apiURL("/clips/"+name), strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// zeroPictures zeroes every ProRes frame of a MOV file in place (each
// begins with its size and "icpf"), leaving the container intact: FFmpeg
// opens it and cannot decode a picture.
func zeroPictures(t *testing.T, b []byte) {
	t.Helper()
	found := 0
	for i := 4; i+4 <= len(b); i++ {
		if string(b[i:i+4]) == "icpf" {
			size := int(b[i-4])<<24 | int(b[i-3])<<16 | int(b[i-2])<<8 | int(b[i-1])
			end := min(len(b), i-4+size)
			clear(b[i:end])
			found++
			i = end
		}
	}
	require.NotZero(t, found, "ProRes frames in the file")
}

// A clip with B-frames (x264 -bf 3, one key frame: the held picture's
// decode is long) shows its last frames, every one in order, when it ends
// and holds, and at each loop: its last unit has the mixer's decoder give
// up the pictures it holds for reordering at once (media.Unit.End), not
// when the held picture or the loop's first unit comes, too late for the
// next-to-last frame's time.
func TestClipBFramesEnd(t *testing.T) {
	mustHaveTools(t)
	data := t.TempDir()
	const n = 45
	p := filepath.Join(data, "clips", "bf.mp4")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
		fmt.Sprintf("color=black:s=640x480:r=30:d=%.4f,format=yuv420p,geq=lum='24+4*N':cb=128:cr=128", float64(n)/30),
		"-f", "lavfi", "-i", "sine=sample_rate=48000", "-c:v", "libx264", "-bf", "3", "-g", "300", "-c:a", "aac", "-shortest", p).CombinedOutput()
	require.NoError(t, err, string(out))
	probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pict_type", "-of", "csv=p=0", p).Output()
	require.NoError(t, err)
	require.Contains(t, string(probe), "B", "the clip has B-frames")
	a, _ := startFromFile(t, loopbackShowIn(data)+`sources:
  - { name: cam, url: "gen://color?c=red" }
  - { name: held, url: "file:bf.mp4", autoplay: on-program }
  - { name: looped, url: "file:bf.mp4", autoplay: on-program, loop: true }
`)
	waitLive(t, a, "cam")
	waitLive(t, a, "held")
	waitLive(t, a, "looped")
	frames := decodeProgram(t, a)
	frames.started(t)
	frameOf := clipFrame

	// from the frame the program shows clip frame n-10 on: every frame in
	// order to the last (what the issue is about: the clip's end)
	toEnd := func(what string, from int64) (next int64) {
		i := from
		for ; ; i++ {
			require.Less(t, i, from+3*n, "%s: clip frame %d on program", what, n-10)
			if f := frameOf(frames.frame(t, i)); f >= n-10 && f < n-5 {
				break
			}
		}
		prev := frameOf(frames.frame(t, i))
		seen := map[int]bool{prev: true}
		for i++; prev < n-1; i++ {
			require.Less(t, i, from+4*n, "%s: the clip's last frame on program", what)
			f := frameOf(frames.frame(t, i))
			require.GreaterOrEqual(t, f, prev, "%s: program frame %d: clip frame %d after %d", what, i, f, prev)
			require.LessOrEqual(t, f-prev, 1, "%s: program frame %d skipped clip frames %d to %d", what, i, prev, f)
			prev, seen[f] = f, true
		}
		for k := n - 5; k < n; k++ {
			require.True(t, seen[k], "%s: clip frame %d (of the last five) was on program", what, k)
		}
		return i
	}

	// hold: the last frames, every one in order, then the last held
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam"}`, nil)
	st := cutOnNextFrame(t, a, "/program", `{"source":"held"}`)
	i := toEnd("held", st.Frame)
	for j := i; j < i+10; j++ {
		require.Equal(t, n-1, frameOf(frames.frame(t, j)), "held: program frame %d holds the last frame", j)
	}

	// loop: three rounds, each ending on its last five frames in order
	// and the next starting at frame 0
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam"}`, nil)
	st = cutOnNextFrame(t, a, "/program", `{"source":"looped"}`)
	i = st.Frame
	for round := range 3 {
		i = toEnd(fmt.Sprintf("loop round %d", round), i)
		for frameOf(frames.frame(t, i)) == n-1 {
			i++
		}
		require.Equal(t, 0, frameOf(frames.frame(t, i)), "loop round %d: the next starts at frame 0", round)
	}
}
