package record

import (
	"encoding/binary"
	"math"
	"time"

	"switchyard/media"
)

// What goes into a sample: times on the camera's frame grid, the NAL units
// as the camera sent them, and the fragment's wall-clock reference.

// frameGrid puts a camera's frame times back on its frame rate: RTMP
// carries whole milliseconds, so a 30 fps camera's frames come 33 and 34 ms
// apart (2970 and 3060 ticks of 90 kHz), and mediainfo calls such a file
// variable frame rate. A time within gridTol of the grid of the track's
// rate, counted from the first, is moved onto it; one further off (a
// camera of variable rate, a new timeline after a dropout) is kept and
// starts the grid again there.
type frameGrid struct {
	origin time.Duration
	fps    float64
}

const gridTol = 1500 * time.Microsecond

func (g *frameGrid) snap(t time.Duration, fps float64) time.Duration {
	if fps <= 0 {
		return t
	}
	if g.fps != fps {
		g.origin, g.fps = t, fps
		return t
	}
	k := math.Round(float64(t-g.origin) * fps / float64(time.Second))
	on := g.origin + time.Duration(math.Round(k*float64(time.Second)/fps))
	if d := t - on; d > gridTol || d < -gridTol {
		g.origin = t
		return t
	}
	return on
}

// prft builds a Producer Reference Time box (version 1) for a track.
func prft(track int, wall time.Time, mediaTime uint64) []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint32(b[0:], 32)
	copy(b[4:], "prft")
	b[8] = 1 // version 1: 64-bit media time
	binary.BigEndian.PutUint32(b[12:], uint32(track))
	// NTP time: seconds since 1900 and a 32-bit fraction
	secs := uint64(wall.Unix() + 2208988800)
	frac := uint64(wall.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint64(b[16:], secs<<32|frac)
	binary.BigEndian.PutUint64(b[24:], mediaTime)
	return b
}

// stripParams leaves out the parameter sets that ingest put in front of a
// key frame (media.H264KeyWithParams and H265KeyWithParams use the track's
// own slices, so they are recognised by address): they are in the init
// segment, and a sample then holds exactly what the camera sent. Parameter
// sets the camera sent in band are other slices and stay, but for H.265:
// an hvc1 sample entry says every parameter set is in it (array
// completeness), so in-band copies of the track's own go too.
func stripParams(nalus [][]byte, t *media.Track) [][]byte {
	params := [][]byte{t.SPS, t.PPS}
	if t.Codec == media.CodecH265 {
		params = [][]byte{t.VPS, t.SPS, t.PPS}
	}
	if len(nalus) > len(params) {
		ours := true
		for i, p := range params {
			if len(p) == 0 || len(nalus[i]) == 0 || &nalus[i][0] != &p[0] {
				ours = false
				break
			}
		}
		if ours {
			nalus = nalus[len(params):]
		}
	}
	if t.Codec != media.CodecH265 {
		return nalus
	}
	var out [][]byte
	for i, n := range nalus {
		dup := false
		for _, p := range params {
			if string(n) == string(p) {
				dup = true
			}
		}
		if dup && out == nil {
			out = append(make([][]byte, 0, len(nalus)), nalus[:i]...)
		}
		if !dup && out != nil {
			out = append(out, n)
		}
	}
	if out == nil {
		return nalus
	}
	return out
}

// avcc joins NAL units with 4-byte lengths.
func avcc(nalus [][]byte) []byte {
	n := 0
	for _, u := range nalus {
		n += 4 + len(u)
	}
	b := make([]byte, 0, n)
	for _, u := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(u)))
		b = append(b, u...)
	}
	return b
}
