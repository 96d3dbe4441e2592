package record

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// TestPrerollMemory1080p measures what a camera's pre-roll holds: a
// 1080p30 camera at 6 Mb/s (OBS's default for 1080p) with a 2 s GOP and
// sound, its units written to a media.Stream as ingest writes them. The
// stream keeps from the latest key frame at least 2 s back, so between
// 2 and 4 s of the camera: the figure is the most it held.
func TestPrerollMemory1080p(t *testing.T) {
	video, audio, units := flvUnits(t, "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-t", "6.5", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60",
		"-b:v", "6M", "-maxrate", "6M", "-bufsize", "3M", "-c:a", "aac", "-b:a", "160k")
	st := media.NewStream()
	st.SetTracks(video, audio)
	var maxUnits, maxBytes int
	var span time.Duration
	for _, u := range units {
		st.WriteUnit(u)
		n, b := st.PrerollSize()
		if b > maxBytes {
			maxUnits, maxBytes = n, b
		}
	}
	r, n := st.NewReaderFromPreroll(8)
	defer r.Close()
	require.Positive(t, n)
	first, last := time.Duration(-1), time.Duration(0)
	for _, u := range units {
		if u.Track == video {
			last = u.DTS
		}
	}
	for i := 0; i < n; i++ {
		u, err := r.Next(t.Context())
		require.NoError(t, err)
		if first < 0 {
			first = u.DTS
			require.True(t, u.Key, "the pre-roll starts at a key frame")
		}
	}
	span = last - first
	t.Logf("pre-roll of a 1080p30 camera at 6 Mb/s, 2 s GOP: at most %d units, %.2f MiB of media (now %v back)",
		maxUnits, float64(maxBytes)/(1<<20), span)
	require.GreaterOrEqual(t, span, media.PrerollMin)
	require.LessOrEqual(t, span, media.PrerollMin+2*time.Second)
	require.Less(t, maxBytes, 6<<20, "about 4 s of 6 Mb/s at most")
}
