package av

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"
)

// counterClip makes a 1 s 25 fps H.264 + AAC clip whose frame N has luma
// 16+8N all over, so a decoded picture tells its frame number.
func counterClip(t *testing.T, name string) string {
	t.Helper()
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed (make deps)")
	}
	p := filepath.Join(t.TempDir(), name)
	out, err := exec.Command(ff, "-v", "error", "-f", "lavfi", "-i", "color=black:s=160x120:r=25:d=1,format=yuv420p,geq=lum='16+8*N':cb=128:cr=128",
		"-f", "lavfi", "-i", "sine=d=1:sample_rate=48000", "-c:v", "libx264", "-g", "10", "-bf", "2", "-c:a", "aac", "-shortest", p).CombinedOutput()
	require.NoError(t, err, string(out))
	return p
}

func TestDemuxCounterClip(t *testing.T) {
	for _, ext := range []string{"mp4", "mkv", "mov"} {
		t.Run(ext, func(t *testing.T) {
			m, err := OpenDemuxer(counterClip(t, "c."+ext))
			require.NoError(t, err)
			defer m.Close()
			require.Equal(t, "h264", m.Video.Codec)
			require.Equal(t, 160, m.Video.Width)
			require.InDelta(t, 25, m.Video.FPS, 0.01)
			require.Equal(t, "aac", m.Audio.Codec)
			require.Equal(t, 48000, m.Audio.SampleRate)
			require.NotEmpty(t, m.Audio.Extradata)
			require.InDelta(t, time.Second, m.Duration, float64(100*time.Millisecond))
			var params h264.AnnexB
			require.NoError(t, params.Unmarshal(m.Video.Extradata), "parameter sets in Annex-B")

			dec, err := NewVideoDecoder("h264", 1)
			require.NoError(t, err)
			defer dec.Close()
			frame, err := NewFrame(160, 120)
			require.NoError(t, err)
			defer frame.Free()
			var sc Scaler
			defer sc.Close()
			var lumas []int
			var pts []time.Duration
			audio := 0
			lastDTS := time.Duration(-1 << 62)
			for {
				p, err := m.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				if !p.Video {
					audio++
					continue
				}
				// B-frames: DTS rises strictly and never passes PTS; it
				// may start below zero (an edit list), and stays so
				require.Greater(t, p.DTS, lastDTS, "video DTS rises")
				require.LessOrEqual(t, p.DTS, p.PTS)
				lastDTS = p.DTS
				var au h264.AnnexB
				require.NoError(t, au.Unmarshal(p.Data))
				require.NoError(t, dec.Decode(au, int64(p.PTS), func(pic Picture, pt int64) {
					require.NoError(t, sc.Scale(pic, frame, Rect{W: 160, H: 120}))
					lumas = append(lumas, int(frame.Y[60*frame.StrideY+80]))
					pts = append(pts, time.Duration(pt))
				}))
			}
			require.Greater(t, audio, 40, "about 47 AAC frames in 1 s")
			require.GreaterOrEqual(t, len(lumas), 20)
			for i, l := range lumas {
				require.InDelta(t, 16+8*i, l, 4, "picture %d", i)
				require.InDelta(t, time.Duration(i)*40*time.Millisecond, pts[i]-pts[0], float64(time.Millisecond), "picture %d", i)
			}

			require.NoError(t, m.Seek(500*time.Millisecond))
			p, err := m.Read()
			require.NoError(t, err)
			for !p.Video {
				p, err = m.Read()
				require.NoError(t, err)
			}
			require.True(t, p.Key, "a seek lands on a key frame")
			require.LessOrEqual(t, p.PTS, 500*time.Millisecond)
		})
	}
}

func TestDemuxBadInput(t *testing.T) {
	_, err := OpenDemuxer(filepath.Join(t.TempDir(), "missing.mp4"))
	require.Error(t, err)
	junk := filepath.Join(t.TempDir(), "junk.mp4")
	require.NoError(t, os.WriteFile(junk, []byte("this is not a media file at all, only text"), 0o644))
	_, err = OpenDemuxer(junk)
	require.Error(t, err)
}
