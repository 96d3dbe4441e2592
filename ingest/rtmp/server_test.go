package rtmp

import (
	"testing"
	"time"

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

func TestTimestampsExtendPastWrap(t *testing.T) {
	var ts timestamps
	require.Equal(t, time.Duration(0xFFFFFFF0)*time.Millisecond, ts.extend(0xFFFFFFF0))
	require.Equal(t, time.Duration(1<<32+5)*time.Millisecond, ts.extend(5))
	require.Equal(t, time.Duration(1<<32+3)*time.Millisecond, ts.extend(3), "small steps back are not a wrap")
}
