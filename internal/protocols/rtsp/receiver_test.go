package rtsp

import (
	"io"
	"log/slog"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/sdp"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"switchyard/media"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x23, 0xc5, 0x0a, 0xa8}

func h264Media() *description.Media {
	return &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{
		&format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: testSPS, PPS: []byte{0x68, 0xce, 0x0f, 0xc8}}}}
}

// TestTracksNotTakenAreNamed: every track a publisher sends that Switchyard
// does not take is named, with why; the ones it takes are taken.
func TestTracksNotTakenAreNamed(t *testing.T) {
	desc := &description.Session{Medias: []*description.Media{
		h264Media(),
		{Type: description.MediaTypeAudio, Formats: []format.Format{&format.MPEG1Audio{}}},
		{Type: description.MediaTypeAudio, Formats: []format.Format{&format.Opus{PayloadTyp: 97, ChannelCount: 2}}},
		h264Media(),
		{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}},
		{Type: description.MediaTypeApplication, Formats: []format.Format{&format.KLV{PayloadTyp: 98}}},
	}}
	in, err := NewReceiver(desc, quiet)
	require.NoError(t, err)
	require.Equal(t, media.CodecH264, in.video.codec)
	require.Equal(t, media.CodecOpus, in.audio.track.Codec, "the first audio track Switchyard can take")
	require.Len(t, in.ignored, 4)
	require.Contains(t, in.ignored[0], "track 2 (audio MPEG1Audio) not taken: its codec is not one Switchyard takes")
	require.Contains(t, in.ignored[1], "track 4 (video H264/90000) not taken: only the first video track is taken")
	require.Contains(t, in.ignored[2], "track 5 (audio PCMU/8000) not taken: only the first audio track is taken")
	require.Contains(t, in.ignored[3], "track 6 (application")
	require.Contains(t, in.warning(), Taken)

	_, err = NewReceiver(&description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{&format.MJPEG{}}}}}, quiet)
	require.ErrorContains(t, err, "no H.264 or H.265 video in the session (track 1 (video JPEG/90000) not taken")
}

func latmConfig(rate int) *mpeg4audio.StreamMuxConfig {
	return &mpeg4audio.StreamMuxConfig{Programs: []*mpeg4audio.StreamMuxConfigProgram{{Layers: []*mpeg4audio.StreamMuxConfigLayer{{
		AudioSpecificConfig: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: rate, ChannelConfig: 2},
		LatmBufferFullness:  255,
	}}}}}
}

// TestLATM: MP4A-LATM audio, its configuration out of band (cpresent=0, as
// GStreamer sends it) or in band (cpresent=1), comes out as raw AAC units
// of an AAC track whose AudioSpecificConfig is the LATM one, timed in
// steps of 1024 samples whatever the RTP clock.
func TestLATM(t *testing.T) {
	for _, c := range []struct {
		name     string
		cpresent bool
	}{{"config out of band", false}, {"config in band", true}} {
		t.Run(c.name, func(t *testing.T) {
			smc := latmConfig(48000)
			smc.NumSubFrames = 1 // two access units an element
			f := &format.MPEG4AudioLATM{PayloadTyp: 96, ProfileLevelID: 30, CPresent: c.cpresent}
			rate := int64(48000)
			if !c.cpresent {
				f.StreamMuxConfig = smc
			} else {
				rate = 90000
			}
			m := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}
			a, err := newAudioIn(m, f)
			require.NoError(t, err)
			if c.cpresent {
				require.Nil(t, a.track, "no track before the first configuration")
			} else {
				require.Equal(t, media.CodecAAC, a.track.Codec)
			}
			enc, err := f.CreateEncoder()
			require.NoError(t, err)
			frames := [][]byte{{0x21, 0x10, 0x05}, {0x21, 0x10, 0x06, 0x07}}
			el := mpeg4audio.AudioMuxElement{MuxConfigPresent: c.cpresent, StreamMuxConfig: smc,
				Payloads: [][][][]byte{{{frames[0]}}, {{frames[1]}}}}
			b, err := el.Marshal()
			require.NoError(t, err)
			pkts, err := enc.Encode(b)
			require.NoError(t, err)
			var units []*media.Unit
			for _, p := range pkts {
				units = append(units, a.decode(p, 9000)...)
			}
			require.Len(t, units, 2)
			for i, u := range units {
				require.Equal(t, frames[i], u.Data[0])
				require.Equal(t, media.CodecAAC, u.Track.Codec)
				require.Equal(t, 48000, u.Track.SampleRate)
				require.Equal(t, 2, u.Track.Channels)
			}
			step := units[1].PTS - units[0].PTS
			require.Equal(t, int64(1024)*1e9/48000, int64(step), "1024 samples at 48 kHz, whatever the RTP clock (%d Hz)", rate)
		})
	}
}

// TestLATMFromGStreamer: the configuration GStreamer's rtpmp4apay announces
// (its AudioSpecificConfig 119056e500 copied with padding where the
// StreamMuxConfig's last fields belong) and an element it sends.
func TestLATMFromGStreamer(t *testing.T) {
	desc := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 0 RTP/AVP 96\r\na=rtpmap:96 MP4A-LATM/48000/2\r\na=fmtp:96 cpresent=0;config=40002320adca00\r\n"
	var raw sdp.SessionDescription
	require.NoError(t, raw.Unmarshal([]byte(desc)))
	var sd description.Session
	require.NoError(t, sd.Unmarshal(&raw))
	f := sd.Medias[0].Formats[0]
	a, err := newAudioIn(sd.Medias[0], f)
	require.NoError(t, err)
	require.Equal(t, 48000, a.track.SampleRate)
	require.Equal(t, 2, a.track.Channels)
	au := make([]byte, 288)
	au[0] = 0x21
	el := append([]byte{0xff, 0x21}, au...)
	units := a.decode(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true, SequenceNumber: 1}, Payload: el}, 0)
	require.Len(t, units, 1)
	require.Equal(t, au, units[0].Data[0])

	for _, bad := range [][]byte{{}, {0xff}, {0x05, 1, 2}} {
		_, err := latmPayloads(bad, 1)
		require.Error(t, err, "%x", bad)
	}
}

// FuzzLATMPayloads: splitting any AudioMuxElement never panics, and what it
// returns are pieces of the element, in order, that fit in it with their
// length bytes.
func FuzzLATMPayloads(f *testing.F) {
	f.Add(append([]byte{0xff, 0x21}, make([]byte, 288)...), 1) // GStreamer's, one access unit
	f.Add([]byte{0x02, 0xaa, 0xbb, 0x01, 0xcc}, 2)
	f.Add([]byte{0xff}, 1)
	f.Add([]byte{0x05, 1, 2}, 1)
	f.Add([]byte{}, 1)
	f.Fuzz(func(t *testing.T, b []byte, subframes int) {
		subframes = 1 + (subframes&63+64)%64 // numSubFrames is 6 bits
		aus, err := latmPayloads(b, subframes)
		if err != nil {
			return
		}
		require.Len(t, aus, subframes)
		n := 0
		for _, au := range aus {
			n += len(au) + len(au)/255 + 1
		}
		require.LessOrEqual(t, n, len(b), "payloads and their lengths fit in the element")
	})
}
