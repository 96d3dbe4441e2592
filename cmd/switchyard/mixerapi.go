package main

import (
	"switchyard/mixer"
	"switchyard/mixer/clock"
)

// mixerAPI is the mixer as the API drives it (control.Mixer): the mixer's
// parts side by side, each answering for what it owns.
type mixerAPI struct {
	*mixer.Switcher // the buses, the sources' audio settings, pictures and counters
	*mixer.Sound    // the master, every audio control, the meters
	*mixer.KeyerSet // the layers over the program
	eng             *mixer.Engine
}

func newMixerAPI(e *mixer.Engine) mixerAPI {
	return mixerAPI{Switcher: e.Switcher(), Sound: e.Sound(), KeyerSet: e.KeyerSet(), eng: e}
}

// Stats are the program clock's counters.
func (m mixerAPI) Stats() clock.Stats { return m.eng.Stats() }

// SubscribeMultiview returns the monitor wall's JPEG pictures and a
// function to stop.
func (m mixerAPI) SubscribeMultiview() (<-chan []byte, func()) { return m.eng.Multiview().Subscribe() }
