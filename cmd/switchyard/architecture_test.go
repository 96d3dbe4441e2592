package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestArchitectureNamesEveryPackage: docs/architecture.md has a paragraph
// for every package of the module (`go list ./...`, which leaves out
// third_party/gosrt, a module of its own), named in backquotes, so a new
// package cannot join the tree without its place on the map: what it owns,
// what it imports, the goroutines it starts and who ends them. The test
// helpers (internal/testpeer, whiptest) are packages too and are named.
// The map once left out ten packages.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	cmd := exec.Command("go", "list", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	require.NoError(t, err, "go list ./...")
	doc, err := os.ReadFile("../../docs/architecture.md")
	require.NoError(t, err)
	var missing []string
	n := 0
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, "switchyard/")
		if !ok {
			continue
		}
		n++
		if !strings.Contains(string(doc), "**`"+rel+"`**") {
			missing = append(missing, rel)
		}
	}
	require.Greater(t, n, 40, "go list found the module's packages")
	require.Empty(t, missing, "packages without their paragraph (**`PATH`** — …) in docs/architecture.md")
}
