// Package redact hides secrets in URLs before they are printed: in errors,
// log lines, API answers and metrics. It is the one place that knows what a
// secret looks like in a URL, so every part of Switchyard prints URLs the
// same way.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask stands in for a secret.
const Mask = "****"

// secretParams are query parameters whose values are secrets: stream and
// publish keys, passwords, SRT passphrases and stream ids (which carry the
// key: "publish:cam1:KEY"), tokens and signatures.
var secretParams = map[string]bool{
	"key": true, "password": true, "pass": true, "passwd": true, "passphrase": true, "pwd": true,
	"token": true, "access_token": true, "auth": true, "authorization": true, "secret": true,
	"sig": true, "signature": true, "streamid": true, "streamkey": true, "stream_key": true,
	"apikey": true, "api_key": true, "credential": true, "credentials": true,
}

// SecretParam reports whether a query parameter's value is treated as a secret.
func SecretParam(name string) bool { return secretParams[strings.ToLower(name)] }

// URL returns raw with its secrets masked: the user information (user and
// password), the values of secret-looking query parameters, and for RTMP
// the stream name (rtmp://HOST/APP/**** — a platform's stream key is the
// last path element). A string that does not parse as a URL with a scheme
// and host is masked whole, since its secrets cannot be found.
func URL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return Mask
	}
	if u.Scheme == "gen" || u.Scheme == "file" {
		return raw // no secrets: a generator or a file name
	}
	if u.Host == "" && u.Opaque != "" {
		return u.Scheme + ":" + Mask
	}
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(Mask)
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	path := u.EscapedPath()
	if strings.HasPrefix(u.Scheme, "rtmp") {
		p := strings.TrimRight(path, "/")
		if i := strings.LastIndex(p, "/"); i > 0 {
			path = p[:i+1] + Mask
		}
	}
	b.WriteString(path)
	if u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(query(u.RawQuery))
	}
	return b.String()
}

// query masks the values of secret parameters in a raw query, keeping the
// others and the order. A part without "=" right after a secret is masked
// too: it is the rest of a secret with an unescaped & in it
// (passphrase=abc&def).
func query(raw string) string {
	parts := strings.Split(raw, "&")
	inSecret := false
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			if inSecret && p != "" {
				parts[i] = Mask
			}
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		inSecret = SecretParam(name)
		if inSecret {
			parts[i] = k + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// urlInText finds URLs with a scheme in free text (an error message): a
// scheme, "://", then anything up to white space or a quote.
var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

// Text returns s with every URL in it masked (see URL), for error messages
// and log lines that may quote a URL given to a library.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, func(m string) string {
		// a URL quoted at the end of a sentence keeps its punctuation outside
		trail := ""
		for len(m) > 0 && strings.ContainsRune(".,;:)]", rune(m[len(m)-1])) {
			trail = m[len(m)-1:] + trail
			m = m[:len(m)-1]
		}
		return URL(m) + trail
	})
}

// Error returns err's message with its URLs masked (nil for nil).
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := Text(msg); red != msg {
		return &redacted{msg: red, err: err}
	}
	return err
}

// redacted is an error whose message is masked; errors.Is and errors.As
// still see the original.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
