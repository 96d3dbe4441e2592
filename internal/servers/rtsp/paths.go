package rtsp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/gortsplib/v5"

	"switchyard/internal/protocols/rtsp"
	"switchyard/media"
	"switchyard/output/serve"
)

// feeds re-serves the path table's streams over RTSP
// (rtsp://HOST:8554/program, rtsp://HOST:8554/live/NAME), each with the
// codecs it came in (H.264 or H.265; AAC, Opus or G.711): one goroutine
// per path describes it as a gortsplib stream and packetizes its units
// while a reader plays it. It is the table's Listener.
type feeds struct {
	srv *gortsplib.Server
	log *slog.Logger

	mu    sync.Mutex
	paths map[*serve.Path]*feed
}

func newFeeds(srv *gortsplib.Server, log *slog.Logger) *feeds {
	return &feeds{srv: srv, log: log, paths: map[*serve.Path]*feed{}}
}

// feed is one served path and the goroutine that feeds it.
type feed struct {
	path   *serve.Path
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	ss *gortsplib.ServerStream

	served atomic.Uint64 // units packetized for readers
}

// PathAdded starts feeding p. The RTSP session is described from the tracks
// the stream carries; it is rebuilt at a key unit when they change (a new
// camera resolution), which makes players reconnect.
func (f *feeds) PathAdded(p *serve.Path) {
	ctx, cancel := context.WithCancel(context.Background())
	fd := &feed{path: p, cancel: cancel, done: make(chan struct{})}
	f.mu.Lock()
	f.paths[p] = fd
	f.mu.Unlock()
	reader := p.Stream().NewReader(512)
	go func() {
		defer close(fd.done)
		defer reader.Close()
		fd.run(ctx, f, reader)
	}()
}

// PathRemoved stops feeding p and disconnects its readers.
func (f *feeds) PathRemoved(p *serve.Path) {
	f.mu.Lock()
	fd := f.paths[p]
	delete(f.paths, p)
	f.mu.Unlock()
	if fd != nil {
		fd.cancel()
		<-fd.done
	}
}

func (f *feeds) get(p *serve.Path) *feed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[p]
}

// serverStream returns the gortsplib stream of p, once it has video.
func (f *feeds) serverStream(p *serve.Path) (*gortsplib.ServerStream, error) {
	fd := f.get(p)
	if fd == nil {
		return nil, fmt.Errorf("%s: %w", p.Name(), serve.ErrNoStream)
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.ss == nil {
		for _, t := range p.Stream().Tracks() {
			if t != nil && t.Kind == media.KindVideo && !t.Carried() {
				return nil, fmt.Errorf("%s: %w: its %s video cannot be served over RTSP (H.264 and H.265 can); watch program or preview, or convert the clip with ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4", p.Name(), serve.ErrNoStream, t.Codec)
			}
		}
		return nil, fmt.Errorf("%s: %w (no video yet)", p.Name(), serve.ErrNoStream)
	}
	return fd.ss, nil
}

// session is the gortsplib stream of one set of tracks and the sender that
// packetizes their units into it.
type session struct {
	ss     *gortsplib.ServerStream
	sender *rtsp.Sender
}

func (fd *feed) run(ctx context.Context, f *feeds, reader *media.Reader) {
	var cur *session
	defer func() {
		fd.setSession(nil)
		if cur != nil {
			cur.ss.Close()
		}
	}()
	st := fd.path.Stream()
	for {
		u, err := reader.Next(ctx)
		if err != nil {
			return
		}
		if u.Track.Kind == media.KindVideo && u.Key && !u.Track.Carried() && cur != nil {
			// a clip's file of a codec RTSP is not given here (ProRes,
			// VP9…): its readers are let go; DESCRIBE says why
			f.log.Warn("the stream's video cannot be served over RTSP; its readers are disconnected", "path", fd.path.Name(), "codec", u.Track.Codec)
			fd.setSession(nil)
			cur.ss.Close()
			cur = nil
		}
		// (Re)describe at a key unit when the announced tracks changed.
		if u.Track.Kind == media.KindVideo && u.Key && (u.Track.Codec == media.CodecH264 || u.Track.Codec == media.CodecH265) {
			video, audio := u.Track, announcedAudio(st)
			if cur == nil || !cur.sender.Serves(video, audio) {
				next, err := newSession(f.srv, video, audio)
				if err != nil {
					f.log.Warn("cannot describe stream", "path", fd.path.Name(), "err", err)
					continue
				}
				old := cur
				cur = next
				fd.setSession(cur.ss)
				if old != nil {
					old.ss.Close()
				}
			}
		}
		// With no reader, units are not packetized into RTP at all (a show
		// re-serves every source and the program, mostly to nobody).
		if cur != nil && fd.path.Watchers() > 0 {
			cur.sender.Write(cur.ss, u)
			fd.served.Add(1)
		}
	}
}

// announcedAudio returns the audio track the stream's publisher announced.
func announcedAudio(st *media.Stream) *media.Track {
	for _, t := range st.Tracks() {
		if t.Kind == media.KindAudio {
			return t
		}
	}
	return nil
}

func (fd *feed) setSession(ss *gortsplib.ServerStream) {
	fd.mu.Lock()
	fd.ss = ss
	fd.mu.Unlock()
}

func newSession(srv *gortsplib.Server, video, audio *media.Track) (*session, error) {
	sender, err := rtsp.NewSender(video, audio)
	if err != nil {
		return nil, err
	}
	ss := &gortsplib.ServerStream{Server: srv, Desc: sender.Desc}
	if err := ss.Initialize(); err != nil {
		return nil, err
	}
	return &session{ss: ss, sender: sender}, nil
}
