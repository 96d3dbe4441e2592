package record

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTimecode(t *testing.T) {
	for _, c := range []struct {
		num, den int
		frames   int64
		want     string
	}{
		{25, 1, 0, "00:00:00:00"},
		{25, 1, 25*3600 + 24, "01:00:00:24"},
		{50, 1, 50*61 + 49, "00:01:01:49"},
		{30, 1, 30 * 60, "00:01:00:00"},
		// SMPTE 12M drop-frame: numbers ;00 and ;01 are skipped at each
		// minute but every tenth; an hour of 29.97 is 107892 frames.
		{30000, 1001, 1799, "00:00:59;29"},
		{30000, 1001, 1800, "00:01:00;02"},
		{30000, 1001, 3597, "00:01:59;29"},
		{30000, 1001, 3598, "00:02:00;02"},
		{30000, 1001, 17982, "00:10:00;00"},
		{30000, 1001, 17983, "00:10:00;01"},
		{30000, 1001, 107892, "01:00:00;00"},
		// at 59.94, four numbers are skipped
		{60000, 1001, 3600, "00:01:00;04"},
		{60000, 1001, 35964, "00:10:00;00"},
	} {
		tl := timeline{fpsNum: c.num, fpsDen: c.den}
		require.Equal(t, c.want, tl.timecode(c.frames), "%d frames at %d/%d", c.frames, c.num, c.den)
	}
}

func TestEDLDissolveAndGap(t *testing.T) {
	tl := timeline{title: "T", fpsNum: 25, fpsDen: 1, recStart: 1,
		files: map[string][]partJSON{
			"cam1": {{File: "cam1.mp4", StartS: 0.5, EndS: 20}},
			"cam2": {{File: "cam2.mp4", StartS: 2, EndS: 20}},
		},
		segments: []segment{
			{source: "cam1", start: 1, end: 5, kind: "cut"},
			{source: "cam2", start: 5, end: 9, kind: "mix", from: "cam1", duration: 1},
			{source: "bars", start: 9, end: 10, kind: "cut"}, // not recorded
		},
	}
	require.Equal(t, `TITLE: T
FCM: NON-DROP FRAME

001  cam1     V     C    00:00:00:13 00:00:04:13 00:00:00:00 00:00:04:00
* FROM CLIP NAME: cam1.mp4

002  cam1     V     C    00:00:04:13 00:00:04:13 00:00:04:00 00:00:04:00
002  cam2     V     D    025 00:00:03:00 00:00:07:00 00:00:04:00 00:00:08:00
* FROM CLIP NAME: cam1.mp4
* TO CLIP NAME: cam2.mp4

003  BL       V     C    00:00:00:00 00:00:01:00 00:00:08:00 00:00:09:00

`, tl.EDL())
}
