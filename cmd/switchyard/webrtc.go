package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"switchyard/control"
	"switchyard/internal/servers/webrtc"
)

// WebRTCConfig is WebRTC's one UDP port (WHIP ingest at /whip/{source} on
// the HTTP listener, the guest page /guest/{source}; docs/webrtc.md).
type WebRTCConfig struct {
	// UDP is the one UDP port all WebRTC media goes through (ICE over a
	// mux), e.g. ":8189"; a host must be an IP address. Empty turns WebRTC off.
	UDP string `yaml:"udp"`
	// PublicIPs are the addresses clients reach the UDP port at when it is
	// behind a NAT with a 1:1 mapping (a cloud machine's public address).
	PublicIPs []string `yaml:"public_ips"`
	// STUN are STUN servers ("stun:stun.example.org:3478") handed to
	// clients with the answer and used by the server.
	STUN []string `yaml:"stun"`
	// TURN are TURN relays handed to clients likewise.
	TURN []TURNConfig `yaml:"turn"`
}

// TURNConfig is one TURN relay.
type TURNConfig struct {
	// URL is "turn:HOST:PORT" (or "turns:", "?transport=tcp").
	URL        string `yaml:"url"`
	Username   string `yaml:"username"`
	Credential string `yaml:"credential"`
}

// validate checks the WebRTC keys, naming the one at fault.
func (c WebRTCConfig) validate() error {
	if c.UDP != "" {
		host, port, err := net.SplitHostPort(c.UDP)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 || (host != "" && net.ParseIP(host) == nil) {
			return &ConfigError{"webrtc.udp", fmt.Sprintf("%q must be IP:PORT or :PORT (a UDP port; the host an IP address), or empty to turn WebRTC off", c.UDP)}
		}
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return &ConfigError{"webrtc.public_ips", fmt.Sprintf("%q is not an IP address (the address clients reach the UDP port at)", ip)}
		}
	}
	for _, u := range c.STUN {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
			return &ConfigError{"webrtc.stun", fmt.Sprintf("%q must be a stun: or stuns: URL, e.g. stun:stun.example.org:3478", u)}
		}
	}
	for _, t := range c.TURN {
		if !strings.HasPrefix(t.URL, "turn:") && !strings.HasPrefix(t.URL, "turns:") {
			return &ConfigError{"webrtc.turn", fmt.Sprintf("%q must be a turn: or turns: URL, e.g. turn:turn.example.org:3478", t.URL)}
		}
		if t.Username == "" || t.Credential == "" {
			return &ConfigError{"webrtc.turn", fmt.Sprintf("%s needs a username and a credential", t.URL)}
		}
	}
	return nil
}

// iceServers are the STUN and TURN servers as the WebRTC server takes them.
func (c WebRTCConfig) iceServers() []webrtc.ICEServer {
	var out []webrtc.ICEServer
	if len(c.STUN) > 0 {
		out = append(out, webrtc.ICEServer{URLs: c.STUN})
	}
	for _, t := range c.TURN {
		out = append(out, webrtc.ICEServer{URLs: []string{t.URL}, Username: t.Username, Credential: t.Credential})
	}
	return out
}

// startWebRTC opens WebRTC's UDP port, unless webrtc.udp is empty.
func (a *app) startWebRTC(c WebRTCConfig, readKey string) error {
	if c.UDP == "" {
		a.log.Info("webrtc off (webrtc.udp is empty)")
		return nil
	}
	s := &webrtc.Server{UDP: c.UDP, PublicIPs: c.PublicIPs, ICEServers: c.iceServers(), Registry: a.registry,
		Paths: a.paths, ReadKey: readKey, Log: a.log}
	if err := s.Start(); err != nil {
		return listenError("webrtc.udp", c.UDP, err)
	}
	a.webrtc = s
	return nil
}

// webrtcServer is the WebRTC server for the API, nil (not a nil pointer in
// an interface) when WebRTC is off.
func (a *app) webrtcServer() control.WebRTC {
	if a.webrtc == nil {
		return nil
	}
	return a.webrtc
}
