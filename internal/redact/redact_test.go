package redact

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"rtsp://admin:secret@10.0.0.7:554/stream1", "rtsp://****@10.0.0.7:554/stream1"},
		{"rtsps://admin@cam.example/live", "rtsps://****@cam.example/live"},
		{"rtsp://10.0.0.7:554/stream1", "rtsp://10.0.0.7:554/stream1"},
		{"rtmp://a.rtmp.youtube.com/live2/abcd-efgh-1234", "rtmp://a.rtmp.youtube.com/live2/****"},
		{"rtmps://live-api-s.facebook.com:443/rtmp/FB-123?s_bl=1&s_sc=2", "rtmps://live-api-s.facebook.com:443/rtmp/****?s_bl=1&s_sc=2"},
		{"rtmp://host/app/stream?key=s3cret&x=1", "rtmp://host/app/****?key=****&x=1"},
		{"srt://relay.example:9000?streamid=publish:cam1:K&passphrase=longsecret1&latency=200", "srt://relay.example:9000?streamid=****&passphrase=****&latency=200"},
		{"http://x/api?TOKEN=abc&Sig=def", "http://x/api?TOKEN=****&Sig=****"},
		{"srt://h:9000?passphrase=abcdefghij&klm&latency=20&x", "srt://h:9000?passphrase=****&****&latency=20&x"}, // an unescaped & in a secret
		{"gen://image?path=logo.png", "gen://image?path=logo.png"},
		{"file:intro.mp4", "file:intro.mp4"},
		{"not a url", "****"},
		{"", ""},
		{"rtsp://user:p%40ss@host/x", "rtsp://****@host/x"},
	} {
		require.Equal(t, c.want, URL(c.in), c.in)
	}
}

func TestTextMasksEveryURL(t *testing.T) {
	s := `describe: dial "rtsp://admin:secret@10.0.0.7:554/stream1": refused; also rtmp://h/app/KEY.`
	got := Text(s)
	require.NotContains(t, got, "secret")
	require.NotContains(t, got, "KEY")
	require.Contains(t, got, "rtsp://****@10.0.0.7:554/stream1")
	require.True(t, strings.HasSuffix(got, "rtmp://h/app/****."), got)
	require.Equal(t, "no url here", Text("no url here"))
}

func TestErrorKeepsTheChain(t *testing.T) {
	base := errors.New("refused")
	err := Error(fmt.Errorf("rtsp://u:pw@h/x: %w", base))
	require.NotContains(t, err.Error(), "pw")
	require.ErrorIs(t, err, base)
	require.Nil(t, Error(nil))
	plain := errors.New("plain")
	require.Same(t, plain, Error(plain))
}

func FuzzURLNeverLeaksUserInfo(f *testing.F) {
	for _, s := range []string{"rtsp://a:b@c/d", "rtmp://h/a/k?key=v", "srt://h:1?passphrase=xxxxxxxxxx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := URL(s)
		if i := strings.Index(s, "://"); i > 0 {
			rest := s[i+3:]
			if at := strings.Index(rest, "@"); at > 0 && !strings.ContainsAny(rest[:at], "/?#") {
				if pw := rest[:at]; strings.Contains(out, pw+"@") {
					t.Fatalf("user info %q leaked in %q", pw, out)
				}
			}
		}
	})
}
