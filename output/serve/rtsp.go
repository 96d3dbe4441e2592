// Package serve re-serves streams to local players: the program and every
// source over RTSP (rtsp://HOST:8554/program, rtsp://HOST:8554/live/NAME),
// each with the codecs it came in (H.264 or H.265; AAC, Opus or G.711).
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/gortsplib/v5"

	"switchyard/internal/protocols/rtsp"
	"switchyard/media"
)

// ErrNoStream is returned for a path that is not served or not live yet.
var ErrNoStream = errors.New("nothing is being served at this path")

// RTSP serves media.Streams as RTSP paths through a gortsplib server that
// someone else owns (ingest/rtsp, which also takes publishers on the same port).
type RTSP struct {
	Log *slog.Logger

	srv    *gortsplib.Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	paths map[string]*path
}

// NewRTSP returns a re-server bound to a started gortsplib server.
func NewRTSP(srv *gortsplib.Server, log *slog.Logger) *RTSP {
	ctx, cancel := context.WithCancel(context.Background())
	return &RTSP{Log: log.With("component", "output.serve"), srv: srv, ctx: ctx, cancel: cancel, paths: map[string]*path{}}
}

// path is one served stream and the goroutine that feeds it.
type path struct {
	name   string
	stream *media.Stream
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	ss *gortsplib.ServerStream

	// watchers counts the RTSP readers playing the path: with none, its
	// units are not packetized into RTP at all (a show re-serves every
	// source and the program, mostly to nobody).
	watchers atomic.Int32
	served   atomic.Uint64 // units packetized for readers
}

// Add serves st at name (e.g. "program", "live/cam1"). The RTSP session is
// described from the tracks the stream carries; it is rebuilt at a key unit
// when they change (a new camera resolution), which makes players reconnect.
func (r *RTSP) Add(name string, st *media.Stream) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.paths[name]; ok {
		return fmt.Errorf("path %s is already served", name)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	p := &path{name: name, stream: st, cancel: cancel, done: make(chan struct{})}
	r.paths[name] = p
	reader := st.NewReader(512)
	go func() {
		defer close(p.done)
		defer reader.Close()
		p.run(ctx, r, reader)
	}()
	return nil
}

// Remove stops serving name and disconnects its readers.
func (r *RTSP) Remove(name string) {
	r.mu.Lock()
	p := r.paths[name]
	delete(r.paths, name)
	r.mu.Unlock()
	if p != nil {
		p.cancel()
		<-p.done
	}
}

// ServerStream implements ingest/rtsp.Player.
func (r *RTSP) ServerStream(name string) (*gortsplib.ServerStream, error) {
	r.mu.Lock()
	p := r.paths[name]
	r.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoStream)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ss == nil {
		return nil, fmt.Errorf("%s: %w (no video yet)", name, ErrNoStream)
	}
	return p.ss, nil
}

// Watch implements ingest/rtsp.Player: a reader plays name until stop. A
// path not served has nothing to packetize, and stop is then a no-op.
func (r *RTSP) Watch(name string) (stop func()) {
	r.mu.Lock()
	p := r.paths[name]
	r.mu.Unlock()
	if p == nil {
		return func() {}
	}
	p.watchers.Add(1)
	var once sync.Once
	return func() { once.Do(func() { p.watchers.Add(-1) }) }
}

// Readers returns how many RTSP readers play name now, and how many of its
// units were packetized for readers so far.
func (r *RTSP) Readers(name string) (readers int, unitsServed uint64) {
	r.mu.Lock()
	p := r.paths[name]
	r.mu.Unlock()
	if p == nil {
		return 0, 0
	}
	return int(p.watchers.Load()), p.served.Load()
}

// PlayStream implements ingest/rtmp.Player: "program" is the program, any
// other name a source ("cam1" → live/cam1).
func (r *RTSP) PlayStream(name string) (*media.Stream, error) {
	path := name
	if name != "program" {
		path = "live/" + name
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.paths[path]
	if p == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoStream)
	}
	return p.stream, nil
}

// Close stops every path.
func (r *RTSP) Close() {
	r.cancel()
	r.mu.Lock()
	ps := r.paths
	r.paths = map[string]*path{}
	r.mu.Unlock()
	for _, p := range ps {
		<-p.done
	}
}

// session is the gortsplib stream of one set of tracks and the sender that
// packetizes their units into it.
type session struct {
	ss     *gortsplib.ServerStream
	sender *rtsp.Sender
}

func (p *path) run(ctx context.Context, r *RTSP, reader *media.Reader) {
	var cur *session
	defer func() {
		p.setSession(nil)
		if cur != nil {
			cur.ss.Close()
		}
	}()
	for {
		u, err := reader.Next(ctx)
		if err != nil {
			return
		}
		// (Re)describe at a key unit when the announced tracks changed.
		if u.Track.Kind == media.KindVideo && u.Key && (u.Track.Codec == media.CodecH264 || u.Track.Codec == media.CodecH265) {
			video, audio := u.Track, announcedAudio(p.stream)
			if cur == nil || !cur.sender.Serves(video, audio) {
				next, err := newSession(r.srv, video, audio)
				if err != nil {
					r.Log.Warn("cannot describe stream", "path", p.name, "err", err)
					continue
				}
				old := cur
				cur = next
				p.setSession(cur.ss)
				if old != nil {
					old.ss.Close()
				}
			}
		}
		if cur != nil && p.watchers.Load() > 0 {
			cur.sender.Write(cur.ss, u)
			p.served.Add(1)
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

func (p *path) setSession(ss *gortsplib.ServerStream) {
	p.mu.Lock()
	p.ss = ss
	p.mu.Unlock()
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
