package mixer

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/internal/fault"
	"switchyard/mixer/keyer"
)

// TestKeyerSetStandsAlone: the keyers are a part of their own, driven here
// without an engine, a clock or an encoder — the engine is only the hooks
// it gives them (which sources are known, where a change goes on air, who
// is told). A PiP of an unknown source is refused by field, and takes no
// id (the next keyer is k1); going on air
// returns the hook's frame; every command tells; what a deletion frees
// waits for the next tick (freeRetired), and the tick's list follows.
func TestKeyerSetStandsAlone(t *testing.T) {
	ks := newKeyerSet(Config{Width: 320, Height: 180, FPSNum: 30, FPSDen: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ks.known = func(name string) bool { return name == "cam" }
	onAir, told := 0, 0
	ks.onAir = func(set func()) int64 { onAir++; set(); return 41 }
	ks.changed = func() { told++ }
	defer func() { ks.freeRetired(); ks.free() }()
	spec := func(js string) keyer.Spec {
		var s keyer.Spec
		require.NoError(t, json.Unmarshal([]byte(js), &s))
		return s
	}

	_, err := ks.AddKeyer(spec(`{"type":"pip","source":"nope","rect":{"x":0,"y":0,"w":160,"h":90}}`))
	var inv *fault.Invalid
	require.True(t, errors.As(err, &inv), "%v", err)
	require.Equal(t, "source", inv.Field)

	st, err := ks.AddKeyer(spec(`{"type":"pip","source":"cam","rect":{"x":0,"y":0,"w":160,"h":90},"z":2}`))
	require.NoError(t, err)
	pip := st.Spec.ID
	require.Equal(t, "k1", pip, "the refused keyer took no id")
	st, err = ks.AddKeyer(spec(`{"type":"text","text":"hello","z":1}`))
	require.NoError(t, err)
	require.Len(t, ks.onAirList(), 2)
	require.Equal(t, st.Spec.ID, ks.onAirList()[0].spec.ID, "the tick draws in z order")

	st, err = ks.SetKeyerOn(pip, true)
	require.NoError(t, err)
	require.Equal(t, int64(41), st.Frame, "on air from the frame the engine says")
	require.True(t, ks.onAirList()[1].on.Load())

	require.NoError(t, ks.DeleteKeyer(pip))
	require.Len(t, ks.onAirList(), 1, "gone from the tick's list at once")
	ks.retireMu.Lock()
	waiting := len(ks.retired)
	ks.retireMu.Unlock()
	require.Equal(t, 1, waiting, "its PiP frame and scaler wait for the tick after")
	ks.freeRetired()
	require.Empty(t, ks.retired)
	require.ErrorIs(t, ks.DeleteKeyer(pip), ErrUnknownKeyer)

	require.Equal(t, 6, told, "every command tells, refused or not")
	require.Equal(t, 3, onAir, "two adds and one switch went on air where the tick sees them")
}
