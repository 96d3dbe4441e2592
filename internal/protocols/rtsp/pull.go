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

	"switchyard/internal/redact"
	"switchyard/media"
)

// PullConfig is one pull of a camera.
type PullConfig struct {
	// URL is rtsp:// or rtsps://, credentials in it.
	URL string
	// Transport is "udp" or, by default, TCP.
	Transport string
	// ReadTimeout: a camera that sends nothing this long is dropped; the
	// set-up requests are bounded by it too.
	ReadTimeout time.Duration
	// TLSConfig for rtsps:// cameras; nil uses the system roots.
	TLSConfig *tls.Config
	// Log is the pull's logger.
	Log *slog.Logger
}

// Pull plays a camera once, until it or ctx ends the session: DESCRIBE,
// SETUP of the tracks a Receiver takes, then publish (called once the
// camera is set up) takes the units from PLAY on. The error says why the
// session ended.
func Pull(ctx context.Context, c PullConfig, publish func() (media.Publisher, error)) error {
	u, err := base.ParseURL(c.URL)
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	transport := gortsplib.ProtocolTCP
	if c.Transport == "udp" {
		transport = gortsplib.ProtocolUDP
	}
	cl := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, ReadTimeout: c.ReadTimeout, WriteTimeout: c.ReadTimeout,
		Protocol: &transport, TLSConfig: c.TLSConfig, UserAgent: "Switchyard"}
	if err := cl.Start(); err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // Close unblocks whatever the client is waiting for
		select {
		case <-ctx.Done():
			cl.Close()
		case <-stop:
		}
	}()
	defer cl.Close()

	desc, _, err := cl.Describe(u)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	in, err := NewReceiver(desc, c.Log)
	if err != nil {
		return err
	}
	vm, am := in.Medias()
	if _, err := cl.Setup(desc.BaseURL, vm, 0, 0); err != nil {
		return fmt.Errorf("setup video: %w", err)
	}
	if am != nil {
		if _, err := cl.Setup(desc.BaseURL, am, 0, 0); err != nil {
			in.DropAudio(fmt.Sprintf("the audio track could not be set up: %v", err))
		}
	}
	pub, err := publish()
	if err != nil {
		return err
	}
	defer pub.Close()
	pub.OnKick(cl.Close)
	in.Claim(pub)
	in.Attach(BySenderReports(cl))
	if _, err := cl.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}
	c.Log.Info("camera connected", "url", redact.URL(c.URL), "transport", transport.String())
	err = cl.Wait()
	if err == nil {
		err = errors.New("the camera ended the session")
	}
	return err
}
