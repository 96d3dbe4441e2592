package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"switchyard/control"
	"switchyard/internal/servers/srt"
)

// SRTConfig is the SRT listener (UDP): publishers and readers of MPEG-TS,
// named by their stream id (publish:NAME, read:program, …).
type SRTConfig struct {
	// Listen is the UDP address, e.g. ":8890" (MediaMTX's port); a host
	// must be an IP address. Empty turns SRT off.
	Listen string `yaml:"listen"`
	// Latency is the SRT latency the listener offers (the larger of both
	// sides' is used): what the link has to resend lost packets.
	Latency Duration `yaml:"latency"`
	// Passphrase, when set (10 to 79 characters), encrypts every
	// connection (AES); callers without it are refused.
	Passphrase string `yaml:"passphrase"`
	// MaxConnections: connections over it are refused (default 256).
	MaxConnections int `yaml:"max_connections"`
}

// validate checks the SRT keys, naming the one at fault.
func (c SRTConfig) validate() error {
	if c.Listen != "" {
		host, port, err := net.SplitHostPort(c.Listen)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 || (host != "" && net.ParseIP(host) == nil) {
			return &ConfigError{"srt.listen", fmt.Sprintf("%q must be IP:PORT or :PORT (a UDP port; the host an IP address), or empty to turn SRT off", c.Listen)}
		}
	}
	if l := time.Duration(c.Latency); l < 20*time.Millisecond || l > 10*time.Second {
		return &ConfigError{"srt.latency", "must be from 20ms to 10s (SRT's default is 120ms; about 4 × the round trip on a lossy link)"}
	}
	if n := len(c.Passphrase); n != 0 && (n < srt.MinPassphrase || n > srt.MaxPassphrase) {
		return &ConfigError{"srt.passphrase", fmt.Sprintf("is %d characters: SRT takes %d to %d (or empty: no encryption)", n, srt.MinPassphrase, srt.MaxPassphrase)}
	}
	return nil
}

// startSRT starts the SRT listener, unless srt.listen is empty.
func (a *app) startSRT(c SRTConfig, readKey string) error {
	if c.Listen == "" {
		a.log.Info("srt off (srt.listen is empty)")
		return nil
	}
	s := &srt.Server{Address: c.Listen, Latency: time.Duration(c.Latency), Passphrase: c.Passphrase,
		MaxConnections: c.MaxConnections, Registry: a.registry, Paths: a.paths, ReadKey: readKey, Log: a.log}
	if err := s.Start(); err != nil {
		return listenError("srt.listen", c.Listen, err)
	}
	a.srt = s
	return nil
}

// srtAddr is the SRT listener's address, nil when SRT is off.
func (a *app) srtAddr() net.Addr {
	if a.srt == nil {
		return nil
	}
	return a.srt.Addr()
}

// srtListener is the SRT listener for the API, nil (not a nil pointer in
// an interface) when SRT is off.
func (a *app) srtListener() control.SRTListener {
	if a.srt == nil {
		return nil
	}
	return a.srt
}

// mediaRefused counts, per media server, the connections refused over its cap.
func (a *app) mediaRefused() map[string]uint64 {
	m := map[string]uint64{"rtsp": a.rtsp.Refused(), "rtmp": a.rtmp.Refused()}
	if a.srt != nil {
		m["srt"] = a.srt.Refused()
	}
	return m
}
