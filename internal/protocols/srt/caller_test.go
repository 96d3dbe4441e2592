package srt

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/internal/redact"
)

// urlCases feed TestParseURL and FuzzParseURL's seeds. A refusal's error
// must contain err and none of the SECRET… strings.
var urlCases = []struct {
	raw  string
	want Target
	err  string
}{
	{raw: "srt://relay.example:9000?streamid=publish:cam1:SECRETKEY&passphrase=SECRETPASS1&latency=200",
		want: Target{Addr: "relay.example:9000", StreamID: "publish:cam1:SECRETKEY", Passphrase: "SECRETPASS1", Latency: 200 * time.Millisecond}},
	{raw: "srt://127.0.0.1:9000", want: Target{Addr: "127.0.0.1:9000"}},
	{raw: "srt://[::1]:9000?mode=caller&latency=0", want: Target{Addr: "[::1]:9000"}},
	{raw: "srt://h:9000?streamid=%23!::r=live/SECRETX,m=publish", want: Target{Addr: "h:9000", StreamID: "#!::r=live/SECRETX,m=publish"}},
	{raw: "srt://h:9000?passphrase=SECRET%26PASS1", want: Target{Addr: "h:9000", Passphrase: "SECRET&PASS1"}},
	{raw: "srt://h?streamid=SECRETA", err: "an SRT address needs a host and a UDP port"},
	{raw: "srt://h:0", err: `port "0" is not a UDP port`},
	{raw: "srt://user:SECRETB@h:9000", err: "give the passphrase as ?passphrase="},
	{raw: "srt://h:9000/live/SECRETC", err: "an SRT address has no path"},
	{raw: "srt://h:9000?mode=listener", err: "mode=listener is not taken: Switchyard calls the remote"},
	{raw: "srt://h:9000?mode=rendezvous", err: "mode=rendezvous is not taken"},
	{raw: "srt://h:9000?latency=200000", err: "latency 200000 is in milliseconds here, at most 10000 (ffmpeg's srt:// latency is in microseconds"},
	{raw: "srt://h:9000?latency=soon", err: `latency "soon" must be a number of milliseconds`},
	{raw: "srt://h:9000?passphrase=SECRETD", err: "passphrase: 7 characters; SRT takes 10 to 79"},
	{raw: "srt://h:9000?passphrase=SECRETPASS&WORDE", err: "a query parameter without a value (write & as %26"},
	{raw: "srt://h:9000?passphrase=SECRETPASS&PAS=WORDF", err: "a query parameter srt:// does not take"},
	{raw: "srt://h:9000?passphrase=SECRETPASS1#SECRETG", err: "the URL has a # in it"},
	{raw: "srt://h:9000?pbkeylen=32", err: "pbkeylen is not taken"},
	{raw: "rtmp://h:9000/app/SECRETH", err: `scheme "rtmp" is not srt`},
}

func TestParseURL(t *testing.T) {
	for _, c := range urlCases {
		got, err := ParseURL(c.raw)
		if c.err == "" {
			require.NoError(t, err, c.raw)
			require.Equal(t, c.want, got, c.raw)
			continue
		}
		require.ErrorContains(t, err, c.err, c.raw)
		require.NotContains(t, err.Error(), "SECRET", "%s: the error shows no secret", c.raw)
	}
}

// FuzzParseURL: whatever the URL, a parse that succeeds gives a target that
// the same URL written cleanly gives back, and whose passphrase and stream
// id the masked URL does not show.
func FuzzParseURL(f *testing.F) {
	for _, c := range urlCases {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := ParseURL(raw)
		if err != nil {
			return
		}
		q := url.Values{}
		if got.StreamID != "" {
			q.Set("streamid", got.StreamID)
		}
		if got.Passphrase != "" {
			q.Set("passphrase", got.Passphrase)
		}
		again, err := ParseURL("srt://" + got.Addr + "?" + q.Encode())
		require.NoError(t, err, raw)
		got.Latency = 0
		require.Equal(t, got, again, raw)

		masked := redact.URL(raw)
		rest := strings.ReplaceAll(masked, redact.Mask, "") // what the masked URL shows
		for _, s := range []string{got.Passphrase, got.StreamID} {
			if len(s) >= 4 && !strings.Contains("srt://"+got.Addr+"?=&streamidpassphraselatencymodecaller0123456789", s) {
				require.NotContains(t, rest, s, "%s masked as %s", raw, masked)
			}
		}
	})
}
