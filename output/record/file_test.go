package record

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"switchyard/media"
)

// encode runs ffmpeg and returns what it wrote to stdout.
func encode(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v", args, err)
	}
	return out
}

// TestFileTimestampsStayExact: 3 s of 30 fps video and AAC audio written at
// session times with an offset that is no whole number of ticks come out
// of the file on those times — no sample's duration loses a fraction of a
// tick that would add up across a fragment (2999 ticks a frame instead of
// 3000 drifted 20 ticks a second and made neighbouring frames collide for
// tools that round to the frame rate). It ends both ways a recording can:
// on a frame inside a fragment, and on a frame that begins a fragment alone
// (one second of fragment holds frames 60–89, so frame 90 is written by
// close; it once took the previous fragment's base time, a second early).
func TestFileTimestampsStayExact(t *testing.T) {
	video, aus := h264Pictures(t, 91)
	adts := encode(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3.1", "-c:a", "aac", "-f", "adts", "-")

	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(adts); err != nil {
		t.Fatal(err)
	}
	asc, err := (&mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelCount: pkts[0].ChannelCount}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	audio, err := media.NewAACTrack(asc)
	if err != nil {
		t.Fatal(err)
	}

	for _, frames := range []int{90, 91} {
		t.Run(strconv.Itoa(frames)+" frames", func(t *testing.T) {
			checkFileTimestamps(t, video, audio, aus[:frames], pkts)
		})
	}
}

// h264Pictures encodes n pictures of 320×240 at 30 fps (a key frame each
// second, no B-frames) and returns their track and access units.
func h264Pictures(t *testing.T, n int) (*media.Track, [][][]byte) {
	t.Helper()
	es := encode(t, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-frames:v", strconv.Itoa(n), "-c:v", "libx264",
		"-preset", "ultrafast", "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p", "-f", "h264", "-")
	video, err := media.H264TrackFromAnnexB(es, 30) // its parameter sets
	if err != nil {
		t.Fatal(err)
	}
	var aus [][][]byte
	for _, nalu := range media.AnnexBNALUs(es) { // a whole stream: more NAL units than one access unit may hold
		if typ := h264.NALUType(nalu[0] & 0x1f); typ == h264.NALUTypeIDR || typ == h264.NALUTypeNonIDR {
			aus = append(aus, [][]byte{nalu}) // one slice per picture (x264's default)
		}
	}
	return video, aus
}

func checkFileTimestamps(t *testing.T, video, audio *media.Track, aus [][][]byte, pkts mpeg4audio.ADTSPackets) {
	path := filepath.Join(t.TempDir(), "cam1.mp4")
	w, err := newFileWriter(path, fileConfig{Video: video, Audio: audio, Fragment: time.Second, Wall0: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	const anchor = 1234567 * time.Nanosecond // session time of the camera's 0
	vt := func(k int) time.Duration { return anchor + time.Duration(k*3000)*time.Second/90000 }
	at := func(j int) time.Duration { return anchor + time.Duration(j*1024)*time.Second/48000 }
	for k, j := 0, 0; k < len(aus); k++ {
		u := &media.Unit{Track: video, Key: k%30 == 0, Data: aus[k]}
		if err := w.writeUnit(u, vt(k), vt(k)); err != nil {
			t.Fatal(err)
		}
		for ; j < len(pkts) && at(j) < vt(k+1); j++ {
			if err := w.writeUnit(&media.Unit{Track: audio, Key: true, Data: [][]byte{pkts[j].AU}}, at(j), at(j)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts,dts",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var vts, ats []int64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		pts, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "0":
			vts = append(vts, pts)
		case "1":
			ats = append(ats, pts)
		} // 2: the timecode
	}
	if len(vts) != len(aus) || len(ats) < 100 {
		t.Fatalf("%d video and %d audio packets read back, want %d and ≥ 100", len(vts), len(ats), len(aus))
	}
	for k, v := range vts {
		if want := ticks(vt(k)-anchor, videoTimescale); v < want-1 || v > want+1 {
			t.Fatalf("video frame %d at %d ticks, want %d (±1): the file drifts from the session's times", k, v, want)
		}
	}
	for j, a := range ats {
		if want := ticks(at(j)-anchor, 48000); a < want-1 || a > want+1 {
			t.Fatalf("audio frame %d at %d, want %d (±1)", j, a, want)
		}
	}
	if msg, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(bytes.TrimSpace(msg)) > 0 {
		t.Fatalf("the file does not decode cleanly: %v %s", err, msg)
	}
}
