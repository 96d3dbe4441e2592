package clip

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
	"switchyard/media/av"
)

// The last video unit of each round of a looping B-frame clip, and only
// it, is marked End; the unit after it is a key frame (the loop's first),
// so a decoder that gave up its pictures there starts again cleanly.
func TestPlayerMarksTheLastUnitEnd(t *testing.T) {
	dir := t.TempDir()
	f := counterClip(t, dir, "count.mp4")
	m, err := av.OpenDemuxer(f)
	require.NoError(t, err)
	ct, err := media.H264TrackFromAnnexB(m.Video.Extradata, 25)
	m.Close()
	require.NoError(t, err)
	p, st := newPlayer(t, Config{Source: "intro", Files: []string{f}, Names: []string{"count.mp4"}, Loop: true})
	rd := st.NewReader(1024)
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, p.Command(ActionPlay, 0))
	video, ends := 0, 0
	afterEnd := false
	for ends < 2 {
		u, err := rd.Next(ctx)
		require.NoError(t, err, "two rounds of the loop")
		if u.Track.Kind != media.KindVideo || string(u.Track.SPS) != string(ct.SPS) {
			require.False(t, u.End, "End on a held picture")
			continue // sound, or the held picture before play
		}
		if afterEnd {
			require.True(t, u.Key, "the unit after End is a key frame")
			afterEnd = false
		}
		video++
		if u.End {
			ends++
			require.Equal(t, 25*ends, video, "End on the 25th unit of each round, and on no other")
			afterEnd = true
		}
	}
}
