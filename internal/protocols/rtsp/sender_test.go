package rtsp

import (
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// loop is a PacketWriter whose packets a Receiver reads back: an RTPSource
// whose PTS counts from each media's first packet, as a client's does.
type loop struct {
	cbs   map[*description.Media]gortsplib.OnPacketRTPFunc
	first map[*description.Media]uint32
	byMed map[*description.Media]*description.Media // sender's media → receiver's
}

func (l *loop) OnPacketRTP(m *description.Media, _ format.Format, cb gortsplib.OnPacketRTPFunc) {
	l.cbs[m] = cb
}

func (l *loop) PacketPTS(m *description.Media, pkt *rtp.Packet) (int64, bool) {
	return int64(int32(pkt.Timestamp - l.first[m])), true
}

func (l *loop) WritePacketRTPWithNTP(m *description.Media, pkt *rtp.Packet, _ time.Time) error {
	rm := l.byMed[m]
	if _, ok := l.first[rm]; !ok {
		l.first[rm] = pkt.Timestamp
	}
	if cb := l.cbs[rm]; cb != nil {
		b, err := pkt.Marshal() // a packet on the wire, read back as new
		if err != nil {
			return err
		}
		var in rtp.Packet
		if err := in.Unmarshal(b); err != nil {
			return err
		}
		cb(&in)
	}
	return nil
}

type units struct {
	tracks  []*media.Track
	units   []*media.Unit
	warning string
}

func (u *units) SetTracks(t ...*media.Track) { u.tracks = t }
func (u *units) WriteUnit(x *media.Unit)     { u.units = append(u.units, x) }
func (u *units) SetWarning(w string)         { u.warning = w }
func (u *units) Malformed()                  {}
func (u *units) OnKick(func())               {}
func (u *units) Close()                      {}

// TestSenderToReceiver: what a Sender packetizes (a re-served path) a
// Receiver (a publisher's or a pulled camera's session) turns back into the
// same units, at the same times from the first, for H.264 with AAC and with
// G.711; audio before the first video unit is not sent.
func TestSenderToReceiver(t *testing.T) {
	pps := []byte{0x68, 0xce, 0x0f, 0xc8}
	vt, err := media.NewH264Track(testSPS, pps, 0)
	require.NoError(t, err)
	aac, err := media.NewAACTrack([]byte{0x11, 0x90})
	require.NoError(t, err)
	pcma := &media.Track{Kind: media.KindAudio, Codec: media.CodecPCMA, SampleRate: 8000, Channels: 1}
	for _, at := range []*media.Track{aac, pcma} {
		t.Run(at.Codec, func(t *testing.T) {
			s, err := NewSender(vt, at)
			require.NoError(t, err)
			require.True(t, s.Serves(vt, at))
			require.Len(t, s.Desc.Medias, 2)
			rx, err := NewReceiver(s.Desc, quiet)
			require.NoError(t, err)
			got := &units{}
			rx.Claim(got)
			l := &loop{cbs: map[*description.Media]gortsplib.OnPacketRTPFunc{}, first: map[*description.Media]uint32{},
				byMed: map[*description.Media]*description.Media{s.Desc.Medias[0]: s.Desc.Medias[0], s.Desc.Medias[1]: s.Desc.Medias[1]}}
			rx.Attach(l)
			require.Equal(t, media.CodecH264, got.tracks[0].Codec)
			require.Equal(t, at.Codec, got.tracks[1].Codec)

			base := 10 * time.Second
			early := &media.Unit{Track: at, PTS: base - time.Second, DTS: base - time.Second, Key: true, Data: [][]byte{{1, 2, 3, 4}}}
			s.Write(l, early) // before any video: not sent
			var sent []*media.Unit
			for i := range 3 {
				pts := base + time.Duration(i)*40*time.Millisecond
				nal := []byte{0x41, 0x9a, 0x02, byte(i)}
				if i == 0 {
					nal = []byte{0x65, 0x88, 0x84, 0x00, 0x33}
				}
				v := &media.Unit{Track: vt, PTS: pts, DTS: pts, Key: i == 0, Data: [][]byte{nal}}
				a := &media.Unit{Track: at, PTS: pts, DTS: pts, Key: true, Data: [][]byte{{0x21, 0x10, byte(i), 0x04}}}
				s.Write(l, v)
				s.Write(l, a)
				sent = append(sent, v, a)
			}
			require.Len(t, got.units, len(sent))
			for i, u := range got.units {
				want := sent[i]
				require.Equal(t, want.Track.Kind, u.Track.Kind, "unit %d", i)
				require.Equal(t, want.PTS-base, u.PTS, "unit %d", i)
				if u.Track.Kind == media.KindVideo {
					require.Equal(t, want.Key, u.Key)
					require.Equal(t, want.Data[len(want.Data)-1], u.Data[len(u.Data)-1])
				} else {
					require.Equal(t, want.Data, u.Data)
				}
			}
		})
	}
}

// TestRTPTimeOverDays: a duration becomes RTP clock ticks rounded to the
// nearest, exactly, however long the show has run: no overflow after days
// of uptime at 90 kHz or 48 kHz (d × rate in nanoseconds would overflow an
// int64 after 28 hours at 90 kHz).
func TestRTPTimeOverDays(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		rate int64
		want int64
	}{
		{0, 90000, 0},
		{time.Second / 30, 90000, 3000},
		{time.Second * 1001 / 30000, 90000, 3003},
		{time.Second / 48000, 48000, 1},
		{time.Second/48000/2 - 1, 48000, 0}, // under half a tick: down
		{time.Second/48000/2 + 1, 48000, 1}, // over half a tick: up
		{29 * time.Hour, 90000, 29 * 3600 * 90000},
		{30 * 24 * time.Hour, 90000, 30 * 24 * 3600 * 90000},
		{30*24*time.Hour + time.Second/30, 90000, 30*24*3600*90000 + 3000},
		{100 * 24 * time.Hour, 48000, 100 * 24 * 3600 * 48000},
	} {
		require.Equal(t, c.want, rtpTime(c.d, c.rate), "%s at %d Hz", c.d, c.rate)
	}
	// the 32-bit RTP timestamp wraps, as RTP wants, without a jump
	base := uint32(0xfffffff0)
	a, b := base+uint32(rtpTime(13*time.Hour, 90000)), base+uint32(rtpTime(13*time.Hour+time.Second/30, 90000))
	require.Equal(t, uint32(3000), b-a)
}
