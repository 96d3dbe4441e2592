package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gortmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"switchyard/ingest"
	"switchyard/mixer/bus"
)

// flvTags encodes a clip with ffmpeg into FLV and splits it into tags.
func flvTags(t *testing.T, color string) []flvTag {
	t.Helper()
	p := filepath.Join(t.TempDir(), color+".flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c="+color+":s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20", "-c:v", "libx264", "-preset", "ultrafast",
		"-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-y", p).CombinedOutput()
	require.NoError(t, err, "%s", out)
	tags, err := readFLV(p)
	require.NoError(t, err)
	return tags
}

// rtmpPublisher publishes with go-rtmp's client, in-process, so a test can
// send what it likes.
func rtmpPublisher(t *testing.T, a *app, name string) *gortmp.Stream {
	t.Helper()
	cc, err := gortmp.Dial("rtmp", a.rtmp.Addr().String(), &gortmp.ConnConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	require.NoError(t, cc.Connect(&rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{App: "live"}}))
	st, err := cc.CreateStream(nil, 4096)
	require.NoError(t, err)
	require.NoError(t, st.Publish(&rtmpmsg.NetStreamPublish{PublishingName: name, PublishingType: "live"}))
	return st
}

func send(st *gortmp.Stream, tag flvTag, ts uint32) error {
	switch tag.typ {
	case 18:
		return nil // metadata
	case 9:
		return st.Write(6, ts, &rtmpmsg.VideoMessage{Payload: bytes.NewReader(tag.data)})
	}
	return st.Write(5, ts, &rtmpmsg.AudioMessage{Payload: bytes.NewReader(tag.data)})
}

// TestHostilePublishers: garbage after a valid handshake, broken codec
// configuration and truncated NAL units, and absurd timestamps. Each bad
// publisher is dropped or re-synced; the good camera, the program and the
// server go on.
func TestHostilePublishers(t *testing.T) {
	mustHaveTools(t)
	a, logs := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "broken"},
		ingest.SourceConfig{Name: "jumpy"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	var buses bus.State
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, &buses)
	before, m0 := sourceStatus(t, a, "cam1"), a.mixer.Stats()
	rng := rand.New(rand.NewPCG(1, 2))
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}

	// Garbage after a valid handshake: the connection is closed.
	c, err := net.Dial("tcp", a.rtmp.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(append([]byte{3}, make([]byte, 1536)...)) // C0 C1
	require.NoError(t, err)
	_, err = io.ReadFull(c, make([]byte, 1+1536+1536)) // S0 S1 S2
	require.NoError(t, err)
	_, err = c.Write(make([]byte, 1536)) // C2
	require.NoError(t, err)
	_, _ = c.Write(junk(64 << 10))
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closes a connection that sends garbage")

	// Broken codec configuration and truncated NAL units.
	tags := flvTags(t, "blue")
	st := rtmpPublisher(t, a, "broken")
	_ = send(st, flvTag{9, 0, append([]byte{0x17, 0, 0, 0, 0}, junk(7)...)}, 0) // a sequence header that is not one
	for i := range 60 {
		nal := binary.BigEndian.AppendUint32([]byte{0x17, 1, 0, 0, 0}, 5000) // says 5000 bytes
		_ = send(st, flvTag{9, 0, append(nal, junk(100)...)}, uint32(i*33))
		_ = send(st, flvTag{8, 0, append([]byte{0xaf, 1}, junk(50)...)}, uint32(i*33)) // AAC before any config
	}
	for _, tag := range tags[:40] { // then a real sequence header with truncated frames
		if tag.typ == 9 && len(tag.data) > 40 && tag.data[1] == 1 {
			tag.data = tag.data[:len(tag.data)/2]
		}
		_ = send(st, tag, tag.ts)
	}

	waitFor(t, 10*time.Second, "the broken publisher's messages counted", func() bool {
		return sourceStatus(t, a, "broken").Malformed > 0
	})

	// Absurd timestamps: backwards, then hours ahead, then back again; the
	// source stays on program through each of them.
	prog := decodeProgram(t, a)
	prog.started(t)
	js := rtmpPublisher(t, a, "jumpy")
	for i, tag := range tags {
		ts := tag.ts
		switch {
		case i > 100 && i < 200:
			ts = tag.ts / 3 // backwards
		case i >= 200 && i < 300:
			ts += 5 * 3600 * 1000 // five hours ahead
		case i >= 300:
			ts += 1000 // and back
		}
		require.NoError(t, send(js, tag, ts), "tag %d", i)
		switch i {
		case 10:
			waitLive(t, a, "jumpy")
		case 90, 190, 290, 390:
			require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"jumpy"}`, &buses))
			got := average(prog.frame(t, buses.Frame+2))
			require.True(t, got.is("blue"), "tag %d: the jumpy source plays on program: %s", i, got)
		}
		if tag.typ == 9 {
			time.Sleep(time.Second / 60) // faster than real time, bounded by the clip
		}
	}
	st2 := sourceStatus(t, a, "jumpy")
	require.Equal(t, ingest.StateLive, st2.State, "a publisher with jumping timestamps is re-synced, not dropped")
	require.Zero(t, st2.Sessions)
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, &buses))
	require.True(t, average(prog.frame(t, buses.Frame+2)).is("red"))

	// The good camera and the program never noticed.
	after := sourceStatus(t, a, "cam1")
	require.Equal(t, ingest.StateLive, after.State)
	require.Equal(t, before.Sessions, after.Sessions)
	require.Equal(t, before.Drops, after.Drops)
	onTime(t, a, m0)
	require.NotContains(t, logs.String(), "panic")
}

// TestNoKeyFrame: a publisher that sends pictures but no key frame is
// flagged (nothing can start decoding it), shows the slate on program, and
// recovers with its first key frame; the other camera is undisturbed.
func TestNoKeyFrame(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}, ingest.SourceConfig{Name: "nokey"}))
	pushRTMP(t, a, "cam1", "red", "320x240", 30)
	waitLive(t, a, "cam1")
	before := sourceStatus(t, a, "cam1")
	tags := flvTags(t, "blue")
	var seqHeader, key flvTag
	var inter []flvTag
	for _, tag := range tags {
		switch {
		case tag.typ != 9:
		case tag.data[1] == 0:
			seqHeader = tag
		case tag.data[0]>>4 == 1:
			if key.data == nil {
				key = tag
			}
		default:
			inter = append(inter, tag)
		}
	}
	connected := time.Now()
	st := rtmpPublisher(t, a, "nokey")
	require.NoError(t, send(st, seqHeader, 0))
	prog := decodeProgram(t, a)
	prog.started(t)
	var buses bus.State
	require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"nokey"}`, &buses))

	// Pictures without a key frame, paced at 30 fps, until it is flagged.
	start := time.Now()
	var s ingest.Status
	for i := 0; ; i++ {
		require.Less(t, i, len(inter), "flagged within the clip's inter frames")
		require.NoError(t, send(st, inter[i], uint32(time.Since(start).Milliseconds())))
		time.Sleep(time.Second / 30)
		if i%30 == 0 {
			if s = sourceStatus(t, a, "nokey"); s.Warning != "" {
				break
			}
		}
	}
	t.Logf("flagged %s after the publisher connected: %s", time.Since(connected).Round(100*time.Millisecond), s.Warning)
	require.Contains(t, s.Warning, "no key frame")
	require.GreaterOrEqual(t, time.Since(connected), ingest.NoKeyAfter, "not before its time")
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"nokey"}`, &buses)
	got := average(prog.frame(t, buses.Frame+1))
	require.True(t, got.is("slate"), "nothing decodable: the program shows the slate, not a broken picture: %s", got)

	// The first key frame: the picture comes, the flag goes.
	require.NoError(t, send(st, key, uint32(time.Since(start).Milliseconds())))
	for i := range 30 {
		require.NoError(t, send(st, inter[i], uint32(time.Since(start).Milliseconds())))
		time.Sleep(time.Second / 30) // a camera's pace
	}
	waitFor(t, 5*time.Second, "the flag gone once the key frame arrived", func() bool { return sourceStatus(t, a, "nokey").Warning == "" })
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"nokey"}`, &buses)
	got = average(prog.frame(t, buses.Frame+1))
	require.True(t, got.is("blue"), "decoding starts at the key frame: %s", got)

	after := sourceStatus(t, a, "cam1")
	require.Equal(t, before.Sessions, after.Sessions)
	require.Equal(t, ingest.StateLive, after.State)
	require.Empty(t, after.Warning)
}

// hevcAccessUnits encodes an H.265 clip with ffmpeg and splits its Annex B
// stream into access units (a new one at each first slice of a picture,
// parameter sets going with the picture after them).
func hevcAccessUnits(t *testing.T, color string, frames int) [][][]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c="+color+":s=320x240:r=30",
		"-frames:v", strconv.Itoa(frames), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=30:bframes=0",
		"-pix_fmt", "yuv420p", "-f", "hevc", "-").Output()
	require.NoError(t, err)
	var nalus [][]byte
	for _, part := range bytes.Split(out, []byte{0, 0, 1}) {
		part = bytes.TrimRight(part, "\x00")
		if len(part) > 2 {
			nalus = append(nalus, part)
		}
	}
	var aus [][][]byte
	var cur, pending [][]byte
	for _, n := range nalus {
		typ := (n[0] >> 1) & 0x3f
		switch {
		case typ < 32 && n[2]&0x80 != 0: // first slice of a picture
			if cur != nil {
				aus = append(aus, cur)
			}
			cur = append(pending, n)
			pending = nil
		case typ < 32:
			cur = append(cur, n)
		default: // VPS, SPS, PPS, SEI: before the next picture
			pending = append(pending, n)
		}
	}
	return append(aus, cur)
}

// hvcC builds a minimal HEVCDecoderConfigurationRecord around the first
// access unit's parameter sets.
func hvcC(au [][]byte) []byte {
	b := make([]byte, 23)
	b[0] = 1
	b[21] = 3 // lengthSizeMinusOne
	var arrays []byte
	count := 0
	for _, n := range au {
		if typ := (n[0] >> 1) & 0x3f; typ >= 32 && typ <= 34 {
			arrays = append(arrays, 0x80|typ, 0, 1, byte(len(n)>>8), byte(len(n)))
			arrays = append(arrays, n...)
			count++
		}
	}
	b[22] = byte(count)
	return append(b, arrays...)
}

// TestH265OverEnhancedRTMP: H.265 as OBS sends it over Enhanced RTMP
// (ExVideoTagHeader, FourCC hvc1) is decoded into the program.
func TestH265OverEnhancedRTMP(t *testing.T) {
	mustHaveTools(t)
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "obs"}))
	aus := hevcAccessUnits(t, "blue", 300)
	require.Greater(t, len(aus), 200)
	st := rtmpPublisher(t, a, "obs")
	require.NoError(t, send(st, flvTag{typ: 9, data: append([]byte{0x80 | 1<<4 | 0, 'h', 'v', 'c', '1'}, hvcC(aus[0])...)}, 0))
	frame := func(i int) flvTag {
		key := aus[i][0][0]>>1&0x3f >= 32 // starts with parameter sets: an IRAP
		ft := byte(2)
		if key {
			ft = 1
		}
		body := []byte{0x80 | ft<<4 | 3, 'h', 'v', 'c', '1'} // CodedFramesX: no composition time
		for _, n := range aus[i] {
			body = binary.BigEndian.AppendUint32(body, uint32(len(n)))
			body = append(body, n...)
		}
		return flvTag{typ: 9, data: body}
	}
	var prog *programFrames
	start := time.Now()
	for i := range aus {
		require.NoError(t, send(st, frame(i), uint32(i*1000/30)))
		if wait := time.Duration(i+1)*time.Second/30 - time.Since(start); wait > 0 {
			time.Sleep(wait) // real time, as an encoder sends
		}
		if i == 45 {
			s := waitLive(t, a, "obs")
			require.Equal(t, "h265", s.Video.Codec)
			require.Equal(t, 320, s.Video.Width)
			prog = decodeProgram(t, a)
			prog.started(t)
		}
		if i == 150 {
			var buses bus.State
			require.Equal(t, http.StatusOK, api(t, "POST", a.apiURL("/program"), `{"source":"obs"}`, &buses))
			got := average(prog.frame(t, buses.Frame+1))
			require.True(t, got.is("blue"), "the Enhanced RTMP H.265 source on program: %s", got)
		}
	}
	require.Zero(t, sourceStatus(t, a, "obs").Malformed)
}
