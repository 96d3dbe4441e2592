package tally

import (
	"fmt"
	"net"
	"regexp"
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

// MaxDestinations is the most tally destinations a show has.
const MaxDestinations = 64

// namePattern is the names of everything in a show.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Config is one tally destination (a show file's tally: entry, or the body
// of POST /api/v1/tally/destinations).
type Config struct {
	// Name names the destination in the API and show.json. The show file
	// may leave it out: its entries are then tally1, tally2… by position.
	Name string `yaml:"name" json:"name"`
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

// WithDefaults returns the config with what it leaves out filled in, as the
// destination runs it (and as show.json keeps it).
func (c Config) WithDefaults() Config {
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
	c = c.WithDefaults()
	if !namePattern.MatchString(c.Name) {
		msg := fmt.Sprintf("tally destination name %q must match %s", c.Name, namePattern)
		if c.Name == "" {
			msg = "a tally destination needs a name (lower-case letters, digits, - and _), e.g. \"desk\""
		}
		return &fault.Invalid{Field: "name", Msg: msg}
	}
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

// Patch is a change to a destination (PATCH /api/v1/tally/destinations/{name}):
// nil fields stay as they are.
type Patch struct {
	Protocol   *string `json:"protocol"`
	Address    *string `json:"address"`
	Transport  *string `json:"transport"`
	Screen     *int    `json:"screen"`
	Brightness *int    `json:"brightness"`
	Wrap       *bool   `json:"wrap"`
}

// apply returns c with the patch's fields.
func (p Patch) apply(c Config) Config {
	if p.Protocol != nil {
		c.Protocol = *p.Protocol
	}
	if p.Address != nil {
		c.Address = *p.Address
	}
	if p.Transport != nil {
		c.Transport = *p.Transport
	}
	if p.Screen != nil {
		c.Screen = *p.Screen
	}
	if p.Brightness != nil {
		b := *p.Brightness
		c.Brightness = &b
	}
	if p.Wrap != nil {
		c.Wrap = *p.Wrap
	}
	return c
}
