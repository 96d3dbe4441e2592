package fault

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKinds: an error of a kind matches its kind (and only it) through any
// wrapping, says its own message, and a sentinel made with New stays one.
func TestKinds(t *testing.T) {
	kinds := []error{NotFound, Conflict, Forbidden, Unavailable, NoSpace}
	for _, kind := range kinds {
		t.Run(kind.Error(), func(t *testing.T) {
			sentinel := New(kind, "no such thing")
			err := fmt.Errorf("thing %q: %w", "x", sentinel)
			require.Equal(t, `thing "x": no such thing`, err.Error())
			require.ErrorIs(t, err, kind)
			require.ErrorIs(t, err, sentinel, "the sentinel itself")
			require.NotErrorIs(t, err, New(kind, "no such thing"), "another error of the same words is another error")
			for _, other := range kinds {
				if other != kind {
					require.NotErrorIs(t, err, other)
				}
			}
		})
	}
	require.Equal(t, "3 things", Errorf(Conflict, "%d things", 3).Error())
}

// TestInvalid: a refused value names its field, says its message, is found
// with errors.As through wrapping, and keeps its cause.
func TestInvalid(t *testing.T) {
	cause := errors.New("open logo.png: no such file")
	err := fmt.Errorf("keyer k1: %w", &Invalid{Field: "path", Msg: "path: no such file", Err: cause})
	var inv *Invalid
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "path", inv.Field)
	require.Equal(t, "path: no such file", inv.Error())
	require.ErrorIs(t, err, cause)
	require.Equal(t, &Invalid{Field: "rect", Msg: "rect 1,2"}, Invalidf("rect", "rect %d,%d", 1, 2))
	for _, kind := range []error{NotFound, Conflict, Forbidden, Unavailable, NoSpace} {
		require.NotErrorIs(t, err, kind)
	}
}

// TestTooMany: a cap names itself and is a conflict.
func TestTooMany(t *testing.T) {
	err := fmt.Errorf("source cam9: %w", &TooMany{Limit: "sources", Msg: "a show has at most 64 sources"})
	var many *TooMany
	require.ErrorAs(t, err, &many)
	require.Equal(t, "sources", many.Limit)
	require.ErrorIs(t, err, Conflict)
	require.NotErrorIs(t, err, NotFound)
	require.Equal(t, "source cam9: a show has at most 64 sources", err.Error())
}
