package bus

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/internal/fault"
	"switchyard/mixer/clock"
)

var r30 = clock.Rate{Num: 30, Den: 1}

func newBuses(t *testing.T) (*Buses, *[]Done) {
	t.Helper()
	b := New(r30)
	var done []Done
	b.OnFinish = func(d Done) { done = append(done, d) }
	return b, &done
}

// Buses start black; a hot cut and a CUT take effect from the frame they
// name, and the state says so.
func TestCutsAreFrameExact(t *testing.T) {
	b, done := newBuses(t)
	require.Equal(t, Shot{Program: Black, Preview: Black}, b.At(0))
	b.SetProgram("cam1", 1)
	b.SetPreview("cam2", 1)
	require.Equal(t, State{Program: "cam1", Preview: "cam2", Frame: 1, Transition: TransitionState{Transition: DefaultTransition}}, b.State(0))
	require.Equal(t, "cam1", b.At(1).Program)
	b.Cut(2)
	s := b.At(2)
	require.Equal(t, "cam2", s.Program)
	require.Equal(t, "cam1", s.Preview)
	require.Nil(t, s.Transition)
	require.Empty(t, *done, "a cut is no transition")
}

// An automatic mix runs its length in frames from its first frame, then
// the frame that reaches 1 is all preview and the buses swap.
func TestAutoStepsFrameByFrame(t *testing.T) {
	b, done := newBuses(t)
	b.SetProgram("cam1", 0)
	b.SetPreview("cam2", 0)
	require.NoError(t, b.Auto(Transition{Type: TransMix, DurationMS: 100}, 10)) // 3 frames at 30 fps
	for n, want := range map[int64]float64{10: 0, 11: 1.0 / 3, 12: 2.0 / 3} {
		s := b.At(n)
		require.NotNil(t, s.Transition, "frame %d", n)
		require.InDelta(t, want, s.Position, 1e-9, "frame %d", n)
		require.Equal(t, "cam1", s.Program)
		require.Equal(t, "cam2", s.Preview)
	}
	st := b.State(11)
	require.True(t, st.Transition.Active)
	require.InDelta(t, 1.0/3, st.Transition.Position, 1e-9)
	s := b.At(13)
	require.Nil(t, s.Transition)
	require.Equal(t, "cam2", s.Program, "complete: the buses swapped")
	require.Equal(t, "cam1", s.Preview)
	require.Equal(t, []Done{{Transition: Transition{Type: TransMix, DurationMS: 100, Color: "black", Direction: WipeLeft,
		SoftnessPx: DefaultTransition.SoftnessPx}, Seq: 1, Start: 10, At: 13, From: "cam1", To: "cam2"}}, *done)
}

// The T-bar drives the default transition; back to 0 abandons it, 1 completes
// it; a command during a transition completes it first.
func TestTBarAndCommandsDuringATransition(t *testing.T) {
	b, done := newBuses(t)
	b.SetProgram("cam1", 0)
	b.SetPreview("cam2", 0)
	require.NoError(t, b.SetPosition(0.25, 5))
	s := b.At(5)
	require.NotNil(t, s.Transition)
	require.True(t, s.Transition.Manual)
	require.Equal(t, 0.25, s.Position)
	require.Equal(t, 0.25, b.At(50).Position, "a manual transition stays where the T-bar is")
	require.NoError(t, b.SetPosition(0, 51))
	require.Nil(t, b.At(51).Transition, "back to 0: abandoned")
	require.Empty(t, *done)
	require.NoError(t, b.SetPosition(0.5, 52))
	require.NoError(t, b.SetPosition(1, 53))
	require.Equal(t, "cam2", b.At(53).Program)
	require.Len(t, *done, 1)
	require.Equal(t, Done{Transition: DefaultTransition, Seq: 2, Start: 52, At: 53, From: "cam1", To: "cam2"}, (*done)[0])

	require.NoError(t, b.Auto(Transition{DurationMS: 1000}, 60))
	b.Cut(61)
	require.Equal(t, "cam1", b.At(61).Program, "CUT during a transition finishes it")
	require.Len(t, *done, 2)
	require.NoError(t, b.Auto(Transition{}, 70))
	b.SetProgram("cam3", 72)
	s = b.At(72)
	require.Equal(t, "cam3", s.Program, "a hot cut during a transition finishes it, then cuts")
	require.Equal(t, "cam1", s.Preview)
	require.Equal(t, int64(72), (*done)[2].At)
}

// Fade to black ramps over the default transition, and back up from where
// it stands.
func TestFTB(t *testing.T) {
	b, _ := newBuses(t)
	require.NoError(t, b.SetTransition(Transition{DurationMS: 100})) // 3 frames
	b.FTB(10)
	require.True(t, b.State(10).FTB)
	for n, want := range map[int64]float64{9: 0, 10: 0, 11: 1.0 / 3, 13: 1, 100: 1} {
		require.InDelta(t, want, b.At(n).FTB, 1e-9, "frame %d", n)
	}
	b.FTB(11) // back up from a third
	require.False(t, b.State(11).FTB)
	require.InDelta(t, 1.0/3, b.At(11).FTB, 1e-9)
	require.InDelta(t, 0, b.At(14).FTB, 1e-9)
}

// A removed source leaves the buses black; bad transitions and positions are
// refused with the field at fault, and change nothing.
func TestRemoveAndRefusals(t *testing.T) {
	b, _ := newBuses(t)
	b.SetProgram("cam1", 0)
	b.SetPreview("cam1", 0)
	b.Remove("cam1")
	require.Equal(t, Shot{Program: Black, Preview: Black}, b.At(1))
	for field, tr := range map[string]Transition{
		"type": {Type: "spin"}, "duration_ms": {DurationMS: 70_000}, "color": {Color: "mauvish"},
		"direction": {Direction: "sideways"}, "softness_px": {SoftnessPx: new(-1)},
	} {
		var fe *fault.Invalid
		require.True(t, errors.As(b.Auto(tr, 2), &fe), field)
		require.Equal(t, field, fe.Field)
		require.True(t, errors.As(b.SetTransition(tr), &fe), field)
	}
	require.Nil(t, b.Active())
	require.Equal(t, DefaultTransition, b.Default())
	var fe *fault.Invalid
	require.True(t, errors.As(b.SetPosition(1.5, 2), &fe))
	require.Equal(t, "position", fe.Field)
}

// A stinger names its clip and a cut inside a minute; AUTO with only a
// type takes the default's clip and cut when the default is a stinger, and
// other types carry neither.
func TestStingerTransition(t *testing.T) {
	cut := 400
	def := Transition{Type: TransStinger, Clip: "sting.mov", CutAtMS: &cut, DurationMS: 1200}.WithDefaults(DefaultTransition)
	require.NoError(t, def.Validate())
	got := Transition{Type: TransStinger}.WithDefaults(def)
	require.Equal(t, "sting.mov", got.Clip)
	require.Equal(t, 400, *got.CutAtMS)
	require.Equal(t, 1200, got.DurationMS)
	mix := Transition{Type: TransMix}.WithDefaults(def)
	require.Empty(t, mix.Clip)
	require.Nil(t, mix.CutAtMS)
	for _, tc := range []struct {
		t     Transition
		field string
	}{
		{Transition{Type: TransStinger}, "clip"},
		{Transition{Type: TransStinger, Clip: "s.mov", CutAtMS: new(-1)}, "cut_at_ms"},
		{Transition{Type: TransStinger, Clip: "s.mov", CutAtMS: new(MaxCutAtMS + 1)}, "cut_at_ms"},
		{Transition{Type: "slide"}, "type"},
	} {
		err := tc.t.WithDefaults(DefaultTransition).Validate()
		var inv *fault.Invalid
		require.ErrorAs(t, err, &inv, "%+v", tc.t)
		require.Equal(t, tc.field, inv.Field)
	}
}
