package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/internal/protocols/rtmp"
	"switchyard/media"
)

// flvUnits encodes with ffmpeg to FLV (args: inputs and codecs: H.264 and
// AAC) and returns the access units with their timestamps in whole
// milliseconds, as an RTMP camera sends them.
func flvUnits(t *testing.T, args ...string) (video, audio *media.Track, units []*media.Unit) {
	t.Helper()
	b := encode(t, append(args, "-f", "flv", "-")...)
	require.True(t, len(b) > 13 && string(b[:3]) == "FLV")
	b = b[9+4:]
	for len(b) >= 11 {
		typ, size := b[0], int(b[1])<<16|int(b[2])<<8|int(b[3])
		ts := time.Duration(int32(uint32(b[7])<<24|uint32(b[4])<<16|uint32(b[5])<<8|uint32(b[6]))) * time.Millisecond
		require.LessOrEqual(t, 11+size+4, len(b))
		body := b[11 : 11+size]
		b = b[11+size+4:]
		switch typ {
		case 9:
			tag, err := rtmp.ParseVideoTag(body)
			require.NoError(t, err)
			if tag.PacketType == rtmp.AVCSequenceHeader {
				sps, pps, err := rtmp.ParseAVCConfig(tag.Body)
				require.NoError(t, err)
				video, err = media.NewH264Track(sps, pps, 0)
				require.NoError(t, err)
				continue
			}
			if tag.PacketType != rtmp.AVCNALU {
				continue
			}
			nalus, err := rtmp.SplitAVCC(tag.Body)
			require.NoError(t, err)
			units = append(units, &media.Unit{Track: video, DTS: ts, PTS: ts + tag.CompositionTime, Key: tag.Key, Data: nalus})
		case 8:
			tag, err := rtmp.ParseAudioTag(body)
			require.NoError(t, err)
			if tag.SequenceHeader {
				audio, err = media.NewAACTrack(tag.Body)
				require.NoError(t, err)
				continue
			}
			units = append(units, &media.Unit{Track: audio, DTS: ts, PTS: ts, Key: true, Data: [][]byte{tag.Body}})
		}
	}
	require.NotEmpty(t, units)
	return video, audio, units
}

// h265Units encodes n frames of H.265 at fps (no B-frames) and returns
// them at their times.
func h265Units(t *testing.T, n, fps int) (*media.Track, []*media.Unit) {
	t.Helper()
	es := encode(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=320x240:r=%d", fps), "-frames:v", strconv.Itoa(n), "-c:v", "libx265",
		"-preset", "ultrafast", "-x265-params", fmt.Sprintf("log-level=error:keyint=%d:bframes=0", fps), "-f", "hevc", "-")
	annexb := media.AnnexBNALUs(es) // a whole stream: more NAL units than one access unit may hold
	var vps, sps, pps []byte
	var units []*media.Unit
	var au [][]byte
	key := false
	flush := func() {
		if len(au) == 0 {
			return
		}
		at := time.Duration(len(units)) * time.Second / time.Duration(fps)
		units = append(units, &media.Unit{PTS: at, DTS: at, Key: key, Data: au})
		au, key = nil, false
	}
	for _, nalu := range annexb {
		switch typ := (nalu[0] >> 1) & 0x3f; {
		case typ == 32:
			vps = nalu
		case typ == 33:
			sps = nalu
		case typ == 34:
			pps = nalu
		case typ < 32:
			if nalu[2]&0x80 != 0 { // first_slice_segment_in_pic_flag
				flush()
			}
			au = append(au, nalu)
			key = key || (typ >= 16 && typ <= 21)
		}
	}
	flush()
	track, err := media.NewH265Track(vps, sps, pps)
	require.NoError(t, err)
	for _, u := range units {
		u.Track = track
		if u.Key { // ingest puts the parameter sets in front of a key unit
			u.Data = append([][]byte{track.VPS, track.SPS, track.PPS}, u.Data...)
		}
	}
	require.Len(t, units, n)
	return track, units
}

// mulawUnits encodes seconds of a tone as G.711 µ-law at 8 kHz in 20 ms packets.
func mulawUnits(t *testing.T, seconds float64) (*media.Track, []*media.Unit) {
	t.Helper()
	raw := encode(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", fmt.Sprint(seconds), "-c:a", "pcm_mulaw", "-f", "mulaw", "-")
	tr := &media.Track{Kind: media.KindAudio, Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1}
	var units []*media.Unit
	for i := 0; i+160 <= len(raw); i += 160 {
		at := time.Duration(i) * time.Second / 8000
		units = append(units, &media.Unit{Track: tr, PTS: at, DTS: at, Key: true, Data: [][]byte{raw[i : i+160]}})
	}
	return tr, units
}

// writeFile writes units through a fileWriter at their own times plus
// offset (their session times), with the timecode tc at the start.
func writeFile(t *testing.T, path string, video, audio *media.Track, units []*media.Unit, offset time.Duration, tc timecode) *fileWriter {
	t.Helper()
	w, err := newFileWriter(path, fileConfig{Video: video, Audio: audio, Fragment: time.Second, Wall0: time.Now(),
		Start: offset, Timecode: func(time.Duration) timecode { return tc }})
	require.NoError(t, err)
	for _, u := range units {
		require.NoError(t, w.writeUnit(u, u.DTS+offset, u.PTS+offset))
	}
	require.NoError(t, w.close())
	return w
}

// interleave merges two unit lists in DTS order.
func interleave(a, b []*media.Unit) []*media.Unit {
	out := make([]*media.Unit, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || (len(a) > 0 && a[0].DTS <= b[0].DTS) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// mediaInfo is what mediainfo says of a file (its JSON output).
type mediaInfo map[string]map[string]string

func mediainfoOf(t *testing.T, file string) mediaInfo {
	t.Helper()
	out, err := exec.Command("mediainfo", "--Output=JSON", file).Output()
	require.NoError(t, err, "mediainfo (make deps installs it)")
	var doc struct {
		Media struct {
			Track []map[string]any `json:"track"`
		} `json:"media"`
	}
	require.NoError(t, json.Unmarshal(out, &doc))
	mi := mediaInfo{}
	for _, tr := range doc.Media.Track {
		m := map[string]string{}
		for k, v := range tr {
			if s, ok := v.(string); ok {
				m[k] = s
			}
		}
		if _, seen := mi[m["@type"]]; !seen {
			mi[m["@type"]] = m
		}
	}
	return mi
}

// ffprobeOf returns ffprobe's streams and format of a file.
type probeOut struct {
	Streams []struct {
		CodecType     string            `json:"codec_type"`
		CodecName     string            `json:"codec_name"`
		CodecTag      string            `json:"codec_tag_string"`
		StartTime     string            `json:"start_time"`
		Duration      string            `json:"duration"`
		NbReadFrames  string            `json:"nb_read_frames"`
		NbReadPackets string            `json:"nb_read_packets"`
		Tags          map[string]string `json:"tags"`
	} `json:"streams"`
	Format struct {
		StartTime string `json:"start_time"`
		Duration  string `json:"duration"`
	} `json:"format"`
}

func ffprobeOf(t *testing.T, file string) probeOut {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", file).Output()
	require.NoError(t, err, file)
	var p probeOut
	require.NoError(t, json.Unmarshal(out, &p))
	return p
}

// meltFrames is the length melt (MLT) gives a file, in frames of its profile.
func meltFrames(t *testing.T, file string) int {
	t.Helper()
	out, err := exec.Command("melt", file, "-consumer", "xml").Output()
	require.NoError(t, err, "melt (make deps installs it)")
	i := bytes.Index(out, []byte(`<property name="length">`))
	require.GreaterOrEqual(t, i, 0, "%s", out)
	rest := out[i+len(`<property name="length">`):]
	n, err := strconv.Atoi(string(rest[:bytes.IndexByte(rest, '<')]))
	require.NoError(t, err)
	return n
}

// gstDecodes plays every stream of a file through GStreamer's qtdemux and
// decoders, as far as it goes, and fails on any error.
func gstDecodes(t *testing.T, file string, video, audio bool) {
	t.Helper()
	args := []string{"-q", "filesrc", "location=" + file, "!", "qtdemux", "name=d"}
	if video {
		args = append(args, "d.video_0", "!", "queue", "!", "decodebin", "!", "fakesink", "sync=false")
	}
	if audio {
		args = append(args, "d.audio_0", "!", "queue", "!", "decodebin", "!", "audioconvert", "!", "fakesink", "sync=false")
	}
	out, err := exec.Command("gst-launch-1.0", args...).CombinedOutput()
	require.NoError(t, err, "GStreamer cannot play %s: %s", file, out)
	require.NotContains(t, string(out), "ERROR", "%s", out)
}

func secs(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }

// TestFilesForEditors writes a file of each kind a camera sends and checks
// it as editors' tools read it: ffprobe, mediainfo, melt (MLT, behind
// Shotcut and Kdenlive) and GStreamer agree on where it starts and how long
// it is; H.265 is hvc1, G.711 is 16-bit PCM they all decode; the timecode
// track gives the start timecode (drop-frame at 29.97); the frame rate is
// constant. Before, a B-frame camera's file started at its first
// composition offset, the session offset was in tfdt alone (ffprobe and
// melt counted a lead-in), G.711 was ipcm (GStreamer 1.22 found no
// decoder, mediainfo no format) and H.265 was hev1.
func TestFilesForEditors(t *testing.T) {
	for _, tool := range []string{"ffprobe", "mediainfo", "melt", "gst-launch-1.0"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run make deps", tool)
		}
	}
	lavfi := func(rate string) []string {
		return []string{"-f", "lavfi", "-i", "testsrc2=s=320x240:r=" + rate, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3"}
	}
	h265, hevc := h265Units(t, 75, 25)
	for _, c := range []struct {
		name              string
		args              []string
		g711              bool
		noVideo           bool
		frames            int
		fps               float64
		tc                timecode
		wantTC, videoTag  string
		audioTag, miAudio string
	}{
		{name: "h264 with B-frames, aac, 30 fps",
			args:   append(lavfi("30"), "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30", "-c:a", "aac"),
			frames: 90, fps: 30, tc: timecode{frames: 108000 + 15, num: 30, den: 1}, wantTC: "01:00:00:15", videoTag: "avc1", audioTag: "mp4a", miAudio: "AAC"},
		{name: "h265, g711, 25 fps",
			g711:   true,
			frames: 75, fps: 25, tc: timecode{frames: 25 * 3600 * 10, num: 25, den: 1}, wantTC: "10:00:00:00", videoTag: "hvc1", audioTag: "twos", miAudio: "PCM"},
		{name: "29.97 drop-frame",
			args:   append(lavfi("30000/1001"), "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "30", "-c:a", "aac"),
			frames: 90, fps: 30000.0 / 1001, tc: timecode{frames: 17982, num: 30000, den: 1001, drop: true}, wantTC: "00:10:00;00", videoTag: "avc1", audioTag: "mp4a", miAudio: "AAC"},
		{name: "audio only",
			args:    []string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:a", "aac"},
			noVideo: true, tc: timecode{frames: 30, num: 30, den: 1}, wantTC: "00:00:01:00", audioTag: "mp4a", miAudio: "AAC"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var video, audio *media.Track
			var units []*media.Unit
			if c.g711 {
				var pcm []*media.Unit
				audio, pcm = mulawUnits(t, 3)
				video, units = h265, interleave(hevc, pcm)
			} else {
				video, audio, units = flvUnits(t, c.args...)
			}
			file := filepath.Join(t.TempDir(), "cam.mp4")
			w := writeFile(t, file, video, audio, units, 7*time.Second+1234*time.Microsecond, c.tc)

			p := ffprobeOf(t, file)
			require.InDelta(t, 0, secs(p.Format.StartTime), 0.0005, "the file starts at 0")
			dur := secs(p.Format.Duration)
			kinds := map[string]int{}
			for _, s := range p.Streams {
				kinds[s.CodecType]++
				switch s.CodecType {
				case "video":
					require.Equal(t, c.videoTag, s.CodecTag)
					require.Equal(t, strconv.Itoa(c.frames), s.NbReadFrames)
					require.InDelta(t, 0, secs(s.StartTime), 0.0005, "the first frame at 0, whatever its composition offset")
					require.InDelta(t, float64(c.frames)/c.fps, secs(s.Duration), 0.002, "the video's duration is its frames'")
					require.Equal(t, c.wantTC, s.Tags["timecode"], "the video's timecode")
				case "audio":
					require.Equal(t, c.audioTag, s.CodecTag)
					require.GreaterOrEqual(t, secs(s.StartTime), 0.0)
				case "data":
					require.Equal(t, "tmcd", s.CodecTag)
					require.Equal(t, c.wantTC, s.Tags["timecode"])
				}
			}
			require.Equal(t, 1, kinds["data"], "one timecode track")
			require.Equal(t, 1, kinds["audio"])
			require.InDelta(t, (w.last - w.first).Seconds(), dur, 0.025)

			mi := mediainfoOf(t, file)
			require.InDelta(t, dur, secs(mi["General"]["Duration"]), 0.002, "mediainfo's duration is ffprobe's")
			require.Equal(t, c.miAudio, mi["Audio"]["Format"])
			require.Equal(t, c.wantTC, mi["Other"]["TimeCode_FirstFrame"], "mediainfo reads the timecode")
			if !c.noVideo {
				require.Equal(t, "CFR", mi["Video"]["FrameRate_Mode"], "constant frame rate")
				require.Equal(t, strconv.Itoa(c.frames), mi["Video"]["FrameCount"])
				require.Equal(t, c.frames, meltFrames(t, file), "melt's length is the frames'")
			} else {
				require.InDelta(t, 3.0, dur, 0.03, "the sound plays to its end")
			}
			gstDecodes(t, file, !c.noVideo, true)
			out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "null", "-").CombinedOutput()
			require.NoError(t, err)
			require.Empty(t, strings.TrimSpace(string(out)), "ffmpeg decodes it cleanly")
		})
	}
}

// TestChapters: the chapter list goes into the file as it grows (a crash
// keeps the chapters up to the last fragment) and at close, and ffprobe
// reads it: titles and times from the presentation's start.
func TestChapters(t *testing.T) {
	video, aus := h264Pictures(t, 91)
	frame := time.Second / 30
	const offset = 2*time.Second + 7*time.Millisecond // the file's first frame in session time
	path := filepath.Join(t.TempDir(), "program.mp4")
	w, err := newFileWriter(path, fileConfig{Video: video, Fragment: time.Second, Wall0: time.Now()})
	require.NoError(t, err)
	chapters := func() []map[string]any {
		out, err := exec.Command("ffprobe", "-v", "error", "-show_chapters", "-of", "json", path).Output()
		require.NoError(t, err)
		var doc struct{ Chapters []map[string]any }
		require.NoError(t, json.Unmarshal(out, &doc))
		return doc.Chapters
	}
	var list []chapter
	for k := range 91 {
		at := offset + time.Duration(k)*frame
		if k == 0 || k == 40 {
			list = append(list, chapter{at: at, title: fmt.Sprintf("cam%d", len(list)+1)})
			w.setChapters(append([]chapter(nil), list...))
		}
		require.NoError(t, w.writeUnit(&media.Unit{Track: video, Key: k%30 == 0, Data: aus[k]}, at, at))
		if k == 70 { // two fragments on disk: as a crash would leave it
			got := chapters()
			require.Len(t, got, 2, "the chapters so far are on disk")
		}
	}
	long := strings.Repeat("x", 100)
	for i := range 300 { // more than a chapter list holds: the first 255 are kept
		list = append(list, chapter{at: offset + 2*time.Second + time.Duration(i)*time.Millisecond, title: long})
	}
	w.setChapters(list)
	require.NoError(t, w.close())
	got := chapters()
	require.Len(t, got, maxChapters)
	require.Equal(t, "cam1", got[0]["tags"].(map[string]any)["title"])
	require.Equal(t, "cam2", got[1]["tags"].(map[string]any)["title"])
	require.InDelta(t, 0.0, secs(got[0]["start_time"].(string)), 1e-6)
	require.InDelta(t, 40.0/30, secs(got[1]["start_time"].(string)), 1e-6)
	require.Len(t, got[2]["tags"].(map[string]any)["title"], chapterTitle)
	playsCleanly(t, path)
}

func playsCleanly(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(out)), "%s decodes cleanly", path)
}

// A file whose track cannot be described (parameter sets no MP4 entry can
// be made of) refuses its first unit with an error, and closes without a
// fault: before, the close filled in durations of an init segment that was
// never written, and the nil patch took the whole process down.
func TestFileThatCannotBeginClosesCleanly(t *testing.T) {
	bad := &media.Track{Kind: media.KindVideo, Codec: media.CodecH265, Width: 320, Height: 240, FPS: 25,
		VPS: []byte{0x40}, SPS: []byte{0x42}, PPS: []byte{0x44}} // too short to parse
	w, err := newFileWriter(filepath.Join(t.TempDir(), "cam.mp4"), fileConfig{Video: bad, Fragment: time.Second,
		Wall0: time.Now(), Timecode: func(time.Duration) timecode { return timecode{num: 25, den: 1} }})
	require.NoError(t, err)
	u := &media.Unit{Track: bad, Key: true, Data: [][]byte{{0x26, 0x01, 0xaf}}}
	require.Error(t, w.writeUnit(u, 0, 0), "the track cannot be described")
	require.NotPanics(t, func() { _ = w.close() })
}
