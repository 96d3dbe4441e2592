package mpegts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	mcts "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// Parameter sets of real encoders: x264 320x240 Baseline, and an H.265
// stream's (gortsplib's format tests).
var (
	h264SPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x23, 0xc5, 0x0a, 0xa8}
	h264PPS = []byte{0x68, 0xce, 0x0f, 0xc8}
	h265VPS = []byte{0x40, 0x1, 0xc, 0x1, 0xff, 0xff, 0x1, 0x60, 0x0, 0x0, 0x3, 0x0, 0x90, 0x0, 0x0, 0x3, 0x0, 0x0, 0x3, 0x0, 0x78, 0x99, 0x98, 0x9}
	h265SPS = []byte{0x42, 0x1, 0x1, 0x1, 0x60, 0x0, 0x0, 0x3, 0x0, 0x90, 0x0, 0x0, 0x3, 0x0, 0x0, 0x3, 0x0, 0x78, 0xa0, 0x3, 0xc0, 0x80, 0x10, 0xe5,
		0x96, 0x66, 0x69, 0x24, 0xca, 0xe0, 0x10, 0x0, 0x0, 0x3, 0x0, 0x10, 0x0, 0x0, 0x3, 0x1, 0xe0, 0x80}
	h265PPS = []byte{0x44, 0x1, 0xc1, 0x72, 0xb4, 0x62, 0x40}
	aacASC  = []byte{0x11, 0x90} // AAC-LC, 48 kHz, stereo
)

// sink is a media.Publisher that keeps what it is given.
type sink struct {
	mu        sync.Mutex
	tracks    []*media.Track
	units     []*media.Unit
	warning   string
	malformed int
}

// SetTracks leaves nil tracks out, as the registry's publisher does.
func (s *sink) SetTracks(ts ...*media.Track) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks = nil
	for _, t := range ts {
		if t != nil {
			s.tracks = append(s.tracks, t)
		}
	}
}
func (s *sink) WriteUnit(u *media.Unit) { s.mu.Lock(); s.units = append(s.units, u); s.mu.Unlock() }
func (s *sink) SetWarning(m string)     { s.mu.Lock(); s.warning = m; s.mu.Unlock() }
func (s *sink) Malformed()              { s.mu.Lock(); s.malformed++; s.mu.Unlock() }
func (s *sink) OnKick(func())           {}
func (s *sink) Close()                  {}

// packets gives one chunk per Read, as an SRT connection gives a packet.
type packets struct {
	b [][]byte
	i int
}

func (p *packets) Read(b []byte) (int, error) {
	if p.i == len(p.b) {
		return 0, io.EOF
	}
	n := copy(b, p.b[p.i])
	p.i++
	return n, nil
}

// collect keeps what a Sender writes, checking each write is whole TS
// packets that fit one SRT packet.
type collect struct {
	t      *testing.T
	writes [][]byte
}

func (c *collect) Write(b []byte) (int, error) {
	require.Zero(c.t, len(b)%188, "whole TS packets per write")
	require.LessOrEqual(c.t, len(b), PacketsPerWrite*188)
	c.writes = append(c.writes, bytes.Clone(b))
	return len(b), nil
}

// send writes units through a Sender and returns its writes.
func send(t *testing.T, tracks []*media.Track, units []*media.Unit) [][]byte {
	t.Helper()
	st := media.NewStream()
	st.SetTracks(tracks...)
	r := st.NewReader(512)
	for _, u := range units {
		st.WriteUnit(u)
	}
	r.Close() // Next gives what the ring holds, then ErrReaderClosed
	c := &collect{t: t}
	err := (&Sender{W: c}).RunReader(context.Background(), st, r)
	require.ErrorIs(t, err, media.ErrReaderClosed)
	return c.writes
}

// receive reads a transport stream back into units.
func receive(t *testing.T, writes [][]byte) *sink {
	t.Helper()
	rx, err := NewReceiver(&packets{b: writes}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	s := &sink{}
	require.ErrorIs(t, rx.Run(s), io.EOF)
	return s
}

type roundTripCase struct {
	name   string
	tracks []*media.Track
	units  []*media.Unit
}

func roundTripCases(t testing.TB) []roundTripCase {
	v264, err := media.NewH264Track(h264SPS, h264PPS, 0)
	require.NoError(t, err)
	v265, err := media.NewH265Track(h265VPS, h265SPS, h265PPS)
	require.NoError(t, err)
	aac, err := media.NewAACTrack(aacASC)
	require.NoError(t, err)
	opus := &media.Track{Kind: media.KindAudio, Codec: media.CodecOpus, SampleRate: 48000, Channels: 2}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }

	var c1 []*media.Unit // H.264 with B-frames (PTS after DTS) and AAC
	for i := range 12 {
		d := ms(1000 + i*40)
		u := &media.Unit{Track: v264, DTS: d, PTS: d + ms(80), Data: [][]byte{{0x41, 0x9a, byte(i), 0x11}}}
		switch i {
		case 0:
			u.Key, u.Data = true, [][]byte{h264SPS, h264PPS, {0x65, 0x88, byte(i), 0x22, 0x33}}
		case 6: // parameter sets sent once, at the start: the unit read back carries them
			u.Key, u.Data = true, [][]byte{{0x65, 0x88, byte(i), 0x22, 0x33}}
		}
		c1 = append(c1, u)
		at := d + ms(5)
		c1 = append(c1, &media.Unit{Track: aac, DTS: at, PTS: at, Key: true, Data: [][]byte{{0x21, 0x10, byte(i), 0x44}}})
	}
	var c2 []*media.Unit // H.265 (an IDR and trailing pictures) and Opus of 20 ms
	for i := range 12 {
		d := ms(500 + i*40)
		u := &media.Unit{Track: v265, DTS: d, PTS: d, Data: [][]byte{{0x02, 0x01, byte(i), 0x55}}}
		if i%6 == 0 {
			u.Key, u.Data = true, [][]byte{h265VPS, h265SPS, h265PPS, {0x26, 0x01, byte(i), 0x66}}
		}
		c2 = append(c2, u)
		for k := range 2 {
			at := d + ms(20*k)
			c2 = append(c2, &media.Unit{Track: opus, DTS: at, PTS: at, Key: true, Data: [][]byte{{0xfc, byte(i), byte(k)}}})
		}
	}
	return []roundTripCase{
		{"h264+aac", []*media.Track{v264, aac}, c1},
		{"h265+opus", []*media.Track{v265, opus}, c2},
	}
}

// TestRoundTrip: units written by the Sender and read back by the Receiver
// are the same pictures and sounds, key units with their parameter sets,
// at the same times relative to the first picture (to the 90 kHz tick).
func TestRoundTrip(t *testing.T) {
	for _, c := range roundTripCases(t) {
		t.Run(c.name, func(t *testing.T) {
			s := receive(t, send(t, c.tracks, c.units))
			require.Len(t, s.tracks, 2)
			require.Equal(t, c.tracks[0].Codec, s.tracks[0].Codec)
			require.Equal(t, c.tracks[0].Width, s.tracks[0].Width)
			require.Equal(t, c.tracks[1].Codec, s.tracks[1].Codec)
			require.Equal(t, c.tracks[1].SampleRate, s.tracks[1].SampleRate)
			require.Equal(t, c.tracks[1].Channels, s.tracks[1].Channels)
			require.Equal(t, c.tracks[1].Config, s.tracks[1].Config)
			require.Zero(t, s.malformed)

			split := func(us []*media.Unit) (v, a []*media.Unit) {
				for _, u := range us {
					if u.Track.Kind == media.KindVideo {
						v = append(v, u)
					} else {
						a = append(a, u)
					}
				}
				return v, a
			}
			inV, inA := split(c.units)
			outV, outA := split(s.units)
			// the last picture waits for the next PES of its track (video
			// PES have no length): all but it come back
			require.GreaterOrEqual(t, len(outV), len(inV)-1)
			require.NotEmpty(t, outA)
			near := func(want, got time.Duration, what string) {
				require.InDelta(t, float64(want), float64(got), float64(12*time.Microsecond), what)
			}
			for i, u := range outV {
				in := inV[i]
				require.Equal(t, in.Key, u.Key, "picture %d", i)
				want := in.Data
				if in.Key && in.Track.Codec == media.CodecH264 {
					want, _ = media.H264KeyWithParams(in.Data, h264SPS, h264PPS)
				}
				require.Equal(t, want, u.Data, "picture %d", i)
				near(in.DTS-inV[0].DTS, u.DTS-outV[0].DTS, "DTS")
				near(in.PTS-inV[0].DTS, u.PTS-outV[0].DTS, "PTS")
			}
			// sound: the units before the first picture are not sent
			first := 0
			for inA[first].PTS < inV[0].DTS-200*time.Millisecond {
				first++
			}
			for i, u := range outA {
				in := inA[first+i]
				require.Equal(t, in.Data, u.Data, "sound %d", i)
				near(in.PTS-inV[0].DTS, u.PTS-outV[0].DTS, "sound PTS")
			}
		})
	}
}

// TestReceiverRefusals: a stream without video, or without a program map
// within MaxProbe, is refused with a sentence saying which; a track that
// is not taken is named in the warning.
func TestReceiverRefusals(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// sound only
	aac, err := media.NewAACTrack(aacASC)
	require.NoError(t, err)
	var buf bytes.Buffer
	at := &mcts.Track{Codec: &mcts.CodecMPEG4Audio{}}
	require.NoError(t, at.Codec.(*mcts.CodecMPEG4Audio).Config.Unmarshal(aac.Config))
	w := &mcts.Writer{W: &buf, Tracks: []*mcts.Track{at}}
	require.NoError(t, w.Initialize())
	for i := range 20 {
		require.NoError(t, w.WriteMPEG4Audio(at, int64(i)*1920, [][]byte{{1, 2, 3}}))
	}
	_, err = NewReceiver(&packets{b: chunk(buf.Bytes())}, log)
	require.ErrorContains(t, err, "no H.264 or H.265 video in the stream")

	// noise
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([][]byte, MaxProbe/(7*188)+2)
	for i := range noise {
		noise[i] = make([]byte, 7*188)
		for k := range noise[i] {
			noise[i][k] = byte(rng.Uint32())
		}
	}
	_, err = NewReceiver(&packets{b: noise}, log)
	require.ErrorIs(t, err, ErrNoProgram)

	// a track not taken: named
	buf.Reset()
	vt := &mcts.Track{Codec: &mcts.CodecH264{}}
	mp1 := &mcts.Track{Codec: &mcts.CodecMPEG1Audio{}}
	w = &mcts.Writer{W: &buf, Tracks: []*mcts.Track{vt, mp1}}
	require.NoError(t, w.Initialize())
	for i := range 3 {
		require.NoError(t, w.WriteH264(vt, int64(i)*3000, int64(i)*3000, [][]byte{h264SPS, h264PPS, {0x65, 1, 2}}))
	}
	rx, err := NewReceiver(&packets{b: chunk(buf.Bytes())}, log)
	require.NoError(t, err)
	s := &sink{}
	require.ErrorIs(t, rx.Run(s), io.EOF)
	require.Contains(t, s.warning, "(MPEG1Audio) not taken")
	require.NotEmpty(t, s.units)
}

// chunk cuts a transport stream into SRT payloads.
func chunk(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := min(len(b), 7*188)
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// TestSenderSaysWhatItCannotCarry: G.711 sound is left out, said once;
// the picture goes on.
func TestSenderSaysWhatItCannotCarry(t *testing.T) {
	v, err := media.NewH264Track(h264SPS, h264PPS, 0)
	require.NoError(t, err)
	g711 := &media.Track{Kind: media.KindAudio, Codec: media.CodecPCMA, SampleRate: 8000, Channels: 1}
	st := media.NewStream()
	st.SetTracks(v, g711)
	r := st.NewReader(64)
	for i := range 4 {
		st.WriteUnit(&media.Unit{Track: v, Key: true, DTS: time.Duration(i) * 40 * time.Millisecond, PTS: time.Duration(i) * 40 * time.Millisecond,
			Data: [][]byte{h264SPS, h264PPS, {0x65, byte(i)}}})
		st.WriteUnit(&media.Unit{Track: g711, Key: true, DTS: time.Duration(i) * 40 * time.Millisecond, Data: [][]byte{{1, 2}}})
	}
	r.Close()
	var said []error
	c := &collect{t: t}
	err = (&Sender{W: c, OnSoundNotCarried: func(err error) { said = append(said, err) }}).RunReader(context.Background(), st, r)
	require.True(t, errors.Is(err, media.ErrReaderClosed))
	require.Len(t, said, 1)
	require.ErrorContains(t, said[0], "pcma cannot be carried in MPEG-TS")
	s := receive(t, c.writes)
	require.Len(t, s.tracks, 1, "no sound track")
	require.NotEmpty(t, s.units)
}

// FuzzReceiver: whatever a publisher sends, the Receiver ends with an
// error or the input's end, and every unit it gives is one a decoder can
// take: video after its parameter sets, key units carrying them.
func FuzzReceiver(f *testing.F) {
	for _, c := range roundTripCases(f) {
		st := media.NewStream()
		st.SetTracks(c.tracks...)
		r := st.NewReader(512)
		for _, u := range c.units {
			st.WriteUnit(u)
		}
		r.Close()
		var buf bytes.Buffer
		_ = (&Sender{W: &buf}).RunReader(context.Background(), st, r)
		f.Add(buf.Bytes())
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		rx, err := NewReceiver(&packets{b: chunk(b)}, log)
		if err != nil {
			return
		}
		s := &sink{}
		_ = rx.Run(s)
		for _, u := range s.units {
			require.NotNil(t, u.Track)
			require.NotEmpty(t, u.Data)
			if u.Track.Kind == media.KindVideo && u.Key {
				require.NotEmpty(t, u.Track.SPS)
				require.Equal(t, u.Track.SPS, firstParam(u))
			}
		}
	})
}

// firstParam is the SPS a key unit carries.
func firstParam(u *media.Unit) []byte {
	for _, n := range u.Data {
		if u.Track.Codec == media.CodecH264 && n[0]&0x1f == 7 || u.Track.Codec == media.CodecH265 && (n[0]>>1)&0x3f == 33 {
			return n
		}
	}
	return nil
}
