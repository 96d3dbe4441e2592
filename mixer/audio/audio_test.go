package audio

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/internal/fault"
)

// A source's weight follows its mode, the picture (crossfaded by the
// transition), its mute and its gain.
func TestWeight(t *testing.T) {
	minus6 := float32(math.Pow(10, -6.0/20))
	for _, c := range []struct {
		name     string
		s        Settings
		onA, onB bool
		bGain    float64
		want     float32
	}{
		{"afv on program", Settings{Mode: ModeAFV}, true, false, 0, 1},
		{"afv off air", Settings{Mode: ModeAFV}, false, false, 0, 0},
		{"afv going out, a quarter in", Settings{Mode: ModeAFV}, true, false, 0.25, 0.75},
		{"afv coming in, a quarter in", Settings{Mode: ModeAFV}, false, true, 0.25, 0.25},
		{"afv on both sides", Settings{Mode: ModeAFV}, true, true, 0.25, 1},
		{"on, off air", Settings{Mode: ModeOn}, false, false, 0, 1},
		{"off on program", Settings{Mode: ModeOff}, true, false, 0, 0},
		{"muted", Settings{Mode: ModeOn, Mute: true}, true, false, 0, 0},
		{"gain", Settings{Mode: ModeOn, GainDB: -6}, false, false, 0, minus6},
	} {
		require.InDelta(t, c.want, Weight(c.s, c.onA, c.onB, c.bGain), 1e-6, c.name)
	}
}

// The master's gain, mute and the fade to black scale the mix.
func TestMasterAndMixInto(t *testing.T) {
	buf := []float32{0, 0}
	MixInto(buf, []float32{0.5, -0.5}, 1)
	MixInto(buf, []float32{0.25, 0.25}, 2)
	require.Equal(t, []float32{1, 0}, buf)
	Master(buf, Settings{}, 0.5)
	require.Equal(t, []float32{0.5, 0}, buf, "half faded")
	Master(buf, Settings{GainDB: 20}, 1)
	require.InDelta(t, 5, buf[0], 1e-5, "+20 dB")
	Master(buf, Settings{Mute: true}, 1)
	require.Equal(t, []float32{0, 0}, buf, "muted")
}

// A patch changes what it names, or nothing and says which field is wrong.
func TestPatchApply(t *testing.T) {
	g, bad, mode := -6.0, 21.0, "sideways"
	s := Settings{Mode: ModeAFV}
	require.NoError(t, Patch{GainDB: &g}.Apply(&s, false))
	require.Equal(t, Settings{GainDB: -6, Mode: ModeAFV}, s)
	var fe *fault.Invalid
	require.True(t, errors.As(Patch{GainDB: &bad}.Apply(&s, false), &fe))
	require.Equal(t, "gain_db", fe.Field)
	require.True(t, errors.As(Patch{Mode: &mode}.Apply(&s, false), &fe))
	require.Equal(t, "mode", fe.Field)
	on := ModeOn
	require.True(t, errors.As(Patch{Mode: &on}.Apply(&s, true), &fe), "the master has no mode")
	require.Equal(t, Settings{GainDB: -6, Mode: ModeAFV}, s, "a refused patch changes nothing")
}

// The limiter holds a loud block at its ceiling.
func TestLimiterCeiling(t *testing.T) {
	var l Limiter
	buf := make([]float32, 2*480)
	for i := range buf {
		buf[i] = 1.5
	}
	l.Process(buf, 0.01)
	for _, v := range buf {
		require.LessOrEqual(t, v, float32(limitCeiling)+1e-6)
	}
}
