package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	amf0 "github.com/yutopp/go-amf0"

	"switchyard/internal/protocols/rtmp"
)

// The benchmarks' cameras. A camera on the network costs the switcher only
// what it receives, and its encoder sends RTMP in 4 096-byte chunks (OBS,
// librtmp, hardware encoders). ffmpeg's RTMP publisher sends 128-byte
// chunks, a system call and a poll each: 8 × 6 Mbit/s of them cost this
// 2-core machine 0.23 cores (measured: 33 851 sendto in 5 s from one), a
// load that belongs to the cameras' machines and would squeeze the
// switcher under test. So the scale benchmark's cameras are this test
// binary run again as a pusher (flvPusher): it sends a pre-encoded FLV clip
// in a loop, paced by its timestamps as a live encoder sends, with
// Switchyard's own RTMP client.

// benchPushEnv, set to "file|url", makes the test binary a camera (TestMain).
const benchPushEnv = "SWITCHYARD_BENCH_PUSH"

// flvTag is one tag of an FLV file: a message for RTMP as it stands.
type flvTag struct {
	typ  byte
	ts   uint32 // ms (decode time)
	data []byte
}

// readFLV reads an FLV file's tags.
func readFLV(path string) ([]flvTag, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 13 || string(b[:3]) != "FLV" {
		return nil, fmt.Errorf("%s: not an FLV file", path)
	}
	var tags []flvTag
	for off := int(binary.BigEndian.Uint32(b[5:9])) + 4; off+11 <= len(b); {
		size := int(b[off+1])<<16 | int(b[off+2])<<8 | int(b[off+3])
		if off+11+size > len(b) {
			return nil, fmt.Errorf("%s: tag at %d runs past the end", path, off)
		}
		ts := uint32(b[off+4])<<16 | uint32(b[off+5])<<8 | uint32(b[off+6]) | uint32(b[off+7])<<24
		tags = append(tags, flvTag{typ: b[off] & 0x1f, ts: ts, data: b[off+11 : off+11+size]})
		off += 11 + size + 4
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("%s: no tags", path)
	}
	return tags, nil
}

// sequenceHeader reports whether an audio or video tag holds codec
// parameters (sent once; a loop does not repeat them).
func (t flvTag) sequenceHeader() bool {
	return len(t.data) >= 2 && (t.typ == rtmp.MsgVideo || t.typ == rtmp.MsgAudio) && t.data[1] == 0
}

// frame reports whether a tag holds a coded picture or audio frame (not
// codec parameters, not an end-of-sequence marker).
func (t flvTag) frame() bool {
	switch t.typ {
	case rtmp.MsgVideo:
		return len(t.data) >= 2 && t.data[1] == 1
	case rtmp.MsgAudio:
		return len(t.data) >= 2 && t.data[1] == 1
	}
	return false
}

// loopPlan is how a clip repeats as one live stream: each pass starts one
// video frame interval after the last frame of the one before, so the
// picture cadence never breaks; an audio frame that would overlap the next
// pass's first is left out (a few ms of silence at the seam instead of
// sound going back in time).
type loopPlan struct {
	loop     time.Duration // one pass
	audioEnd uint32        // audio frames starting after this are left out
}

// at reports when tag t of pass goes out on the stream's timeline, and
// whether it goes at all: codec parameters and metadata in the first pass
// only, audio and video frames in every pass (an audio frame past audioEnd
// in none), nothing else (an end-of-sequence marker).
func (p loopPlan) at(t flvTag, pass int) (time.Duration, bool) {
	switch {
	case t.sequenceHeader(), t.typ == rtmp.MsgDataAMF0:
		if pass > 0 {
			return 0, false
		}
	case !t.frame(), t.typ == rtmp.MsgAudio && t.ts > p.audioEnd:
		return 0, false
	}
	return time.Duration(pass)*p.loop + time.Duration(t.ts)*time.Millisecond, true
}

func planLoop(tags []flvTag) (loopPlan, error) {
	var vLast, vStep, aFirst, aStep uint32
	vFrames, aFrames := 0, 0
	for _, t := range tags {
		if !t.frame() {
			continue
		}
		switch t.typ {
		case rtmp.MsgVideo:
			if vFrames > 0 {
				vStep = t.ts - vLast
			}
			vLast = t.ts
			vFrames++
		case rtmp.MsgAudio:
			switch aFrames {
			case 0:
				aFirst = t.ts
			case 1:
				aStep = t.ts - aFirst
			}
			aFrames++
		}
	}
	if vFrames < 2 || vStep == 0 {
		return loopPlan{}, fmt.Errorf("the clip needs at least two video frames a frame apart")
	}
	loop := vLast + vStep
	return loopPlan{loop: time.Duration(loop) * time.Millisecond, audioEnd: loop + aFirst - aStep}, nil
}

// stalls makes a pusher's network stall: every `every` of media it holds
// everything back for `length`, then sends what was held at once.
type stalls struct{ every, length time.Duration }

// flvPusher publishes file to url until ctx ends, looping with timestamps
// that go on (planLoop), each tag sent when its time comes (with st, later
// now and then). A file's end-of-sequence marker is not sent: a camera
// sends it only when it stops. It also ends when the connection does (the
// switcher closed it, or the bench killed the process).
func flvPusher(ctx context.Context, file, url string, st stalls) error {
	tags, err := readFLV(file)
	if err != nil {
		return err
	}
	plan, err := planLoop(tags)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	target, err := rtmp.ParseTarget(url)
	if err != nil {
		return err
	}
	conn, err := rtmp.Publish(ctx, target, nil, rtmp.Timeouts{Connect: 10 * time.Second, Write: 10 * time.Second})
	if err != nil {
		return err
	}
	defer conn.Close()
	sid := conn.StreamID()
	start := time.Now()
	nextStall := st.every
	for pass := 0; ; pass++ {
		for _, t := range tags {
			if ctx.Err() != nil {
				return nil
			}
			at, ok := plan.at(t, pass)
			if !ok {
				continue
			}
			send := at
			if st.every > 0 && at >= nextStall {
				send, nextStall = at+st.length, nextStall+st.every
			}
			csid := rtmp.CSIDAudio
			switch t.typ {
			case rtmp.MsgDataAMF0:
				if err := sendMetadata(conn, sid, t.data); err != nil {
					return err
				}
				continue
			case rtmp.MsgVideo:
				csid = rtmp.CSIDVideo
			}
			if d := time.Until(start.Add(send)); d > 0 {
				time.Sleep(d) // a live encoder's pace: this process has nothing else to do
			}
			if err := conn.WriteMessage(csid, t.typ, sid, uint32(at/time.Millisecond), t.data); err != nil {
				return err
			}
		}
	}
}

// sendMetadata publishes an FLV file's onMetaData as @setDataFrame.
func sendMetadata(conn *rtmp.Conn, sid uint32, script []byte) error {
	vals, err := rtmp.DecodeAMF0(script)
	if err != nil || len(vals) < 2 || vals[0] != "onMetaData" {
		return nil // no metadata: a camera may send none
	}
	var meta map[string]any
	switch m := vals[1].(type) {
	case amf0.ECMAArray:
		meta = m
	case map[string]any:
		meta = m
	default:
		return nil
	}
	msg, err := rtmp.SetDataFrame(meta)
	if err != nil {
		return err
	}
	return conn.WriteMessage(rtmp.CSIDData, rtmp.MsgDataAMF0, sid, 0, msg)
}

// runBenchPusher runs the pusher when the environment asks for it (the
// test binary re-run by pushFLV) and reports whether it did. The pusher
// ends with the bench: its standard input is a pipe from the bench, which
// reads end-of-file when the bench is gone, however it went.
func runBenchPusher() bool {
	v, ok := os.LookupEnv(benchPushEnv)
	if !ok {
		return false
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	file, url, _ := strings.Cut(v, "|")
	if err := flvPusher(context.Background(), file, url, stalls{}); err != nil {
		fmt.Fprintln(os.Stderr, "bench pusher:", err)
	}
	return true
}

// benchFLV turns a bench clip into FLV once (the streams copied as they are).
func benchFLV(b *testing.B, mp4 string) string {
	b.Helper()
	out := strings.TrimSuffix(mp4, filepath.Ext(mp4)) + ".flv"
	if _, err := os.Stat(out); err == nil {
		return out
	}
	tmp := out + ".part.flv"
	if o, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", mp4, "-c", "copy", "-f", "flv", "-y", tmp).CombinedOutput(); err != nil {
		b.Fatalf("make FLV of %s: %v: %s", mp4, err, o)
	}
	if err := os.Rename(tmp, out); err != nil {
		b.Fatal(err)
	}
	return out
}

// pushFLV starts a camera publishing flv to the named source: this test
// binary as a pusher, in its own process (its CPU is not the switcher's).
// (Not Pdeathsig: it fires when the thread that started the child ends,
// and the mixer's decoding threads come and go.)
func pushFLV(b *testing.B, a *app, name, flv string) *exec.Cmd {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchPushEnv+"="+flv+"|"+a.rtmpURL(name))
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil { // held open until the bench ends
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stopPush(cmd) })
	return cmd
}

// TestBenchPusherLoopsSeamlessly: the bench cameras' loop of an FLV made as
// the bench makes its clip (libx264 with B-frames, AAC, ffmpeg's FLV muxer,
// which ends with an end-of-sequence tag on the last frame's time) keeps the
// picture cadence across the seam and never sends sound back in time. It
// once repeated the last frame's time for the next pass's first (its loop
// was measured to the end-of-sequence tag), and every in-use source had a
// picture late at each seam.
func TestBenchPusherLoopsSeamlessly(t *testing.T) {
	mustHaveTools(t)
	flv := filepath.Join(t.TempDir(), "clip.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264", "-preset", "veryfast",
		"-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", "-y", flv).CombinedOutput()
	require.NoError(t, err, "%s", out)
	tags, err := readFLV(flv)
	require.NoError(t, err)
	plan, err := planLoop(tags)
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, plan.loop.Round(10*time.Millisecond), "a pass is the clip's 60 frames")

	// two passes as the pusher sends them
	var video, audio []uint32
	for pass := range 2 {
		for _, tg := range tags {
			at, ok := plan.at(tg, pass)
			switch {
			case !ok:
			case tg.sequenceHeader():
				require.Zero(t, pass, "codec parameters sent again")
			case tg.typ == rtmp.MsgVideo:
				video = append(video, uint32(at/time.Millisecond))
			case tg.typ == rtmp.MsgAudio:
				audio = append(audio, uint32(at/time.Millisecond))
			}
		}
	}
	require.Len(t, video, 120)
	for i := 1; i < len(video); i++ {
		require.InDelta(t, 1000.0/30, float64(video[i]-video[i-1]), 1, "video frame %d at %d ms follows %d ms", i, video[i], video[i-1])
	}
	for i := 1; i < len(audio); i++ {
		d := audio[i] - audio[i-1]
		require.True(t, d >= 21 && d <= 44, "audio frame %d at %d ms follows %d ms: no overlap, at most a frame missing", i, audio[i], audio[i-1])
	}
}
