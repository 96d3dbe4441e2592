package main

import (
	"net"
	"time"

	"switchyard/internal/servers/srt"
)

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

// mediaRefused counts, per media server, the connections refused over its cap.
func (a *app) mediaRefused() map[string]uint64 {
	m := map[string]uint64{"rtsp": a.rtsp.Refused(), "rtmp": a.rtmp.Refused()}
	if a.srt != nil {
		m["srt"] = a.srt.Refused()
	}
	return m
}
