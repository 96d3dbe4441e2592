package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/media/av"
)

// haveGPU reports whether a device of kind opens on this machine.
func haveGPU(kind string) bool {
	d, err := av.OpenHWDevice(kind, "")
	if err != nil {
		return false
	}
	d.Close()
	return true
}

// TestHardwareCodecSelection: a GPU named in the show file or the
// environment and not on the machine stops the start with an error that
// names the key and the device; decode: auto falls back to the CPU with
// one log line and the show runs on it. (The machines here have no GPU:
// where one is present, the show must start on it instead.)
func TestHardwareCodecSelection(t *testing.T) {
	mustHaveTools(t)
	for _, c := range []struct {
		kind, yaml, env, key, name string
	}{
		{av.HWCUDA, "program: {encoder: nvenc}\n", "", "program.encoder", "NVIDIA (CUDA)"},
		{av.HWVAAPI, "", "SWITCHYARD_PROGRAM_ENCODER=vaapi", "program.encoder", "VAAPI (Intel or AMD)"},
		{av.HWQSV, "program: {decode: qsv}\n", "", "program.decode", "Intel Quick Sync"},
		{av.HWVAAPI, "program: {decode: vaapi, hw_device: /dev/dri/renderD199}\n", "", "program.decode", "VAAPI (Intel or AMD)"},
	} {
		p := filepath.Join(t.TempDir(), "show.yaml")
		require.NoError(t, os.WriteFile(p, []byte(c.yaml+"http: {listen: '127.0.0.1:0'}\nrtmp: {listen: '127.0.0.1:0'}\nrtsp: {listen: '127.0.0.1:0', udp_rtp: '', udp_rtcp: ''}\nsrt: {listen: '127.0.0.1:0'}\ndata_dir: "+t.TempDir()+"\n"), 0o644))
		var env []string
		if c.env != "" {
			env = []string{c.env}
		}
		cfg, err := LoadConfig(p, env)
		require.NoError(t, err, "the file is valid; the device is looked for at start")
		a, err := start(cfg, quietLog)
		if err == nil {
			closeApp(t, a, &logBuf{})
			require.True(t, haveGPU(c.kind) && !strings.Contains(c.yaml, "renderD199"), "%s: started without the device", c.key)
			continue
		}
		require.ErrorContains(t, err, c.key)
		require.ErrorContains(t, err, c.name, "the error names the device")
		require.ErrorContains(t, err, "open hardware device", "and FFmpeg's reason")
	}

	// decode: auto on a machine without a GPU: one line, and the show
	// decodes its sources on the CPU
	cfg := testConfig(t, ingest.SourceConfig{Name: "bars", URL: "gen://bars"})
	cfg.Program.Decode = "auto"
	require.NoError(t, cfg.Validate())
	a, logs := startApp(t, cfg)
	waitLive(t, a, "bars")
	_, err := a.mixer.Switcher().SetProgram("bars")
	require.NoError(t, err)
	waitFor(t, 20e9, "pictures of bars decoded", func() bool { return a.mixer.Switcher().SourceStats("bars").Pictures > 10 })
	if !haveGPU(av.HWCUDA) && !haveGPU(av.HWVAAPI) && !haveGPU(av.HWQSV) {
		require.Equal(t, 1, strings.Count(logs.String(), "no GPU to decode on (decode: auto): sources decode on the CPU"))
	} else {
		require.Contains(t, logs.String(), "sources decode on the GPU")
	}
}
