package main

import (
	"fmt"
	"time"

	"switchyard/internal/show"
	"switchyard/mixer/keyer"
	"switchyard/output/tally"
)

// tallyRepeat is how often the whole tally is sent again (a test turns it
// off, to see each change sent because it happened).
var tallyRepeat = time.Second

// startTally starts the tally (output/tally) with the show file's
// destinations and the API's changes kept in show.json on top: the mixer
// tells it when the buses or the keyers change, the source set when a
// source is added, changed or removed; it reads them then and once a
// second.
func (a *app) startTally(cfg *Config, saved show.Show, store *show.Store) error {
	file := cfg.tallyConfigs()
	dests, changes := saved.ResolveTally(file)
	store.SetFileTally(file)
	for _, c := range changes {
		a.log.Info("show file changed since show.json was saved: the show file's edit applies", "change", c)
	}
	t, err := tally.New(tally.Options{Destinations: dests, Keyers: cfg.TallyKeyers, Air: a.tallyAir, Sources: a.tallySources,
		Repeat: tallyRepeat, Log: a.log})
	if err != nil {
		if saved.Tally != nil {
			return fmt.Errorf("%s (tally, as kept by the API): %w", store.Path(), err)
		}
		return err
	}
	a.tally = t
	a.mixer.Switcher().OnChange(func(string) { t.Changed() })
	a.sources.OnChange(t.Changed)
	t.Start()
	return nil
}

// tallyAir is what is on air: the buses, and the PiP keyers that are on.
func (a *app) tallyAir() tally.Air {
	st := a.mixer.Switcher().State()
	air := tally.Air{Program: st.Program, Preview: st.Preview, Transition: st.Transition.Active}
	for _, k := range a.mixer.KeyerSet().Keyers() {
		if k.Type == keyer.TypePiP && k.On && k.Source != "" {
			air.Keyed = append(air.Keyed, k.Source)
		}
	}
	return air
}

// tallySources are the show's sources in their order, each with its
// display text (label, or name) and index (tally_index, or its position
// from 1).
func (a *app) tallySources() []tally.Source {
	cfgs := a.sources.Configs()
	out := make([]tally.Source, 0, len(cfgs))
	for i, c := range cfgs {
		idx := c.TallyIndex
		if idx == 0 {
			idx = i + 1
		}
		out = append(out, tally.Source{Name: c.Name, Label: c.DisplayLabel(), Index: idx, ByPosition: c.TallyIndex == 0})
	}
	return out
}
