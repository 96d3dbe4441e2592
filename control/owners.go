package control

import (
	"image"

	"switchyard/ingest"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/mixer/clock"
	"switchyard/mixer/keyer"
	"switchyard/output/push"
	"switchyard/output/record"
)

// The owners the API drives, each as the few methods its routes use; main
// hands in *ingest.Registry, the mixer's parts (Mixer: *mixer.Switcher,
// *mixer.Sound and *mixer.KeyerSet side by side, with the Engine's clock
// counters and its multiview), *push.Manager and *record.Recorder. Declared here, so control links no codec (its tests
// run on fakes) and its arrows point down.

// Registry is the source registry: the sources and their states.
type Registry interface {
	List() []*ingest.Source
	Get(name string) (*ingest.Source, bool)
	// OnChange sets, once, who is told (by name, outside the registry's
	// locks) of a source's change, the clock's included (the event stream).
	OnChange(f func(name string))
}

// Mixer is the mixer as the API sees it: buses, sound, keyers, and what it
// knows of the sources.
type Mixer interface {
	Buses
	Sound
	Keyers
	Pictures
}

// Buses are the program and preview buses, transitions and fade to black.
type Buses interface {
	State() bus.State
	SetProgram(name string) (bus.State, error)
	SetPreview(name string) (bus.State, error)
	Cut() bus.State
	Auto(t bus.Transition) (bus.State, error)
	SetTransition(t bus.Transition) (bus.State, error)
	DefaultTransition() bus.Transition
	SetPosition(p float64) (bus.State, error)
	FTB() bus.State
	// BusesMoved is signalled when the buses move on their own (an
	// automatic transition's progress and end).
	BusesMoved() <-chan struct{}
}

// Sound is the audio mixer's settings and meters.
type Sound interface {
	Audio() audio.State
	SetMaster(p audio.Patch) (audio.Settings, error)
	SetAudio(source string, p audio.Patch) (audio.Settings, error)
	// TakeLevels returns the meters since the last take (the event
	// stream's), LastLevels the last taken (for /metrics).
	TakeLevels() audio.Levels
	LastLevels() audio.Levels
}

// Keyers are the layers over the program.
type Keyers interface {
	Keyers() []keyer.Status
	KeyerSpecs() []keyer.Spec
	Keyer(id string) (keyer.Status, error)
	AddKeyer(s keyer.Spec) (keyer.Status, error)
	UpdateKeyer(id string, apply func(*keyer.Spec) error) (keyer.Status, error)
	SetKeyerOn(id string, on bool) (keyer.Status, error)
	DeleteKeyer(id string) error
}

// Pictures is what the mixer knows of the sources' pictures and of its own
// clock.
type Pictures interface {
	SourceStats(name string) clock.SourceStats
	Snapshot(name string, maxWidth int) (*image.YCbCr, error)
	Stats() clock.Stats
	// SubscribeMultiview returns the monitor wall's JPEG pictures and a
	// function to stop.
	SubscribeMultiview() (<-chan []byte, func())
}

// Outputs are the destinations the program is pushed to.
type Outputs interface {
	List() []push.Status
	Get(name string) (push.Status, error)
	Add(c push.Config) (push.Status, error)
	Patch(name string, p push.Patch) (push.Status, error)
	Start(name string) (push.Status, error)
	Stop(name string) (push.Status, error)
	Remove(name string) error
	// Configs returns every output's settings, for show.json.
	Configs() []push.Config
	// OnChange sets, once, who is told (by name, outside the outputs'
	// locks) of an output's change (the event stream).
	OnChange(f func(name string))
}

// Recorder records the program and the sources (ISO).
type Recorder interface {
	Start(req record.StartRequest) (record.Info, error)
	Stop() (record.Info, error)
	AddMarker(name, color string) (record.Marker, error)
	Active() (record.Info, bool)
	List() ([]record.Info, error)
	File(session, name string) (string, error)
	Delete(session string) error
	// Dir is where recordings are written (for the free space metric).
	Dir() string
	// OnChange sets, once, who is told (outside the recorder's locks) of
	// a session started or stopped (the event stream).
	OnChange(f func())
}
