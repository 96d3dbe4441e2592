package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

func fill(b *Buffer, v *media.Track, n, size int) {
	for i := range n {
		pts := time.Duration(i) * frame
		data := make([]byte, size)
		data[0], data[1] = byte(i), byte(i>>8)
		b.Add(&media.Unit{Track: v, PTS: pts, DTS: pts, Key: i%30 == 0, Data: [][]byte{data}}, time.Now())
	}
}

// Over its memory share, a buffer keeps its oldest GOPs in segment files
// (0640) and reads them back as they were; the disk part is bounded too,
// and its files go at Close.
func TestBufferSpillsToDisk(t *testing.T) {
	v := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, FPS: fps}
	dir := filepath.Join(t.TempDir(), "replay")
	require.NoError(t, PrepareSpillDir(dir))
	b := NewBuffer(time.Minute, 5000) // a GOP is 3000 bytes: one or two in memory
	b.SpillTo(dir, "cam1-1", 1<<20, func(string, ...any) { t.Error("no warning expected") })
	fill(b, v, 300, 100)
	units, bytes, span := b.Size()
	require.Equal(t, 300, units, "every frame kept: memory and disk")
	require.Equal(t, int64(300*100), bytes)
	require.Equal(t, 299*frame, span)
	onDisk, diskBytes := b.Spilled()
	require.GreaterOrEqual(t, onDisk, 240)
	require.Equal(t, int64(onDisk*100), diskBytes)
	files, err := filepath.Glob(filepath.Join(dir, "cam1-1-*.seg"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		st, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o640), st.Mode().Perm(), f)
	}

	snap, _ := b.Snapshot()
	require.Nil(t, snap[0].Data, "the oldest are on disk")
	got, err := b.Load(snap)
	require.NoError(t, err)
	for i, u := range got {
		require.Equal(t, i, frameNo(u), "frame %d read back", i)
		require.Len(t, u.Data[0], 100)
		require.Equal(t, i%30 == 0, u.Key)
	}

	b.Close()
	files, _ = filepath.Glob(filepath.Join(dir, "*.seg"))
	require.Empty(t, files, "the segment files go at close")

	// the disk part bounded: 6000 bytes on disk, 5000 in memory
	b = NewBuffer(time.Minute, 5000)
	b.SpillTo(dir, "cam1-2", 6000, nil)
	fill(b, v, 300, 100)
	_, bytes, _ = b.Size()
	require.LessOrEqual(t, bytes, int64(5000+3000+6000))
	_, diskBytes = b.Spilled()
	require.Positive(t, diskBytes)
	require.LessOrEqual(t, diskBytes, int64(6000))
	snap, _ = b.Snapshot()
	require.True(t, snap[0].Key, "the disk part starts at a key frame")
	got, err = b.Load(snap)
	require.NoError(t, err)
	for i := 1; i < len(got); i++ {
		require.Equal(t, frameNo(got[i-1])+1, frameNo(got[i]), "no gap between disk and memory")
	}
	require.Equal(t, 299, frameNo(got[len(got)-1]))
	b.Close()

	// the time span holds on disk too
	b = NewBuffer(2*time.Second, 500)
	b.SpillTo(dir, "cam1-3", 1<<20, nil)
	fill(b, v, 300, 100)
	_, _, span = b.Size()
	require.Less(t, span, 3*time.Second+frame)
	b.Close()
	files, _ = filepath.Glob(filepath.Join(dir, "*.seg"))
	require.Empty(t, files)
}

// A segment file that cannot be written (a full disk: /dev/full) costs the
// buffer its disk part, with one warning; it keeps what memory holds.
func TestBufferSpillFailureKeepsMemory(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	v := &media.Track{Kind: media.KindVideo, Codec: media.CodecH264, FPS: fps}
	dir := t.TempDir()
	for i := range 8 {
		require.NoError(t, os.Symlink("/dev/full", filepath.Join(dir, fmt.Sprintf("cam1-%d.seg", i))))
	}
	var mu sync.Mutex
	var warnings []string
	b := NewBuffer(time.Minute, 5000)
	b.SpillTo(dir, "cam1", 1<<20, func(msg string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, fmt.Sprint(msg, args))
	})
	fill(b, v, 300, 100)
	mu.Lock()
	require.Len(t, warnings, 1, "one warning: %v", warnings)
	require.Contains(t, warnings[0], "no space left on device")
	mu.Unlock()
	onDisk, _ := b.Spilled()
	require.Zero(t, onDisk)
	_, bytes, _ := b.Size()
	require.LessOrEqual(t, bytes, int64(5000+3000), "memory bounded as without a disk")
	snap, _ := b.Snapshot()
	require.True(t, snap[0].Key)
	require.NotNil(t, snap[0].Data)
	require.Equal(t, 299, frameNo(snap[len(snap)-1]), "the buffer goes on")
}

// A replay of the oldest seconds, which are on disk, plays the same frames
// as one from memory.
func TestReplayFromSpilledPart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "replay")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old-1-0.seg"), []byte("left over"), 0o640))
	reg, r := newShow(t, Config{Lead: 50 * time.Millisecond, Hold: 100 * time.Millisecond, MaxBytes: 600, SpillDir: dir})
	_, err := os.Stat(filepath.Join(dir, "old-1-0.seg"))
	require.ErrorIs(t, err, os.ErrNotExist, "a run's leftovers go at start")
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o750), st.Mode().Perm())
	rd := cameraOn(t, reg, r, 300)
	onDisk, _ := r.Buffer("cam1").Spilled()
	require.Greater(t, onDisk, 200, "most of the 10 s is on disk (600 bytes of memory)")
	// from −9 s: the newest frame is 299: the mark is frame 29, key frame 0
	info, err := r.Play(Request{Source: "cam1", FromS: f(-9), ToS: f(-8), Speed: 1})
	require.NoError(t, err)
	require.Equal(t, 29, int(info.MarkPTSS*fps+0.5))
	require.Equal(t, 0, int(info.KeyPTSS*fps+0.5))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []int
	for len(got) < 60 {
		u, err := rd.Next(ctx)
		require.NoError(t, err, "after %d frames", len(got))
		if u.Track.Kind == media.KindVideo {
			require.Len(t, u.Data[0], 3, "the camera's bytes")
			require.Equal(t, byte(0xAA), u.Data[0][2])
			got = append(got, frameNo(u))
		}
	}
	for i, n := range got {
		require.Equal(t, i, n, "every frame from the key frame, in order: %v", got)
	}
	r.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.Empty(t, files, "the segment files go at close")
}
