package srt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var streamIDCases = []struct {
	in   string
	want StreamID
	err  string
}{
	{"publish:cam1", StreamID{ModePublish, "cam1", ""}, ""},
	{"publish:cam1:s3cret", StreamID{ModePublish, "cam1", "s3cret"}, ""},
	{"publish:cam1:a:b", StreamID{ModePublish, "cam1", "a:b"}, ""}, // the key is all after the second colon
	{"read:program", StreamID{ModeRead, "program", ""}, ""},
	{"read:preview:k", StreamID{ModeRead, "preview", "k"}, ""},
	{"#!::r=cam2,m=publish,s=KEY", StreamID{ModePublish, "cam2", "KEY"}, ""},
	{"#!::m=publish,r=cam2", StreamID{ModePublish, "cam2", ""}, ""},
	{"#!::r=program", StreamID{ModeRead, "program", ""}, ""},
	{"#!::r=program,m=request,u=ops,s=k", StreamID{ModeRead, "program", "k"}, ""},
	{"", StreamID{}, "stream id not understood"},
	{"cam1", StreamID{}, "stream id not understood"},
	{"play:cam1", StreamID{}, `"play" is not publish or read`},
	{"publish:", StreamID{}, "no name"},
	{"publish:../etc", StreamID{}, "a character a source name cannot have"},
	{"publish:cam 1", StreamID{}, "a character a source name cannot have"},
	{"#!::r=cam2,m=bidirectional", StreamID{}, "use m=publish or m=request"},
	{"#!::r=a,r=b", StreamID{}, "r given twice"},
	{"#!::garbage", StreamID{}, "is not key=value"},
	{"#!::m=publish", StreamID{}, "no name"},
	{"publish:" + strings.Repeat("x", 600), StreamID{}, "bytes long"},
}

// TestParseStreamID: both forms, and every refusal says what is wrong.
func TestParseStreamID(t *testing.T) {
	for _, c := range streamIDCases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseStreamID(c.in)
			if c.err != "" {
				require.ErrorIs(t, err, ErrBadStreamID)
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// TestRedaction: a key never reaches the log, parsed or not.
func TestRedaction(t *testing.T) {
	id, err := ParseStreamID("publish:cam1:s3cret")
	require.NoError(t, err)
	require.Equal(t, "publish:cam1:****", id.Redacted())
	require.Equal(t, "publish:cam1:****", redactRaw("publish:cam1:s3cret"))
	require.Equal(t, "#!::r=cam1,s=****,m=bogus", redactRaw("#!::r=cam1,s=s3cret,m=bogus"))
	require.LessOrEqual(t, len(redactRaw(strings.Repeat("y", 600))), 64+len("…"))
}

// FuzzParseStreamID: a stream id taken is one the caller could write again
// in the short form and get the same request back, and its redaction
// shows no key.
func FuzzParseStreamID(f *testing.F) {
	for _, c := range streamIDCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseStreamID(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadStreamID)
			return
		}
		require.NotEmpty(t, id.Name)
		short := string(id.Mode) + ":" + id.Name
		if id.Key != "" {
			require.Equal(t, short+":****", id.Redacted(), "the key masked whole")
			short += ":" + id.Key
		}
		again, err := ParseStreamID(short)
		require.NoError(t, err)
		require.Equal(t, id, again)
	})
}
