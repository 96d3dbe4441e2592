package clip

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"switchyard/ingest"
	"switchyard/media"
	"switchyard/media/av"
)

// run is the player goroutine's state; only that goroutine touches it.
type run struct {
	p   *Player
	pub *ingest.Publisher

	idx            int
	m              *av.Demuxer
	vtrack, atrack *media.Track
	frameDur       time.Duration
	w, h           int              // the picture size of the file, for held pictures
	queue          []av.DemuxPacket // read ahead (cueing), published first
	gop            []av.DemuxPacket // video since the last key frame, for stills
	fileStart      time.Duration    // the first video PTS of the file; -1 before
	lastPTS        time.Duration    // the file PTS of the last video unit published

	// The publisher's timeline: it never goes back, whatever the file does
	// (loops, seeks, pauses), and is paced on the wall clock from origin.
	origin   time.Time
	segBase  time.Duration // timeline at the start of the current stretch of file
	segStart time.Duration // file DTS at that start; -1: the next packet's
	lastTL   time.Duration // the last timeline instant published
	// lastPubPTS is the latest PTS published on the timeline (the last
	// picture shown, with B-frames not the last unit's)
	lastPubPTS time.Duration

	state string
	atTop bool // cued at the top of the playlist (cue), not moved since
	// reorder is how far the file's first picture's PTS is after its DTS
	// (B-frames). Held pictures carry the same lead (PTS = DTS + reorder),
	// so the mixer's clock map sees one delay whether the source holds a
	// picture or plays: no re-anchoring jump at play.
	reorder    time.Duration
	still      [][]byte // the held picture, one H.264 IDR, while not playing
	stillTrack *media.Track
}

func (r *run) close() {
	if r.m != nil {
		r.m.Close()
	}
}

func (r *run) loop() {
	p := r.p
	r.origin = time.Now()
	r.lastTL = -time.Millisecond
	if err := r.open(0); err != nil {
		r.fail(err)
	} else {
		r.cue()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var due time.Time
		var pkt *av.DemuxPacket
		if r.state == StatePlaying {
			next, err := r.next()
			if err != nil {
				r.endOfFile(err)
				continue
			}
			pkt = next
			if r.segStart < 0 {
				// a new stretch starts now, or after the last unit when
				// that is later: never in the past, where a player that
				// was busy (a held picture encoded) would burst to catch up
				r.segStart = r.startDTS(pkt)
				r.segBase = max(r.lastTL+r.frameDur, time.Since(r.origin))
			}
			due = r.origin.Add(r.segBase + pkt.DTS - r.segStart)
		} else {
			due = r.origin.Add(r.lastTL + r.frameDur)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(time.Until(due))
		select {
		case <-p.ctx.Done():
			return
		case c := <-p.cmds:
			if pkt != nil {
				r.queue = append([]av.DemuxPacket{*pkt}, r.queue...) // not yet published
			}
			c.reply <- r.command(c)
			continue
		case <-timer.C:
		}
		if pkt != nil {
			r.publish(pkt)
		} else if r.still != nil {
			tl := max(r.lastTL+r.frameDur, time.Since(r.origin)-r.frameDur/2)
			pts := max(tl+r.reorder, r.lastPubPTS+r.frameDur) // after the clip's last picture
			r.pub.WriteUnit(&media.Unit{Track: r.stillTrack, PTS: pts, DTS: tl, Key: true, Data: r.still})
			r.lastTL, r.lastPubPTS = tl, pts
		} else {
			r.lastTL += r.frameDur
		}
	}
}

// stillNow publishes the held picture at once, without waiting for its
// frame (the clip's last unit, marked End, had the mixer's decoder give up
// the pictures it held for reordering already).
func (r *run) stillNow() {
	if r.still == nil {
		return
	}
	tl := r.lastTL + time.Microsecond
	pts := max(tl+r.reorder, r.lastPubPTS+r.frameDur)
	r.pub.WriteUnit(&media.Unit{Track: r.stillTrack, PTS: pts, DTS: tl, Key: true, Data: r.still})
	r.lastTL, r.lastPubPTS = tl, pts
}

// open opens file i of the playlist and describes its tracks.
func (r *run) open(i int) error {
	if r.m != nil {
		r.m.Close()
		r.m = nil
	}
	r.queue, r.gop = nil, nil
	m, err := probe(r.p.cfg.Files[i], false)
	if err != nil {
		return err
	}
	r.idx, r.m, r.fileStart, r.segStart = i, m, -1, -1
	fps := m.Video.FPS
	if fps <= 0 || fps > 240 {
		fps = 25
	}
	r.frameDur = time.Duration(float64(time.Second) / fps)
	r.w, r.h = m.Video.Width&^1, m.Video.Height&^1
	if r.vtrack, err = videoTrack(m.Video, fps); err != nil {
		m.Close()
		r.m = nil
		return err
	}
	r.atrack = nil
	tracks := []*media.Track{r.vtrack}
	if a := m.Audio; a != nil {
		// AAC and Opus as a camera's; any other codec the build decodes
		// (PCM, MP3, FLAC…) by its FFmpeg name, for the mixer alone
		r.atrack = &media.Track{Kind: media.KindAudio, Codec: a.Codec, SampleRate: a.SampleRate, Channels: a.Channels, Config: a.Extradata}
		tracks = append(tracks, r.atrack)
	}
	r.pub.SetTracks(tracks...)
	d := m.Duration
	r.p.set(func(s *Status) {
		s.File, s.DurationS, s.PositionS, s.RemainingS, s.Error = r.p.cfg.Names[i], d.Seconds(), 0, d.Seconds(), ""
	})
	return nil
}

// videoTrack describes the file's video: H.264 and H.265 with their
// parameter sets, like a camera's; any other codec by its FFmpeg name with
// the container's extradata in Config, its units the file's packets (which
// the mixer decodes, and which outputs that carry only H.264/H.265 refuse).
func videoTrack(v *av.StreamInfo, fps float64) (*media.Track, error) {
	if !av.NALCodec(v.Codec) {
		return &media.Track{Kind: media.KindVideo, Codec: v.Codec, Width: v.Width, Height: v.Height, FPS: fps, Config: v.Extradata}, nil
	}
	if v.Codec == media.CodecH264 {
		return media.H264TrackFromAnnexB(v.Extradata, fps)
	}
	var au h264.AnnexB // H.265 Annex-B has the same framing
	if err := au.Unmarshal(v.Extradata); err != nil {
		return nil, fmt.Errorf("h265 parameter sets: %w", err)
	}
	t := &media.Track{Kind: media.KindVideo, Codec: media.CodecH265, Width: v.Width, Height: v.Height, FPS: fps}
	for _, n := range au {
		if len(n) < 2 {
			continue
		}
		switch (n[0] >> 1) & 0x3f {
		case 32:
			t.VPS = n
		case 33:
			t.SPS = n
		case 34:
			t.PPS = n
		}
	}
	if t.VPS == nil || t.SPS == nil || t.PPS == nil {
		return nil, errors.New("h265 clip without its parameter sets")
	}
	return t, nil
}

// startDTS is where a stretch of file starts: the least DTS of pkt and the
// packets up to the first picture (read ahead into the queue), so neither
// the sound before the first picture nor a picture whose DTS is before its
// sound's (B-frames) starts in the past.
func (r *run) startDTS(pkt *av.DemuxPacket) time.Duration {
	least := pkt.DTS
	video := pkt.Video
	for _, q := range r.queue {
		least = min(least, q.DTS)
		video = video || q.Video
	}
	for i := 0; !video && r.m != nil && i < 256; i++ {
		q, err := r.m.Read()
		if err != nil {
			break
		}
		r.queue = append(r.queue, q)
		least = min(least, q.DTS)
		video = q.Video
	}
	return least
}

// lastVideo reports whether no video follows in the file: it reads ahead
// (into the queue) up to the next picture or the end. The last unit is
// marked End, so the mixer's decoder gives up the pictures it holds for
// reordering (B-frames) as it decodes it: nothing else comes in time for
// them — the held picture is made, or the next file opened, first.
func (r *run) lastVideo() bool {
	for _, q := range r.queue {
		if q.Video {
			return false
		}
	}
	for r.m != nil && len(r.queue) < 1024 {
		q, err := r.m.Read()
		if err != nil {
			return errors.Is(err, io.EOF)
		}
		r.queue = append(r.queue, q)
		if q.Video {
			return false
		}
	}
	return false
}

// next returns the next packet: one read ahead, or from the file.
func (r *run) next() (*av.DemuxPacket, error) {
	if len(r.queue) > 0 {
		pkt := r.queue[0]
		r.queue = r.queue[1:]
		return &pkt, nil
	}
	if r.m == nil {
		return nil, io.EOF
	}
	pkt, err := r.m.Read()
	if err != nil {
		return nil, err
	}
	return &pkt, nil
}

func (r *run) publish(pkt *av.DemuxPacket) {
	tl := r.segBase + pkt.DTS - r.segStart
	pts := r.segBase + pkt.PTS - r.segStart
	if tl <= r.lastTL && pkt.Video {
		tl = r.lastTL + time.Microsecond // a file whose DTS goes back: keep the timeline monotonic
	}
	if pts < tl {
		pts = tl
	}
	if !pkt.Video {
		if r.atrack != nil {
			r.pub.WriteUnit(&media.Unit{Track: r.atrack, PTS: pts, DTS: pts, Key: true, Data: [][]byte{pkt.Data}})
		}
		return
	}
	var nalus [][]byte
	var key bool
	switch r.vtrack.Codec {
	case media.CodecH264, media.CodecH265:
		var au h264.AnnexB
		if err := au.Unmarshal(pkt.Data); err != nil {
			r.pub.Malformed()
			return
		}
		if r.vtrack.Codec == media.CodecH264 {
			nalus, key = media.H264KeyWithParams(au, r.vtrack.SPS, r.vtrack.PPS)
		} else {
			nalus, key = media.H265KeyWithParams(au, r.vtrack.VPS, r.vtrack.SPS, r.vtrack.PPS)
		}
	default: // the packet as the container has it (ProRes, VP9, AV1…)
		nalus, key = [][]byte{pkt.Data}, pkt.Key
	}
	if key {
		r.gop = r.gop[:0]
	}
	r.gop = append(r.gop, *pkt)
	r.pub.WriteUnit(&media.Unit{Track: r.vtrack, PTS: pts, DTS: tl, Key: key, Data: nalus, End: r.lastVideo()})
	r.lastTL, r.lastPubPTS = tl, max(r.lastPubPTS, pts)
	if r.fileStart < 0 {
		r.fileStart = pkt.PTS
	}
	if pkt.PTS > r.lastPTS || key {
		r.lastPTS = pkt.PTS
	}
	pos := max(0, r.lastPTS-r.fileStart)
	r.p.mu.Lock()
	r.p.status.PositionS = pos.Seconds()
	r.p.status.RemainingS = max(0, r.p.status.DurationS-pos.Seconds())
	r.p.mu.Unlock()
}

// cue reads up to the file's first picture and holds it.
func (r *run) cue() {
	r.gop = nil
	for {
		pkt, err := r.m.Read()
		if err != nil {
			r.fail(fmt.Errorf("%s: no picture to cue: %w", r.p.cfg.Names[r.idx], err))
			return
		}
		r.queue = append(r.queue, pkt)
		if pkt.Video {
			r.fileStart = pkt.PTS
			r.lastPTS = pkt.PTS
			r.reorder = max(0, min(pkt.PTS-pkt.DTS, time.Second))
			r.gop = []av.DemuxPacket{pkt}
			break
		}
	}
	r.hold(false)
	r.setState(StateCued)
	r.atTop = r.idx == 0
	r.p.set(func(s *Status) { s.PositionS, s.RemainingS = 0, s.DurationS })
}

// hold makes the held picture: the last one published (or black).
func (r *run) hold(black bool) {
	w, h := r.w, r.h
	frame, err := av.NewFrame(w, h)
	if err != nil {
		r.fail(err)
		return
	}
	defer frame.Free()
	frame.Fill(16, 128, 128)
	if !black {
		if err := r.lastPicture(frame); err != nil {
			r.p.log.Warn("the held picture could not be decoded; holding black", "err", err)
		}
	}
	enc, err := av.NewH264Encoder(av.H264Config{Width: w, Height: h, FPSNum: int(time.Second / r.frameDur), FPSDen: 1,
		BitrateBPS: 4_000_000, GOP: 1, Preset: "ultrafast", Threads: 1})
	if err != nil {
		r.fail(err)
		return
	}
	defer enc.Close()
	track, err := media.H264TrackFromAnnexB(enc.Extradata(), r.vtrack.FPS)
	if err != nil {
		r.fail(err)
		return
	}
	var still [][]byte
	err = enc.Encode(frame, 0, true, func(pk av.Packet) {
		var au h264.AnnexB
		if au.Unmarshal(append([]byte(nil), pk.Data...)) == nil {
			still, _ = media.H264KeyWithParams(au, track.SPS, track.PPS)
		}
	})
	if err != nil || still == nil {
		r.fail(fmt.Errorf("encode the held picture: %v", err))
		return
	}
	r.still, r.stillTrack = still, track
}

// lastPicture decodes the units since the last key frame and draws the
// latest picture in display order into frame.
func (r *run) lastPicture(frame *av.Frame) error {
	dec, err := av.NewVideoDecoderConfig(r.vtrack.Codec, r.vtrack.Config, 1)
	if err != nil {
		return err
	}
	defer dec.Close()
	var sc av.Scaler
	defer sc.Close()
	best := time.Duration(-1 << 62)
	var scaleErr error
	got := func(pic av.Picture, pts int64) {
		if d := time.Duration(pts); d >= best && d <= r.lastPTS {
			best = d
			scaleErr = sc.Scale(pic, frame, av.Rect{W: frame.Width, H: frame.Height})
		}
	}
	for _, pkt := range r.gop {
		data := unitData(r.vtrack.Codec, pkt.Data)
		if data == nil {
			continue
		}
		if err := dec.Decode(data, int64(pkt.PTS), got); err != nil {
			return err
		}
	}
	if err := dec.Decode(nil, 0, got); err != nil { // flush
		return err
	}
	if best == time.Duration(-1<<62) {
		return errors.New("no picture came out")
	}
	return scaleErr
}

func (r *run) setState(st string) {
	r.state = st
	r.p.set(func(s *Status) { s.State = st })
}

func (r *run) fail(err error) {
	r.p.log.Warn("clip player", "err", err)
	r.p.set(func(s *Status) { s.Error = err.Error() })
	if r.still == nil {
		r.setState(StateEnded)
	}
}

// endOfFile moves to the next file of the playlist, loops, or ends.
func (r *run) endOfFile(err error) {
	if !errors.Is(err, io.EOF) && !errors.Is(err, av.ErrAgain) {
		r.p.set(func(s *Status) { s.Error = fmt.Sprintf("%s: %v", s.File, err) })
	}
	next := r.idx + 1
	if next >= len(r.p.cfg.Files) {
		if !r.p.cfg.Loop {
			r.hold(r.p.cfg.OnEnd == EndBlack)
			r.setState(StateEnded)
			r.stillNow()
			r.p.set(func(s *Status) { s.PositionS, s.RemainingS = s.DurationS, 0 })
			if r.p.cfg.OnEnd == EndNext && r.p.cfg.Ended != nil {
				// once the last picture has had its time on program: its
				// end on the timeline, plus the mixer's delay (EndDelay)
				at := r.origin.Add(r.lastPubPTS - r.reorder + 3*r.frameDur) // its frame, and two of margin for the decoder's last pictures (flushed by the held picture)
				if r.p.cfg.EndDelay != nil {
					at = at.Add(r.p.cfg.EndDelay())
				}
				r.p.wg.Add(1)
				go func() { // the callback may drive the mixer, which may command this player
					defer r.p.wg.Done()
					t := time.NewTimer(time.Until(at))
					defer t.Stop()
					select {
					case <-t.C:
					case <-r.p.ctx.Done():
						return
					}
					r.p.cfg.Ended()
				}()
			}
			return
		}
		next = 0
	}
	gop := r.gop
	if oerr := r.open(next); oerr != nil {
		r.gop = gop
		r.fail(oerr)
		r.hold(false)
		r.setState(StateEnded)
		return
	}
	r.segStart = -1 // the timeline goes on from the last unit
}

func (r *run) command(c command) error {
	if r.m == nil && c.action != ActionStop {
		return fmt.Errorf("the clip %s could not be opened: %s", r.p.Status().File, r.p.Status().Error)
	}
	switch c.action {
	case ActionPlay:
		if r.state == StatePlaying {
			return nil
		}
		if r.state == StateEnded {
			if err := r.open(0); err != nil {
				return err
			}
		}
		r.segStart = -1
		r.still = nil
		r.atTop = false
		r.setState(StatePlaying)
	case ActionPause:
		if r.state != StatePlaying {
			return nil
		}
		r.hold(false)
		r.setState(StatePaused)
	case ActionStop:
		if r.atTop && r.state == StateCued {
			return nil // cued at the top already: its held picture is frame 0
		}
		if err := r.open(0); err != nil {
			r.fail(err)
			return err
		}
		r.cue()
	case ActionSeek:
		r.atTop = false
		r.queue, r.gop = nil, nil
		if err := r.m.Seek(r.fileStartOr0() + c.pos); err != nil {
			return fmt.Errorf("seek to %.3f s: %w", c.pos.Seconds(), err)
		}
		r.segStart = -1
		if r.state != StatePlaying {
			// hold the picture sought to: the key frame at or before it
			for {
				pkt, err := r.m.Read()
				if err != nil {
					return fmt.Errorf("seek to %.3f s: %w", c.pos.Seconds(), ErrSeek)
				}
				r.queue = append(r.queue, pkt)
				if pkt.Video {
					r.gop = []av.DemuxPacket{pkt}
					r.lastPTS = pkt.PTS
					break
				}
			}
			r.hold(false)
			if r.state == StateEnded {
				r.setState(StatePaused)
			}
		}
		pos := c.pos
		r.p.set(func(s *Status) { s.PositionS, s.RemainingS = pos.Seconds(), max(0, s.DurationS-pos.Seconds()) })
	}
	return nil
}

func (r *run) fileStartOr0() time.Duration {
	if r.fileStart > 0 {
		return r.fileStart
	}
	return 0
}
