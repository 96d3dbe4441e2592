package mixer

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer/audio"
	"switchyard/mixer/clock"
)

// TestSwitcherStandsAlone: the switcher is a part of its own, driven here
// without an engine, a clock or an encoder — the program clock is only the
// tick it is handed (take). A bus refuses a source it does not have; a cut
// is logged at the first frame that shows it, a key frame asked for at the
// next frame, a source muted at the frame it takes effect; a source
// removed leaves its bus to black; the keyers' hooks see its sources and
// its frames.
func TestSwitcherStandsAlone(t *testing.T) {
	cfg := Config{Width: 320, Height: 180, FPSNum: 30, FPSDen: 1, StaleAfter: 500 * time.Millisecond}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	black, err := av.NewFrame(cfg.Width, cfg.Height)
	require.NoError(t, err)
	defer black.Free()
	var tickN atomic.Int64
	s := newSwitcher(cfg, log, black, &tickN, func() time.Duration { return 0 }, 2*1600)
	defer s.close()
	ks := newKeyerSet(cfg, log)
	ks.known, ks.onAir = s.knownNow, s.onAir
	ks.changed = func() {}
	defer func() { ks.freeRetired(); ks.free() }()

	_, err = s.SetProgram("cam")
	require.True(t, errors.Is(err, ErrUnknownSource), "%v", err)
	require.False(t, ks.known("cam"))
	require.NoError(t, s.AddInput("cam", media.NewStream(), 0))
	require.Error(t, s.AddInput("cam", media.NewStream(), 0), "a name taken")
	require.True(t, ks.known("cam"))
	st, err := s.SetProgram("cam")
	require.NoError(t, err)
	require.Equal(t, "cam", st.Program)

	frame := func(n int64) shot {
		t.Helper()
		var tm clock.FrameTiming
		sh := s.take(n, cfg.frameTime(n), time.Now(), ks, false, &tm)
		for _, f := range []*av.Frame{sh.slateA, sh.slateB} {
			if f != nil {
				f.Release()
			}
		}
		require.Equal(t, n, tickN.Load(), "the inputs see the tick")
		return sh
	}
	kinds := func(evs []SwitchEvent) (k []string) {
		for _, ev := range evs {
			k = append(k, ev.Kind+":"+ev.To)
		}
		return k
	}

	sh := frame(0)
	require.Equal(t, "cam", sh.Program)
	require.NotNil(t, sh.inA)
	require.Nil(t, sh.picA, "no picture decoded: its slate")
	require.Equal(t, []string{"cut:cam"}, kinds(sh.switches))
	require.Equal(t, cfg.frameTime(0), sh.switches[0].PTS)

	require.Equal(t, cfg.frameTime(1), s.KeyFrameNext())
	require.Equal(t, int64(1), s.onAir(func() {}), "a keyer's change goes on air at the next frame")
	sh = frame(1)
	require.True(t, sh.key)
	require.Equal(t, []string{"key:cam"}, kinds(sh.switches))

	mute := true
	_, err = s.SetAudio("cam", audio.Patch{Mute: &mute})
	require.NoError(t, err)
	require.True(t, s.settings()["cam"].Mute)
	require.Equal(t, []string{"audio:cam"}, kinds(frame(2).switches))

	s.RemoveInput("cam")
	require.Equal(t, Black, s.State().Program)
	sh = frame(3)
	require.Nil(t, sh.inA)
	require.Equal(t, []string{"cut:" + Black}, kinds(sh.switches))
	require.False(t, ks.known("cam"))
}
