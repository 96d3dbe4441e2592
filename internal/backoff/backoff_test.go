package backoff

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 50: 30 * time.Second} {
		d := Delay(n, time.Second, 30*time.Second)
		require.GreaterOrEqual(t, d, want*8/10, "attempt %d", n)
		require.LessOrEqual(t, d, want*12/10, "attempt %d", n)
	}
}
