package record

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// The init segment (ftyp + moov) of a recorded file, written here rather
// than by mediacommon's fmp4.Init, which has no place for what editors
// need (ISO 14496-12; QuickTime File Format for tmcd):
//
//   - an edit list (edts/elst, 8.6.6) per track: the presentation starts
//     with the first frame (a B-frame camera's composition offset is not a
//     lead-in) and lasts the recording. Every frame written is shown:
//     ffmpeg, mediainfo and melt take an edit list's start in a fragmented
//     file as an offset only (frames before it come out at negative times)
//     and ignore its duration, so a file that hid frames would read
//     differently in each;
//   - durations (mvhd, mehd, tkhd, mdhd), 0 while recording, written at
//     close into the fields left for them, so ffprobe, melt and mediainfo
//     agree on the length;
//   - a QuickTime timecode track (tmcd) with the file's start timecode,
//     referenced by the video track (tref/tmcd), as ffmpeg writes it;
//   - H.265 as hvc1 (parameter sets in the sample entry, as Apple's tools and
//     Premiere want), G.711 as 16-bit big-endian PCM ('twos', which
//     GStreamer and mediainfo read, where mediacommon writes ipcm);
//   - room for a Nero chapter list (moov/udta/chpl, read by ffmpeg),
//     rewritten in place as cuts and markers come.
//
// The sample entries of AVC, AAC and Opus come from mediacommon.

const (
	movieTimescale = 90000
	timecodeID     = 3
	// chapterRoom is the space kept for the chapter list: 255 chapters
	// (chpl counts them in a byte) of titles up to 64 bytes.
	chapterRoom  = 255*(9+64) + 16
	maxChapters  = 255
	chapterTitle = 64
)

// initPatch holds where the fields written at close are.
type initPatch struct {
	mvhdDuration int
	mehdDuration int
	tracks       map[int]*trackPatch
	chapters     int // offset of the udta box
}

type trackPatch struct {
	tkhdDuration int
	mdhdDuration int
	elst         int // offset of the edit's segment_duration (media_time follows)
}

// box builds an ISO BMFF box.
func box(typ string, parts ...[]byte) []byte {
	n := 8
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 8, n)
	binary.BigEndian.PutUint32(b, uint32(n))
	copy(b[4:], typ)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// full is a FullBox header: version and flags.
func full(version byte, flags uint32) []byte {
	return []byte{version, byte(flags >> 16), byte(flags >> 8), byte(flags)}
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

var unityMatrix = func() []byte {
	var b []byte
	for _, v := range []uint32{0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000} {
		b = append(b, u32(v)...)
	}
	return b
}()

// initTrack is one track of the init segment.
type initTrack struct {
	id        int
	kind      string // vide, soun, tmcd
	timescale uint32
	entry     []byte // the sample entry
	width     int
	height    int
	refTmcd   bool
}

// tmcdEntry is a QuickTime timecode sample description, laid out as
// ffmpeg's movenc writes it.
func tmcdEntry(num, den int, drop bool) []byte {
	flags := uint32(0x2) // 24-hour max
	if drop {
		flags |= 0x1
	}
	nominal := (num + den/2) / den
	return box("tmcd", make([]byte, 6), u16(1), u32(0), u32(flags), u32(uint32(num)), u32(uint32(den)),
		[]byte{byte(nominal), 0}, u16(0))
}

// pcmEntry is a QuickTime sound description (version 0) of 16-bit
// big-endian PCM: 'twos'.
func pcmEntry(channels, rate int) []byte {
	return box("twos", make([]byte, 6), u16(1), u16(0), u16(0), u32(0), u16(uint16(channels)), u16(16),
		u16(0), u16(0), u32(uint32(rate)<<16))
}

// hvc1Entry is mediacommon's HEVC sample entry (hev1) as hvc1, every
// parameter set in it: each NAL unit array of its hvcC marked complete
// (array_completeness 1, ISO 14496-15 8.3.3.1).
func hvc1Entry(vps, sps, pps []byte) ([]byte, error) {
	e, err := codecEntry(&fmp4.CodecH265{VPS: vps, SPS: sps, PPS: pps})
	if err != nil {
		return nil, err
	}
	if len(e) < 8 || (string(e[4:8]) != "hev1" && string(e[4:8]) != "hvc1") { // mediacommon 2.9 writes hvc1 itself
		return nil, errors.New("no H.265 sample entry")
	}
	copy(e[4:8], "hvc1")
	i := bytes.Index(e, []byte("hvcC"))
	if i < 0 || i+4+23 > len(e) {
		return nil, errors.New("no hvcC")
	}
	c := e[i+4:] // HEVCDecoderConfigurationRecord
	n, off := int(c[22]), 23
	for range n {
		if off+3 > len(c) {
			return nil, errors.New("hvcC cut short")
		}
		c[off] |= 0x80
		nalus := int(binary.BigEndian.Uint16(c[off+1:]))
		off += 3
		for range nalus {
			if off+2 > len(c) {
				return nil, errors.New("hvcC cut short")
			}
			off += 2 + int(binary.BigEndian.Uint16(c[off:]))
		}
	}
	return e, nil
}

// codecEntry returns the sample entry mediacommon writes for codec.
func codecEntry(codec fmp4.Codec) ([]byte, error) {
	var buf seekablebuffer.Buffer
	if err := (&fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: 90000, Codec: codec}}}).Marshal(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	i := bytes.Index(b, []byte("stsd"))
	if i < 4 || i+12+8 > len(b) {
		return nil, errors.New("no sample description")
	}
	e := b[i+12:] // the FullBox header and entry count
	n := int(binary.BigEndian.Uint32(e))
	if n < 8 || n > len(e) {
		return nil, errors.New("bad sample description")
	}
	return append([]byte(nil), e[:n]...), nil
}

// buildInit returns the init segment for tracks and where its fields to
// patch are. wall is the creation time (seconds since 1904).
func buildInit(tracks []initTrack, wall uint64) ([]byte, initPatch) {
	p := initPatch{tracks: map[int]*trackPatch{}}
	ftyp := box("ftyp", []byte("isom"), u32(0x200), []byte("isomiso6mp41"))
	mvhd := box("mvhd", full(1, 0), u64(wall), u64(wall), u32(movieTimescale), u64(0), u32(0x10000), u16(0x100),
		make([]byte, 10), unityMatrix, make([]byte, 24), u32(timecodeID+1))
	var traks [][]byte
	var trex [][]byte
	for _, t := range tracks {
		traks = append(traks, trak(t, wall))
		trex = append(trex, box("trex", full(0, 0), u32(uint32(t.id)), u32(1), u32(0), u32(0), u32(0)))
	}
	mvex := box("mvex", append([][]byte{box("mehd", full(1, 0), u64(0))}, trex...)...)
	udta := box("udta", box("chpl", full(1, 0), u32(0), []byte{0}), box("free", make([]byte, chapterRoom)))
	moovParts := append(append([][]byte{mvhd}, traks...), mvex, udta)
	moov := box("moov", moovParts...)

	// the offsets, found in what was built
	base := len(ftyp)
	off := base + 8
	p.mvhdDuration = off + 8 + 8 + 8 + 4 + 4 // header, version/flags, two times, timescale
	off += len(mvhd)
	for i, t := range tracks {
		tp := &trackPatch{}
		tb := traks[i]
		tk := bytes.Index(tb, []byte("tkhd"))
		tp.tkhdDuration = off + tk + 4 + 4 + 8 + 8 + 4 + 4
		if e := bytes.Index(tb, []byte("elst")); e >= 0 {
			tp.elst = off + e + 4 + 4 + 4
		}
		md := bytes.Index(tb, []byte("mdhd"))
		tp.mdhdDuration = off + md + 4 + 4 + 8 + 8 + 4
		p.tracks[t.id] = tp
		off += len(tb)
	}
	p.mehdDuration = off + 8 + 8 + 4
	off += len(mvex)
	p.chapters = off
	return append(ftyp, moov...), p
}

func trak(t initTrack, wall uint64) []byte {
	flags := uint32(3) // enabled, in the movie
	var volume uint16
	var alt uint16
	switch t.kind {
	case "soun":
		volume, alt = 0x100, 1
	case "tmcd":
		flags = 2 // in the movie, not shown
	}
	tkhd := box("tkhd", full(1, flags), u64(wall), u64(wall), u32(uint32(t.id)), u32(0), u64(0), make([]byte, 8),
		u16(0), u16(alt), u16(volume), u16(0), unityMatrix, u32(uint32(t.width)<<16), u32(uint32(t.height)<<16))
	parts := [][]byte{tkhd}
	if t.refTmcd {
		parts = append(parts, box("tref", box("tmcd", u32(timecodeID))))
	}
	if t.kind != "tmcd" {
		// one edit: segment_duration (movie timescale), media_time (track
		// timescale), rate 1; both filled in at close
		parts = append(parts, box("edts", box("elst", full(1, 0), u32(1), u64(0), u64(0), u16(1), u16(0))))
	}
	lang := u16(0x55c4) // und
	mdhd := box("mdhd", full(1, 0), u64(wall), u64(wall), u32(t.timescale), u64(0), lang, u16(0))
	var hdlr, mhd []byte
	switch t.kind {
	case "vide":
		hdlr = handler("vide", "VideoHandler")
		mhd = box("vmhd", full(0, 1), make([]byte, 8))
	case "soun":
		hdlr = handler("soun", "SoundHandler")
		mhd = box("smhd", full(0, 0), make([]byte, 4))
	default:
		hdlr = handler("tmcd", "TimeCodeHandler")
		mhd = box("nmhd", full(0, 0))
	}
	dinf := box("dinf", box("dref", full(0, 0), u32(1), box("url ", full(0, 1))))
	stbl := box("stbl", box("stsd", full(0, 0), u32(1), t.entry), box("stts", full(0, 0), u32(0)),
		box("stsc", full(0, 0), u32(0)), box("stsz", full(0, 0), u32(0), u32(0)), box("stco", full(0, 0), u32(0)))
	mdia := box("mdia", mdhd, hdlr, box("minf", mhd, dinf, stbl))
	return box("trak", append(parts, mdia)...)
}

func handler(typ, name string) []byte {
	return box("hdlr", full(0, 0), u32(0), []byte(typ), make([]byte, 12), []byte(name), []byte{0})
}

// chapterBox renders the chapter list into the room kept for it: a udta
// box of the same size holding chpl (times in 100 ns units from the
// presentation's start) and a free box for the rest.
func chapterBox(chapters []chapter) []byte {
	if len(chapters) > maxChapters {
		chapters = chapters[:maxChapters]
	}
	body := []byte{byte(len(chapters))}
	for _, c := range chapters {
		title := c.title
		if len(title) > chapterTitle {
			title = title[:chapterTitle]
		}
		body = append(body, u64(uint64(max(c.at, 0)/100))...)
		body = append(body, byte(len(title)))
		body = append(body, title...)
	}
	chpl := box("chpl", full(1, 0), u32(0), body)
	room := 8 + 4 + 4 + 1 + 8 + chapterRoom // the empty chpl and the free box
	return box("udta", chpl, box("free", make([]byte, room-len(chpl)-8)))
}
