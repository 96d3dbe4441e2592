package rtmp

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStreamName(t *testing.T) {
	for _, c := range []struct{ in, name, key string }{
		{"cam2?key=s3cret", "cam2", "s3cret"},
		{"cam1", "cam1", ""},
		{"cam1?other=1&key=k", "cam1", "k"},
		{"", "", ""},
	} {
		n, k := ParseStreamName(c.in)
		require.Equal(t, c.name, n, c.in)
		require.Equal(t, c.key, k, c.in)
	}
}
