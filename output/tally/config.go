package tally

import (
	"fmt"
	"net"
	"strconv"

	"switchyard/internal/fault"
)

// Protocols and transports.
const (
	TSL31 = "tsl31"
	TSL5  = "tsl5"
	UDP   = "udp"
	TCP   = "tcp"
)

// Config is one tally destination (a show file's tally: entry).
type Config struct {
	// Protocol: tsl31 (TSL UMD 3.1, UDP) or tsl5 (TSL UMD 5.0, UDP or TCP).
	Protocol string `yaml:"protocol" json:"protocol"`
	// Address is the receiver's HOST:PORT.
	Address string `yaml:"address" json:"address"`
	// Transport: udp (the default) or tcp (tsl5 only).
	Transport string `yaml:"transport" json:"transport"`
	// Screen is the TSL 5.0 screen index (0–65535; 65535 addresses every screen).
	Screen int `yaml:"screen" json:"screen"`
	// Brightness of the lamps and text, 0–3 (default 3: full).
	Brightness *int `yaml:"brightness" json:"brightness"`
	// Wrap sends TSL 5.0 packets over UDP with the DLE/STX wrapping the
	// spec gives for byte streams (TCP), for receivers that expect it.
	Wrap bool `yaml:"wrap" json:"wrap"`
}

// withDefaults fills what the config leaves out.
func (c Config) withDefaults() Config {
	if c.Transport == "" {
		c.Transport = UDP
	}
	if c.Brightness == nil {
		b := 3
		c.Brightness = &b
	}
	return c
}

// Validate checks a destination; the error names the field at fault.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch c.Protocol {
	case TSL31:
		if c.Transport != UDP {
			return &fault.Invalid{Field: "transport", Msg: fmt.Sprintf("tally %s: TSL 3.1 goes over udp only (transport %q); use protocol tsl5 for tcp", c.Address, c.Transport)}
		}
		if c.Wrap {
			return &fault.Invalid{Field: "wrap", Msg: fmt.Sprintf("tally %s: wrap is TSL 5.0's DLE/STX framing; TSL 3.1 has none", c.Address)}
		}
	case TSL5:
		if c.Transport != UDP && c.Transport != TCP {
			return &fault.Invalid{Field: "transport", Msg: fmt.Sprintf("tally %s: transport %q must be udp or tcp", c.Address, c.Transport)}
		}
	default:
		return &fault.Invalid{Field: "protocol", Msg: fmt.Sprintf("tally protocol %q must be tsl31 (TSL UMD 3.1) or tsl5 (TSL UMD 5.0)", c.Protocol)}
	}
	host, port, err := net.SplitHostPort(c.Address)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || host == "" || n < 1 || n > 65535 {
		return &fault.Invalid{Field: "address", Msg: fmt.Sprintf("tally address %q must be HOST:PORT, the receiver's (e.g. 10.0.0.20:8900)", c.Address)}
	}
	if c.Screen < 0 || c.Screen > 0xFFFF {
		return &fault.Invalid{Field: "screen", Msg: fmt.Sprintf("tally %s: screen %d must be 0–65535", c.Address, c.Screen)}
	}
	if b := *c.Brightness; b < 0 || b > 3 {
		return &fault.Invalid{Field: "brightness", Msg: fmt.Sprintf("tally %s: brightness %d must be 0–3 (3: full)", c.Address, b)}
	}
	return nil
}
