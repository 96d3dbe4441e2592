package rtsp

import (
	"sort"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/ntp"
	"github.com/stretchr/testify/require"
)

// TestTimeline: a sender's video (90 kHz) and audio (48 kHz) start their
// RTP timestamps at unrelated values (the audio's about to wrap), and its
// first audio packets arrive late. Placed by the sender reports, a
// video and an audio packet the sender took at the same instant get the
// same time, whatever the arrival; audio before the reports is held off;
// without reports, audio is placed by arrival after SyncWait; one report
// off by 40 ms (the sender's estimate, sent late) moves nothing; a
// sender whose audio clock jumps is followed once two reports agree.
func TestTimeline(t *testing.T) {
	wall := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) // the sender's NTP clock at its instant 0
	const v0, a0 = uint32(1234567), uint32(4294967295 - 30000)
	for _, tc := range []struct {
		name       string
		audioLate  time.Duration // the first audio packets arrive no earlier than this
		reports    bool
		audioJump  time.Duration // from 3 s the sender's audio RTP clock is this far ahead of its video
		noisy      bool          // the audio's report at 2 s is 40 ms off (its sending ran late)
		wantSynced bool
		// from the sender's instant from on, |audio − video| must stay within 1 ms
		from time.Duration
		// the audio packets dropped, at least and at most
		dropMin, dropMax int
		// the reports begin at this instant (0: at 1 s); within is how
		// close audio and video must be (0: 1 ms), and steady that the
		// audio never moves
		reportsFrom, within time.Duration
		steady              bool
		audioPath           time.Duration // every audio packet arrives this much later
	}{
		{"reports, audio late", 700 * time.Millisecond, true, 0, false, true, 0, 40, 60, 0, 0, false, 0},
		{"reports, on time", 0, true, 0, false, true, 0, 40, 60, 0, 0, false, 0},
		{"a noisy report", 0, true, 0, true, true, 0, 40, 60, 0, 0, false, 0},
		// followed once two reports agree: from the one at 4 s
		{"audio clock jumps", 0, true, 500 * time.Millisecond, false, true, 4100 * time.Millisecond, 40, 60, 0, 0, false, 0},
		{"no reports", 0, false, 0, false, false, -1, 90, 110, 0, 0, false, 0},
		// reports first at 3 s (ffmpeg's come ~5 s in): placed by arrival
		// at 2 s, 10 ms off (the audio arrives 10 ms before its video);
		// the reports agree within the tolerance, so it stays, unmoved
		{"reports after the wait, close", 0, true, 0, false, true, 0, 90, 110, 3 * time.Second, 11 * time.Millisecond, true, 0},
		// the same with every audio packet 500 ms late: placed by arrival
		// 490 ms off, moved once the reports come
		{"reports after the wait, far", 0, true, 0, false, true, 3100 * time.Millisecond, 90, 110, 3 * time.Second, 0, false, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := wall.Add(time.Second) // the session (receiver's clock) starts later; clocks unrelated
			vm, am := &description.Media{Type: description.MediaTypeVideo}, &description.Media{Type: description.MediaTypeAudio}
			tl := NewTimeline(start)
			tl.AddTrack(vm, 90000, true)
			tl.AddTrack(am, 48000, false)
			type ev struct {
				arrival time.Duration // since start
				video   bool
				sr      bool
				s       time.Duration // the sender's instant
			}
			var evs []ev
			aTS := func(s time.Duration) uint32 {
				ts := a0 + uint32(int64(s)*48000/int64(time.Second))
				if s >= 3*time.Second {
					ts += uint32(int64(tc.audioJump) * 48000 / int64(time.Second))
				}
				return ts
			}
			for s := time.Duration(0); s < 6*time.Second; s += 20 * time.Millisecond {
				if s%(40*time.Millisecond) == 0 {
					evs = append(evs, ev{s + 15*time.Millisecond, true, false, s})
				}
				evs = append(evs, ev{max(s+5*time.Millisecond+tc.audioPath, tc.audioLate), false, false, s})
				if tc.reports && s%time.Second == 0 && s > 0 && s >= tc.reportsFrom {
					evs = append(evs, ev{s + 10*time.Millisecond, true, true, s}, ev{s + 10*time.Millisecond, false, true, s})
				}
			}
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].arrival < evs[j].arrival })
			video := map[time.Duration]time.Duration{} // the sender's instant → the timeline's
			audio := map[time.Duration]time.Duration{}
			dropped := 0
			for _, e := range evs {
				at := start.Add(e.arrival)
				switch {
				case e.sr && e.video:
					tl.SenderReport(vm, ntp.Encode(wall.Add(e.s)), v0+uint32(int64(e.s)*90000/int64(time.Second)))
				case e.sr:
					ts := aTS(e.s)
					if tc.noisy && e.s == 2*time.Second {
						ts += 40 * 48
					}
					tl.SenderReport(am, ntp.Encode(wall.Add(e.s)), ts)
				case e.video:
					pts, ok := tl.PTS(vm, v0+uint32(int64(e.s)*90000/int64(time.Second)), at)
					require.True(t, ok, "video is always placed")
					video[e.s] = ticksToDur(pts, 90000)
				default:
					pts, ok := tl.PTS(am, aTS(e.s), at)
					if !ok {
						dropped++
						continue
					}
					audio[e.s] = ticksToDur(pts, 48000)
				}
			}
			var offs []time.Duration
			for s, a := range audio {
				if v, seen := video[s]; seen && tc.from >= 0 && s >= tc.from {
					offs = append(offs, a-v)
				}
			}
			require.Equal(t, tc.wantSynced, tl.Synced(am))
			require.GreaterOrEqual(t, dropped, tc.dropMin, "audio held off before the reports")
			require.LessOrEqual(t, dropped, tc.dropMax, "audio held off before the reports")
			if tc.from >= 0 {
				require.NotEmpty(t, offs)
				within := tc.within
				if within == 0 {
					within = time.Millisecond
				}
				for _, o := range offs {
					require.InDelta(t, 0, o.Seconds(), within.Seconds(), "audio and video of one instant at one time")
				}
			}
			if tc.steady {
				for s, a := range audio {
					if b, ok := audio[s+20*time.Millisecond]; ok {
						require.Equal(t, 20*time.Millisecond, b-a, "the audio moved at %s", s)
					}
				}
			}
		})
	}
}
