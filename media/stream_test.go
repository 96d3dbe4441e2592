package media

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testVideo = &Track{Kind: KindVideo, Codec: CodecH264}

func videoUnit(i int, key bool) *Unit {
	return &Unit{Track: testVideo, PTS: time.Duration(i) * time.Millisecond, Key: key, Data: [][]byte{{byte(i)}}}
}

func TestReaderStartsAtKey(t *testing.T) {
	s := NewStream()
	r := s.NewReader(8)
	defer r.Close()
	s.WriteUnit(videoUnit(0, false))
	s.WriteUnit(videoUnit(1, true))
	s.WriteUnit(videoUnit(2, false))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	u, err := r.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, time.Millisecond, u.PTS)
	u, err = r.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, 2*time.Millisecond, u.PTS)
	require.Zero(t, r.Dropped(), "waiting for the first key unit is not a loss")
}

func TestFullRingResyncsAtKey(t *testing.T) {
	s := NewStream()
	r := s.NewReader(4)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// key + 3 deltas fill the ring; the next two deltas overflow.
	for i := range 6 {
		s.WriteUnit(videoUnit(i, i == 0))
	}
	require.EqualValues(t, 2, r.Dropped())
	for i := range 4 {
		u, err := r.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, time.Duration(i)*time.Millisecond, u.PTS)
	}
	// room again, but a delta after a loss is useless: wait for the key unit.
	s.WriteUnit(videoUnit(6, false))
	s.WriteUnit(videoUnit(7, true))
	s.WriteUnit(videoUnit(8, false))
	require.EqualValues(t, 3, r.Dropped())
	for _, want := range []int{7, 8} {
		u, err := r.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, time.Duration(want)*time.Millisecond, u.PTS)
	}
}

func TestAudioDropsDoNotWaitForKey(t *testing.T) {
	s := NewStream()
	a := &Track{Kind: KindAudio, Codec: CodecAAC}
	r := s.NewReader(2)
	defer r.Close()
	for i := range 4 {
		s.WriteUnit(&Unit{Track: a, PTS: time.Duration(i), Key: true})
	}
	require.EqualValues(t, 2, r.Dropped())
	s.Close()
	ctx := context.Background()
	for range 2 {
		_, err := r.Next(ctx)
		require.NoError(t, err)
	}
	_, err := r.Next(ctx)
	require.ErrorIs(t, err, ErrReaderClosed)
}

// SkipToKey: a reader behind passes over what waits before its newest video
// key unit (sound among it too: a key unit of sound is no picture), counts
// only the pictures, and loses nothing; with no key unit waiting it changes
// nothing.
func TestSkipToKey(t *testing.T) {
	s := NewStream()
	a := &Track{Kind: KindAudio, Codec: CodecAAC}
	r := s.NewReader(16)
	defer r.Close()
	for i := range 9 { // keys at 0 and 5; sound (a key unit each) after 2 and 6
		s.WriteUnit(videoUnit(i, i%5 == 0))
		if i == 2 || i == 6 {
			s.WriteUnit(&Unit{Track: a, PTS: time.Duration(i) * time.Millisecond, Key: true})
		}
	}
	found, video := r.SkipToKey()
	require.True(t, found)
	require.Equal(t, 5, video, "pictures 0 to 4 passed over")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, want := range []struct {
		pts   int
		audio bool
	}{{5, false}, {6, false}, {6, true}, {7, false}} {
		u, err := r.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, time.Duration(want.pts)*time.Millisecond, u.PTS)
		require.Equal(t, want.audio, u.Track == a)
	}
	found, video = r.SkipToKey() // picture 8 waits, no key unit
	require.False(t, found)
	require.Zero(t, video)
	u, err := r.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, 8*time.Millisecond, u.PTS)
	found, _ = r.SkipToKey() // nothing waits
	require.False(t, found)
	require.Zero(t, r.Dropped(), "a skip is no loss")
}

// A reader that never reads must not slow the publisher or the other readers.
func TestSlowReaderDoesNotBlock(t *testing.T) {
	s := NewStream()
	slow := s.NewReader(4)
	defer slow.Close()
	const n = 20000
	var wg sync.WaitGroup
	fast := make([]*Reader, 3)
	got := make([]int, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range fast {
		fast[i] = s.NewReader(n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := fast[i].Next(ctx); err != nil {
					return
				}
				got[i]++
			}
		}()
	}
	for i := range n {
		s.WriteUnit(videoUnit(i, i%30 == 0))
	}
	s.Close()
	wg.Wait()
	require.NoError(t, ctx.Err())
	for i := range fast {
		require.Equal(t, n, got[i], "reader %d", i)
		require.Zero(t, fast[i].Dropped())
	}
	require.EqualValues(t, n-4, slow.Dropped())
}

func TestNextHonoursContext(t *testing.T) {
	s := NewStream()
	r := s.NewReader(2)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := r.Next(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestH264KeyWithParams(t *testing.T) {
	sps, pps := []byte{0x67, 1}, []byte{0x68, 2}
	idr := []byte{0x65, 3}
	aud := []byte{0x09, 0xf0}
	out, key := H264KeyWithParams([][]byte{aud, idr}, sps, pps)
	require.True(t, key)
	require.Equal(t, [][]byte{sps, pps, idr}, out)
	out, key = H264KeyWithParams([][]byte{{0x41, 1}}, sps, pps)
	require.False(t, key)
	require.Equal(t, [][]byte{{0x41, 1}}, out)
	in := [][]byte{sps, pps, idr}
	out, _ = H264KeyWithParams(in, []byte{0x67, 9}, pps)
	require.Equal(t, in, out)
}

// woken reports whether the reader has been signalled since the last call
// (and takes the signal).
func woken(r *Reader) bool {
	select {
	case <-r.signal:
		return true
	default:
		return false
	}
}

// TestWakeWithVideo: sound waits in the ring for the next picture when one
// is due within the reader's limit, and comes out first, in order; it wakes
// the reader at once when the pictures stall, come too seldom, or the
// stream has none.
func TestWakeWithVideo(t *testing.T) {
	// frame intervals long enough that a busy machine never stretches the
	// few microseconds between two writes across one
	v1 := &Track{Kind: KindVideo, Codec: CodecH264, FPS: 1}       // a picture a second
	vSlow := &Track{Kind: KindVideo, Codec: CodecH264, FPS: 0.25} // every 4 s
	fast := &Track{Kind: KindVideo, Codec: CodecH264, FPS: 2000}  // a picture every 0.5 ms
	aud := &Track{Kind: KindAudio, Codec: CodecAAC}
	unit := func(tr *Track, ms int) *Unit {
		return &Unit{Track: tr, PTS: time.Duration(ms) * time.Millisecond, Key: true, Data: [][]byte{{byte(ms)}}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	batching := func() (*Stream, *Reader) {
		s := NewStream()
		r := s.NewReader(16)
		t.Cleanup(r.Close)
		r.WakeWithVideo(2 * time.Second)
		return s, r
	}
	s, r := batching()
	s.WriteUnit(unit(v1, 0))
	require.True(t, woken(r), "a picture wakes the reader")
	s.WriteUnit(unit(aud, 1))
	s.WriteUnit(unit(aud, 22))
	require.False(t, woken(r), "sound with the next picture due within the 2 s limit waits for it")
	s.WriteUnit(unit(v1, 33))
	require.True(t, woken(r))
	for _, want := range []int{0, 1, 22, 33} {
		u, err := r.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, time.Duration(want)*time.Millisecond, u.PTS, "units come out in the order written")
	}

	// pictures stall: the next sound after a frame interval wakes the reader
	s.WriteUnit(unit(fast, 40))
	require.True(t, woken(r))
	for start := time.Now(); time.Since(start) < time.Millisecond; {
		time.Sleep(100 * time.Microsecond) // wall time must pass: the subject of the check
	}
	s.WriteUnit(unit(aud, 41))
	require.True(t, woken(r), "sound after a stalled picture wakes the reader")

	// pictures too far apart for the limit: every sound wakes
	s.WriteUnit(unit(vSlow, 100))
	require.True(t, woken(r))
	s.WriteUnit(unit(aud, 101))
	require.True(t, woken(r), "pictures 4 s apart are beyond the 2 s limit")

	// no pictures at all
	s2, r2 := batching()
	s2.WriteUnit(unit(aud, 0))
	require.True(t, woken(r2), "a stream without pictures wakes for its sound")

	// a reader without WakeWithVideo wakes for every unit
	r3 := s.NewReader(16)
	defer r3.Close()
	s.WriteUnit(unit(v1, 200))
	require.True(t, woken(r3))
	s.WriteUnit(unit(aud, 201))
	require.True(t, woken(r3))

	// the next picture is late and nothing else comes: the sound waits for
	// it no longer than the limit
	v2 := &Track{Kind: KindVideo, Codec: CodecH264, FPS: 2} // a picture every 500 ms
	s4 := NewStream()
	r4 := s4.NewReader(16)
	defer r4.Close()
	r4.WakeWithVideo(600 * time.Millisecond)
	s4.WriteUnit(unit(v2, 0))
	require.True(t, woken(r4))
	s4.WriteUnit(unit(aud, 1))
	start := time.Now()
	require.False(t, woken(r4), "the sound waits for the next picture")
	select {
	case <-r4.signal:
		require.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "it waited for the picture first")
	case <-ctx.Done():
		t.Fatal("the sound waited for a picture that did not come beyond the limit")
	}
	for _, want := range []int{0, 1} {
		u, err := r4.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, time.Duration(want)*time.Millisecond, u.PTS)
	}
}

// TestReaderTellsArrival: NextAt gives the time each unit was written to
// the stream, however long it then waited in the reader's ring.
func TestReaderTellsArrival(t *testing.T) {
	s := NewStream()
	r := s.NewReader(8)
	defer r.Close()
	tr := &Track{Kind: KindVideo, Codec: "H264", FPS: 30}
	var written []time.Time
	for i := range 3 {
		before := time.Now()
		s.WriteUnit(&Unit{Track: tr, Key: true, PTS: time.Duration(i) * time.Millisecond, Data: [][]byte{{5}}})
		written = append(written, before)
		time.Sleep(20 * time.Millisecond) // the writes apart; the reader reads them later
	}
	for i := range 3 {
		u, at, err := r.NextAt(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if u.PTS != time.Duration(i)*time.Millisecond {
			t.Fatalf("unit %d: PTS %v", i, u.PTS)
		}
		if at.Before(written[i]) || (i+1 < len(written) && !at.Before(written[i+1])) {
			t.Fatalf("unit %d arrived at %v, want between its write (%v) and the next", i, at, written[i])
		}
	}
}
