package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// programCABAC reads whether the program's H.264 is CABAC-coded: the
// entropy_coding_mode_flag of the picture parameter set carried in a key
// picture of the program, as the outputs get it (x264's ultrafast preset
// codes CAVLC, the others CABAC).
func programCABAC(t *testing.T, a *app) bool {
	t.Helper()
	r := a.mixer.Targets().Program().NewReader(1024)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		u, err := r.Next(ctx)
		require.NoError(t, err, "no key picture with its PPS on the program")
		if u.Track.Kind != media.KindVideo || !u.Key {
			continue
		}
		for _, nal := range u.Data {
			if len(nal) < 2 || nal[0]&0x1f != 8 {
				continue
			}
			b := bits{data: nal[1:]}
			b.ue() // pic_parameter_set_id
			b.ue() // seq_parameter_set_id
			return b.bit() == 1
		}
	}
}

// bits reads an RBSP's first bits (no emulation prevention in them).
type bits struct {
	data []byte
	pos  int
}

func (b *bits) bit() uint {
	v := uint(b.data[b.pos/8]>>(7-b.pos%8)) & 1
	b.pos++
	return v
}

// ue reads an Exp-Golomb code.
func (b *bits) ue() uint {
	zeros := 0
	for b.bit() == 0 {
		zeros++
	}
	v := uint(1)
	for range zeros {
		v = v<<1 | b.bit()
	}
	return v - 1
}

// TestProgramPreset: program.preset sets x264's preset for the program,
// from the show file and from the environment, as the stream shows it
// (ultrafast codes CAVLC; the default, veryfast, CABAC); a preset x264
// does not have, or one with a GPU encoder, is refused at start naming
// the key.
func TestProgramPreset(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		a, _ := startFromFile(t, loopbackShow(t))
		require.True(t, programCABAC(t, a), "veryfast codes CABAC")
	})
	t.Run("show file", func(t *testing.T) {
		yaml := strings.Replace(loopbackShow(t), "keyint: 1s }", "keyint: 1s, preset: ultrafast }", 1)
		require.Contains(t, yaml, "preset: ultrafast")
		a, _ := startFromFile(t, yaml)
		require.False(t, programCABAC(t, a), "ultrafast codes CAVLC")
	})
	t.Run("environment", func(t *testing.T) {
		cfg, err := LoadConfig(writeShow(t, loopbackShow(t)), []string{"SWITCHYARD_PROGRAM_PRESET=ultrafast"})
		require.NoError(t, err)
		a, _ := startApp(t, cfg)
		require.False(t, programCABAC(t, a), "ultrafast codes CAVLC")
	})
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown", "program: { preset: lightning }", `program.preset: "lightning" must be one of x264's presets`},
		{"with a GPU encoder", "program: { encoder: nvenc, preset: fast }", "program.preset: is x264's; the nvenc encoder has none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(writeShow(t, c.yaml), nil)
			require.ErrorContains(t, err, c.want)
		})
	}
}
