// Package show owns the show's sources and its show.json: a source's
// lifecycle in one transaction across the registry, the mixer's inputs, the
// re-served paths, the running recording and what feeds it (Sources, with
// its undo and the one check of a source's settings, CheckSource), and the runtime changes kept across
// restarts (Show, Store, Resolve). The API and the show file both go through
// it; main only wires.
package show

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"

	"switchyard/ingest"
	"switchyard/internal/assets"
	"switchyard/internal/macro"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/mixer/keyer"
	"switchyard/output/push"
	"switchyard/output/tally"
)

// Show is the runtime state changed through the API and kept across restarts
// in data_dir/show.json. A part that is present (non-nil) there replaces the
// same part of the config file.
type Show struct {
	Sources    []StoredSource  `json:"sources"`
	Outputs    []push.Config   `json:"outputs"`
	Audio      *audio.State    `json:"audio,omitempty"`
	Transition *bus.Transition `json:"transition,omitempty"`
	Keyers     []keyer.Spec    `json:"keyers,omitempty"`
	// Macros are the show's macros; nil (from before macros) leaves the
	// show file's.
	Macros []macro.Macro `json:"macros"`
	// Tally are the tally destinations; nil (from before they could be
	// changed through the API) leaves the show file's.
	Tally []tally.Config `json:"tally"`
	// File is the show file's sources and outputs as they were when this
	// show.json was written: the base the API's changes were made over, so
	// a later edit of the show file can be told apart from them (Resolve).
	File *FileParts `json:"file,omitempty"`
}

// FileParts are the parts of the show file the API can change too.
type FileParts struct {
	Sources []StoredSource `json:"sources"`
	Outputs []push.Config  `json:"outputs"`
	Macros  []macro.Macro  `json:"macros"`
	Tally   []tally.Config `json:"tally"`
}

// Resolve returns the sources and outputs the show starts with: the show
// file's, with the changes made through the API since (kept here) on top.
// Per name, the later edit wins: a source or output that the show file
// added, changed or removed since show.json was written is taken from the
// file; everything else is as the API left it. changes says, for the log,
// what the file changed. A show.json written before it kept its base is
// taken as it is (the file is assumed unchanged).
func (sh Show) Resolve(fileSources []ingest.SourceConfig, fileOutputs []push.Config) (sources []ingest.SourceConfig, outputs []push.Config, changes []string) {
	var baseSources []ingest.SourceConfig
	var baseOutputs []push.Config
	if sh.File != nil {
		baseSources, baseOutputs = Show{Sources: sh.File.Sources}.SourceConfigs(), sh.File.Outputs
		if baseSources == nil {
			baseSources = []ingest.SourceConfig{}
		}
		if baseOutputs == nil {
			baseOutputs = []push.Config{}
		}
	}
	sources, changes = merge("source", sh.SourceConfigs(), baseSources, fileSources, func(c ingest.SourceConfig) string { return c.Name })
	outputs, oc := merge("output", sh.Outputs, baseOutputs, fileOutputs, func(c push.Config) string { return c.Name })
	return sources, outputs, append(changes, oc...)
}

// ResolveMacros returns the macros the show starts with: the show file's,
// with the changes made through the API since on top, per name, as Resolve
// does for sources and outputs.
func (sh Show) ResolveMacros(file []macro.Macro) ([]macro.Macro, []string) {
	var base []macro.Macro
	if sh.File != nil && sh.File.Macros != nil {
		base = sh.File.Macros
	}
	return merge("macro", sh.Macros, base, file, func(m macro.Macro) string { return m.Name })
}

// ResolveTally returns the tally destinations the show starts with: the
// show file's, with the changes made through the API since on top, per
// name, as Resolve does for sources and outputs.
func (sh Show) ResolveTally(file []tally.Config) ([]tally.Config, []string) {
	var base []tally.Config
	if sh.File != nil && sh.File.Tally != nil {
		base = sh.File.Tally
	}
	return merge("tally destination", sh.Tally, base, file, func(c tally.Config) string { return c.Name })
}

// merge applies to stored (the API's list) what changed from base to file.
// A nil stored list means the API never changed this part: the file's list
// stands. A nil base means it is unknown: the file is taken as unchanged.
func merge[T any](kind string, stored, base, file []T, name func(T) string) ([]T, []string) {
	if stored == nil {
		return file, nil
	}
	if base == nil {
		return stored, nil
	}
	index := func(list []T) map[string]T {
		m := make(map[string]T, len(list))
		for _, v := range list {
			m[name(v)] = v
		}
		return m
	}
	inBase, inFile := index(base), index(file)
	var changes []string
	out := make([]T, 0, len(stored)+len(file))
	kept := map[string]bool{}
	for _, v := range stored {
		n := name(v)
		b, wasInBase := inBase[n]
		f, isInFile := inFile[n]
		switch {
		case wasInBase && !isInFile:
			changes = append(changes, fmt.Sprintf("%s %s removed from the show file", kind, n))
			continue
		case wasInBase && isInFile && !reflect.DeepEqual(b, f):
			changes = append(changes, fmt.Sprintf("%s %s changed in the show file", kind, n))
			v = f
		case !wasInBase && isInFile && !reflect.DeepEqual(v, f):
			changes = append(changes, fmt.Sprintf("%s %s added in the show file and through the API: the show file's settings win", kind, n))
			v = f
		}
		out = append(out, v)
		kept[n] = true
	}
	for _, f := range file {
		n := name(f)
		if kept[n] {
			continue
		}
		if b, wasInBase := inBase[n]; wasInBase {
			if reflect.DeepEqual(b, f) {
				continue // unchanged in the file, and removed through the API: stays removed
			}
			changes = append(changes, fmt.Sprintf("%s %s removed through the API, then changed in the show file: the show file's edit brings it back", kind, n))
		} else {
			changes = append(changes, fmt.Sprintf("%s %s added in the show file", kind, n))
		}
		out = append(out, f)
	}
	return out, changes
}

// StoredSource keeps what the API hides (the publish and read keys).
type StoredSource struct {
	ingest.SourceConfig
	PublishKey string `json:"publish_key,omitempty"`
	ReadKey    string `json:"read_key,omitempty"`
}

// SourceConfigs returns the stored sources, keys included; nil when
// show.json holds none (the config's sources apply).
func (sh Show) SourceConfigs() []ingest.SourceConfig {
	if sh.Sources == nil {
		return nil
	}
	out := make([]ingest.SourceConfig, 0, len(sh.Sources))
	for _, s := range sh.Sources {
		c := s.SourceConfig
		c.PublishKey, c.ReadKey = s.PublishKey, s.ReadKey
		out = append(out, c)
	}
	return out
}

// StoredSources are cfgs as show.json keeps them, keys included.
func StoredSources(cfgs []ingest.SourceConfig) []StoredSource {
	out := make([]StoredSource, 0, len(cfgs)) // [] not null: no sources is a choice too
	for _, c := range cfgs {
		out = append(out, StoredSource{SourceConfig: c, PublishKey: c.PublishKey, ReadKey: c.ReadKey})
	}
	return out
}

// MigrateKeyerFiles moves the images uploaded before the assets folder
// existed (data_dir/keyers/ID.png) into it (keyers/ID.png) and points their
// keyers there. Keyers naming other files outside the folder are left as
// they are: they are refused when restored, with a warning that says what
// to do.
func (sh *Show) MigrateKeyerFiles(dataDir string, a *assets.Dir, log *slog.Logger) {
	old, err := filepath.Abs(filepath.Join(dataDir, KeyerUploads))
	if err != nil || a == nil {
		return
	}
	for i := range sh.Keyers {
		k := &sh.Keyers[i]
		if k.Type != keyer.TypeImage || k.Path == "" {
			continue
		}
		p, err := filepath.Abs(k.Path) // before, paths were opened from the working directory
		if err != nil || filepath.Dir(p) != old {
			continue
		}
		name := KeyerUploads + "/" + filepath.Base(p)
		dst := filepath.Join(a.Path(), filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			log.Warn("cannot move an uploaded keyer image into the assets folder", "keyer", k.ID, "err", err)
			continue
		}
		if err := os.Rename(p, dst); err != nil && !os.IsNotExist(err) {
			log.Warn("cannot move an uploaded keyer image into the assets folder", "keyer", k.ID, "err", err)
			continue
		}
		log.Info("uploaded keyer image moved into the assets folder", "keyer", k.ID, "from", k.Path, "to", dst)
		k.Path = name
	}
}

// KeyerUploads is the folder of the assets folder uploaded keyer images are
// kept in.
const KeyerUploads = "keyers"
