package serve

import (
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// events is a Listener that notes what it is told.
type events []string

func (e *events) PathAdded(p *Path)   { *e = append(*e, "+"+p.Name()) }
func (e *events) PathRemoved(p *Path) { *e = append(*e, "-"+p.Name()) }

// TestTable: a path is served once under its name and found by it; a
// listener hears of the paths already served, then of each change, and of
// every path it knew when it stops; readers are counted per path.
func TestTable(t *testing.T) {
	tb := NewTable()
	program := media.NewStream()
	require.NoError(t, tb.Add("program", program))
	require.ErrorContains(t, tb.Add("program", media.NewStream()), "already served")
	p, err := tb.Get("program")
	require.NoError(t, err)
	require.Same(t, program, p.Stream())
	_, err = tb.Get("live/cam1")
	require.ErrorIs(t, err, ErrNoStream)

	var ev events
	stop := tb.Listen(&ev)
	require.Equal(t, events{"+program"}, ev)
	require.NoError(t, tb.Add("live/cam1", media.NewStream()))
	tb.Remove("live/cam1")
	tb.Remove("live/cam1") // not served: nothing to tell
	require.Equal(t, events{"+program", "+live/cam1", "-live/cam1"}, ev)

	stopA, stopB := p.Watch(), p.Watch()
	require.Equal(t, 2, p.Watchers())
	stopA()
	stopA() // safe twice
	require.Equal(t, 1, p.Watchers())
	stopB()
	require.Zero(t, p.Watchers())

	stop()
	stop()
	require.Equal(t, events{"+program", "+live/cam1", "-live/cam1", "-program"}, ev)
	require.NoError(t, tb.Add("preview", media.NewStream()))
	require.Len(t, ev, 4, "a listener that stopped hears nothing more")
}
