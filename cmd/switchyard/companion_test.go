package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
)

// TestCompanionModule runs the Bitfocus Companion module's own tests
// (companion/, `npm test`) against this show: each action pressed and read
// back over the API, each feedback and variable following the event
// stream. Without node, npm or the module's packages (`make deps` runs
// `npm ci` there) it fails: a skipped test proves nothing.
func TestCompanionModule(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run `make deps` (it installs nodejs and npm, and runs npm ci in companion/)", tool)
		}
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "companion"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@companion-module", "base")); err != nil {
		t.Fatalf("the module's packages are not installed: run `make deps` (npm ci in companion/): %v", err)
	}

	const token = "companion-test-token"
	cfg := testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://bars"}, ingest.SourceConfig{Name: "cam2", URL: "gen://clock"},
		ingest.SourceConfig{Name: "cam3", URL: "gen://color?c=red"}, ingest.SourceConfig{Name: "loopback"})
	cfg.HTTP.Token = token
	require.NoError(t, cfg.Validate())
	a, _ := startApp(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "test")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"SWITCHYARD_URL=http://"+a.http.Addr().String(),
		"SWITCHYARD_TOKEN="+token,
		// an output pushed to the show's own RTMP ingest goes live with no other server
		"SWITCHYARD_LOOPBACK_RTMP="+a.rtmpURL("loopback"),
		"NO_UPDATE_NOTIFIER=1")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("npm test:\n%s", out)
	require.NoError(t, err, "the Companion module's tests failed (output above)")
}
