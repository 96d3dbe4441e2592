package rtsp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"switchyard/ingest"
	"switchyard/internal/redact"
)

// NewPull returns the pull of an IP camera's RTSP stream (rtsp:// or
// rtsps://, credentials in the URL) into source, not started. The source
// goes connecting → live; when the camera goes away, refuses, or keeps its
// socket open but stops sending for 5 s, it goes retrying (attempt n, next
// try at …, last error) and tries again after 1 s, 2 s, 4 s … 30 s with
// jitter, forever (ingest.Pull).
func NewPull(reg *ingest.Registry, source string, log *slog.Logger) *ingest.Pull {
	log = log.With("component", "ingest.rtsp.pull", "source", source)
	c := &camera{Registry: reg, Source: source, Log: log, ReadTimeout: 5 * time.Second}
	return &ingest.Pull{Registry: reg, Source: source, Log: log, Session: c.session}
}

// camera is the session of a pulled RTSP camera.
type camera struct {
	Registry *ingest.Registry
	Source   string
	Log      *slog.Logger
	// ReadTimeout: a camera that sends nothing this long is reconnected;
	// the set-up requests are bounded by it too.
	ReadTimeout time.Duration
	TLSConfig   *tls.Config // nil: the system roots
}

// session pulls once, until the camera or ctx ends it.
func (p *camera) session(ctx context.Context, cfg ingest.SourceConfig) error {
	u, err := base.ParseURL(cfg.URL)
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	transport := gortsplib.ProtocolTCP
	if cfg.Transport == "udp" {
		transport = gortsplib.ProtocolUDP
	}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, ReadTimeout: p.ReadTimeout, WriteTimeout: p.ReadTimeout,
		Protocol: &transport, TLSConfig: p.TLSConfig, UserAgent: "Switchyard"}
	if err := c.Start(); err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // Close unblocks whatever the client is waiting for
		select {
		case <-ctx.Done():
			c.Close()
		case <-stop:
		}
	}()
	defer c.Close()

	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	in, err := newPublisher(desc, p.Log)
	if err != nil {
		return err
	}
	if _, err := c.Setup(desc.BaseURL, in.video.media, 0, 0); err != nil {
		return fmt.Errorf("setup video: %w", err)
	}
	if in.audio != nil {
		if _, err := c.Setup(desc.BaseURL, in.audio.media, 0, 0); err != nil {
			in.ignored = append(in.ignored, fmt.Sprintf("the audio track could not be set up: %v", err))
			in.audio = nil
		}
	}
	pub, err := p.Registry.Publish(p.Source, cfg.PublishKey, ingest.ProtoRTSPPull)
	if err != nil {
		return err
	}
	defer pub.Close()
	pub.OnKick(c.Close)
	in.claim(pub)
	in.attach(c)
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}
	p.Log.Info("camera connected", "url", redact.URL(cfg.URL), "transport", transport.String())
	err = c.Wait()
	if err == nil {
		err = errors.New("the camera ended the session")
	}
	return err
}
