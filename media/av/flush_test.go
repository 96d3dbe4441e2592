package av

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"
)

// A decoder flushed (Decode with no data) gives up the pictures it holds
// for reordering and then decodes a new stream from its key frame: a clip
// that loops through the mixer's decoder after its last unit (End).
func TestDecoderFlushThenNewStream(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bf.mp4")
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=0.8",
		"-c:v", "libx264", "-bf", "3", "-g", "100", p).CombinedOutput()
	require.NoError(t, err, string(out))
	dec, err := NewVideoDecoder("h264", 1)
	require.NoError(t, err)
	defer dec.Close()
	for round := range 3 {
		m, err := OpenDemuxer(p)
		require.NoError(t, err)
		var pts []int64
		fn := func(_ Picture, ts int64) { pts = append(pts, ts) }
		for {
			pkt, err := m.Read()
			if err != nil {
				break
			}
			var au h264.AnnexB
			require.NoError(t, au.Unmarshal(pkt.Data))
			require.NoError(t, dec.Decode(au, int64(pkt.PTS), fn))
		}
		m.Close()
		require.Less(t, len(pts), 20, "round %d: B-frames held back before the flush", round)
		require.NoError(t, dec.Decode(nil, 0, fn))
		require.Len(t, pts, 20, "round %d: every picture, the held ones by the flush", round)
		for i := 1; i < len(pts); i++ {
			require.Greater(t, pts[i], pts[i-1], "round %d: in order", round)
		}
	}
}
