package control

import (
	"io"
	"time"

	"switchyard/ingest"
	"switchyard/internal/fault"
)

// fakePlayers is the clip transport without codecs: each command is kept.
type fakePlayers struct{ cmds []string }

func (f *fakePlayers) PlayerCommand(source, action string, _ time.Duration) error {
	if action != "play" && action != "pause" && action != "stop" && action != "seek" {
		return &fault.Invalid{Field: "action", Msg: "action must be play, pause, stop or seek"}
	}
	f.cmds = append(f.cmds, source+" "+action)
	return nil
}

// fakeClips is a clips folder of nothing.
type fakeClips struct{}

func (fakeClips) List() ([]ingest.ClipInfo, error) { return []ingest.ClipInfo{}, nil }
func (fakeClips) Put(name string, r io.Reader) (ingest.ClipInfo, error) {
	_, _ = io.Copy(io.Discard, r)
	return ingest.ClipInfo{Name: name}, nil
}
func (fakeClips) Delete(string) error { return fault.New(fault.NotFound, "no such clip") }
