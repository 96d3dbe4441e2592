package main

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/ingest/gen"
)

// TokenConfig is one API credential of http.tokens.
type TokenConfig struct {
	// Name says who, in the audit log and in refusals.
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
	// Role is admin (everything), director (buses, transitions, keyers,
	// recording, clips, replays), audio (the audio routes) or viewer (GETs).
	Role string `yaml:"role"`
}

var tokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// validateHTTP checks http.*: tokens, hosts, origins, and that a control
// API served beyond this machine has a token.
func (c *Config) validateHTTP() error {
	h := c.HTTP
	names := map[string]bool{"open": true, "anonymous": true} // what the audit log calls requests without a token
	secrets := map[string]bool{}
	if h.Token != "" {
		names["admin"], secrets[h.Token] = true, true
	}
	for i, t := range h.Tokens {
		key := fmt.Sprintf("http.tokens[%d]", i)
		switch {
		case !tokenName.MatchString(t.Name):
			return &ConfigError{key + ".name", fmt.Sprintf("%q must match %s", t.Name, tokenName)}
		case names[t.Name]:
			return &ConfigError{key + ".name", fmt.Sprintf("%q is taken (admin is http.token's name; open and anonymous are the audit log's)", t.Name)}
		case strings.TrimSpace(t.Token) == "":
			return &ConfigError{key + ".token", "is empty"}
		case secrets[t.Token]:
			return &ConfigError{key + ".token", "is another entry's token too; each token says who it is"}
		}
		ok := false
		for _, r := range control.Roles {
			ok = ok || string(r) == t.Role
		}
		if !ok {
			return &ConfigError{key + ".role", fmt.Sprintf("%q: use admin, director, audio or viewer", t.Role)}
		}
		names[t.Name], secrets[t.Token] = true, true
	}
	for i, name := range h.Hosts {
		if name == "" || strings.ContainsAny(name, "/ []") || (strings.Contains(name, ":") && net.ParseIP(name) == nil) {
			return &ConfigError{fmt.Sprintf("http.hosts[%d]", i), fmt.Sprintf("%q must be a host name or address, without port or scheme", name)}
		}
	}
	for i, o := range h.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return &ConfigError{fmt.Sprintf("http.allowed_origins[%d]", i), fmt.Sprintf("%q must be an origin: http(s)://HOST[:PORT]", o)}
		}
	}
	if h.Token == "" && len(h.Tokens) == 0 && !h.Insecure && !loopbackListen(h.Listen) {
		return &ConfigError{"http.listen", fmt.Sprintf("%q serves the control API beyond this machine with no token: set http.token "+
			"(or http.tokens), or http.insecure: true to serve it open to everyone who can reach it", h.Listen)}
	}
	return nil
}

// loopbackListen reports whether a listen address is on loopback only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// controlTokens are http.token and http.tokens for the control server.
func (h HTTPConfig) controlTokens() []control.Token {
	out := make([]control.Token, 0, len(h.Tokens))
	for _, t := range h.Tokens {
		out = append(out, control.Token{Name: t.Name, Secret: t.Token, Role: control.Role(t.Role)})
	}
	return out
}

// validateCaps refuses a config with more sources or generators than a
// show runs.
func (c *Config) validateCaps() error {
	if len(c.Sources) > ingest.MaxSources {
		return &ConfigError{"sources", fmt.Sprintf("lists %d sources; a show has at most %d", len(c.Sources), ingest.MaxSources)}
	}
	gens := 0
	for i, s := range c.Sources {
		if strings.HasPrefix(s.URL, "gen://") {
			if gens++; gens > gen.MaxGenerators {
				return &ConfigError{fmt.Sprintf("sources[%d].url", i), fmt.Sprintf("a show runs at most %d generators (gen://)", gen.MaxGenerators)}
			}
		}
	}
	return nil
}
