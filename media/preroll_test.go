package media

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// at30 is a unit of a 30 fps camera with sound: video frame i (a key unit
// every gop frames) or, for audio, the AAC frame at i×21.33 ms.
func at30(track *Track, i, gop int) *Unit {
	if track.Kind == KindAudio {
		ts := time.Duration(i) * 1024 * time.Second / 48000
		return &Unit{Track: track, PTS: ts, DTS: ts, Key: true, Data: [][]byte{make([]byte, 300)}}
	}
	ts := time.Duration(i) * time.Second / 30
	return &Unit{Track: track, PTS: ts, DTS: ts, Key: i%gop == 0, Data: [][]byte{make([]byte, 1000)}}
}

// drain reads what a reader holds now.
func drain(t *testing.T, r *Reader) []*Unit {
	t.Helper()
	var out []*Unit
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		u, err := r.Next(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, u)
	}
}

// TestPrerollStartsAtAKeyUnitBeforeNow: a reader opened with the pre-roll
// begins at the latest key unit at least PrerollMin back, with the sound
// from there, and then gets every unit written after, none twice; without
// the pre-roll a reader opened at the same moment waits for the next key
// unit (what a recording got before: up to a GOP of the show missing).
func TestPrerollStartsAtAKeyUnitBeforeNow(t *testing.T) {
	video := &Track{Kind: KindVideo, Codec: CodecH264, FPS: 30}
	audio := &Track{Kind: KindAudio, Codec: CodecAAC, SampleRate: 48000}
	s := NewStream()
	const gop = 60 // 2 s
	a := 0
	write := func(from, to int) {
		for i := from; i < to; i++ {
			s.WriteUnit(at30(video, i, gop))
			for ; time.Duration(a)*1024*time.Second/48000 < time.Duration(i+1)*time.Second/30; a++ {
				s.WriteUnit(at30(audio, a, 0))
			}
		}
	}
	write(0, 150) // 5 s; keys at 0, 2 and 4 s
	pre, n := s.NewReaderFromPreroll(64)
	defer pre.Close()
	plain := s.NewReader(64)
	defer plain.Close()
	write(150, 185)

	got := drain(t, pre)
	require.Greater(t, n, 0)
	require.Equal(t, KindVideo, got[0].Track.Kind)
	require.True(t, got[0].Key)
	require.Equal(t, 2*time.Second, got[0].PTS, "the latest key unit at least 2 s before the newest (4.97 s)")
	var frames []time.Duration
	for _, u := range got {
		if u.Track == video {
			frames = append(frames, u.PTS)
		}
	}
	require.Len(t, frames, 185-60, "every frame from 2 s on, once")
	for i, f := range frames {
		require.Equal(t, time.Duration(60+i)*time.Second/30, f)
	}
	for _, u := range drain(t, plain) {
		if u.Track == video {
			require.Equal(t, 6*time.Second, u.PTS, "without the pre-roll: the next key unit")
			break
		}
	}
}

// TestPrerollAudioOnly: a stream without video keeps the last PrerollMin
// of its units, and a reader opened with it begins there.
func TestPrerollAudioOnly(t *testing.T) {
	audio := &Track{Kind: KindAudio, Codec: CodecAAC, SampleRate: 48000}
	s := NewStream()
	for i := range 500 { // 10.7 s
		s.WriteUnit(at30(audio, i, 0))
	}
	n, bytes := s.PrerollSize()
	require.Equal(t, 300*n, bytes)
	r, _ := s.NewReaderFromPreroll(8)
	defer r.Close()
	got := drain(t, r)
	require.Len(t, got, n)
	span := got[len(got)-1].PTS - got[0].PTS
	require.LessOrEqual(t, span, PrerollMin)
	require.Greater(t, span, PrerollMin-50*time.Millisecond)
}

// TestPrerollBounds: a GOP too long or too large is not kept (the reader
// starts at the next key unit), a new timeline or new parameters start
// the pre-roll afresh, and a stale one is not handed out.
func TestPrerollBounds(t *testing.T) {
	video := &Track{Kind: KindVideo, Codec: CodecH264}
	t.Run("span", func(t *testing.T) {
		s := NewStream()
		for i := range 30 * 11 { // one 11 s GOP
			s.WriteUnit(at30(video, i, 1000))
		}
		n, _ := s.PrerollSize()
		require.Zero(t, n, "a GOP longer than PrerollMaxSpan is let go")
		s.WriteUnit(at30(video, 1000, 1000))
		n, _ = s.PrerollSize()
		require.Equal(t, 1, n, "kept again from the next key unit")
	})
	t.Run("bytes", func(t *testing.T) {
		s := NewStream()
		big := make([]byte, 1<<20)
		for i := range 40 { // 40 MiB in one GOP
			s.WriteUnit(&Unit{Track: video, DTS: time.Duration(i) * time.Second / 30, Key: i == 0, Data: [][]byte{big}})
		}
		n, bytes := s.PrerollSize()
		require.Zero(t, n)
		require.Zero(t, bytes)
	})
	t.Run("new timeline", func(t *testing.T) {
		s := NewStream()
		for i := range 90 {
			s.WriteUnit(at30(video, i, 30))
		}
		s.WriteUnit(&Unit{Track: video, DTS: time.Hour, PTS: time.Hour, Key: true})
		n, _ := s.PrerollSize()
		require.Equal(t, 1, n)
		other := &Track{Kind: KindVideo, Codec: CodecH264}
		s.WriteUnit(&Unit{Track: other, DTS: time.Hour + time.Second/30, Key: true})
		n, _ = s.PrerollSize()
		require.Equal(t, 1, n, "a key unit of new parameters")
	})
	t.Run("stale", func(t *testing.T) {
		s := NewStream()
		s.WriteUnit(at30(video, 0, 30))
		s.mu.Lock()
		s.pre.last = time.Now().Add(-prerollFresh - time.Second)
		s.mu.Unlock()
		r, n := s.NewReaderFromPreroll(8)
		defer r.Close()
		require.Zero(t, n, "the publisher went away: its old pictures are not handed out")
	})
	t.Run("closed", func(t *testing.T) {
		s := NewStream()
		s.WriteUnit(at30(video, 0, 30))
		s.Close()
		r, n := s.NewReaderFromPreroll(8)
		require.Zero(t, n)
		_, err := r.Next(context.Background())
		require.ErrorIs(t, err, ErrReaderClosed)
	})
}
