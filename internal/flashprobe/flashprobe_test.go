package flashprobe

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/media"
)

// The camera's flashes, written straight into a viewer, are each found
// once, in order, a decode's time after they were sent.
func TestCameraToViewer(t *testing.T) {
	cam, err := NewCamera(160, 96, 30, 1, 6, 12)
	require.NoError(t, err)
	v := NewViewer()
	defer v.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cam.Run(ctx, v.WriteUnit)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(v.Flashes()) < 8 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a count, bounded by the deadline
	}
	cancel()
	<-done
	sends, seen := cam.Sends(), v.Flashes()
	require.GreaterOrEqual(t, len(seen), 8, "flashes found")
	ds := Delays(sends, seen, cam.Period())
	require.Len(t, ds, len(seen), "each flash found is paired with its send")
	for _, d := range ds {
		require.Greater(t, d, time.Duration(0))
	}
	pics, errs, dropped := v.Counts()
	require.Zero(t, errs)
	require.Zero(t, dropped)
	require.GreaterOrEqual(t, pics, 6*len(seen)-6, "every picture decoded")
}

// A unit of another kind is ignored; pairing leaves out what matches no
// send within a period and never pairs a send twice.
func TestDelays(t *testing.T) {
	v := NewViewer()
	v.WriteUnit(&media.Unit{Track: &media.Track{Kind: media.KindAudio}})
	v.Stop()
	v.Stop()
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	sends := []time.Time{ms(0), ms(500), ms(1000), ms(1500)}
	seen := []time.Time{ms(-50), ms(120), ms(130), ms(640), ms(1500 + 510)}
	ds := Delays(sends, seen, 500*time.Millisecond)
	require.Equal(t, []time.Duration{120 * time.Millisecond, 140 * time.Millisecond}, ds,
		"before the first send: none; a second arrival for one send: none; a whole period late: none")
	s := Summarise([]time.Duration{3, 1, 2})
	require.Equal(t, Summary{N: 3, Median: 2, Worst: 3}, s)
	require.Equal(t, Summary{}, Summarise(nil))
}
