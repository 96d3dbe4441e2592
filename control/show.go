package control

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"switchyard/ingest"
	"switchyard/mixer"
	"switchyard/mixer/keyer"
	"switchyard/output/push"
)

// Show is the runtime state changed through the API and kept across restarts
// in data_dir/show.json. A part that is present (non-nil) there replaces the
// same part of the config file.
type Show struct {
	Sources    []storedSource    `json:"sources"`
	Outputs    []push.Config     `json:"outputs"`
	Audio      *mixer.AudioState `json:"audio,omitempty"`
	Transition *mixer.Transition `json:"transition,omitempty"`
	Keyers     []keyer.Spec      `json:"keyers,omitempty"`
}

// storedSource keeps what the API hides (the publish and read keys).
type storedSource struct {
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

func storeSources(cfgs []ingest.SourceConfig) []storedSource {
	out := make([]storedSource, 0, len(cfgs)) // [] not null: no sources is a choice too
	for _, c := range cfgs {
		out = append(out, storedSource{SourceConfig: c, PublishKey: c.PublishKey, ReadKey: c.ReadKey})
	}
	return out
}

// Store reads and writes show.json atomically.
type Store struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
}

// NewStore keeps the show in dir/show.json.
func NewStore(dir string, log *slog.Logger) *Store {
	return &Store{path: filepath.Join(dir, "show.json"), log: log.With("component", "control.store")}
}

// Path of show.json.
func (s *Store) Path() string { return s.path }

// Load reads show.json. A missing file is an empty show; a corrupt one is
// moved aside with a warning and the show starts from the config.
func (s *Store) Load() (Show, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(s.path)
	if os.IsNotExist(err) {
		return Show{}, nil
	}
	if err != nil {
		return Show{}, fmt.Errorf("read %s: %w", s.path, err)
	}
	var sh Show
	if err := json.Unmarshal(b, &sh); err != nil {
		aside := fmt.Sprintf("%s.corrupt-%s", s.path, time.Now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(s.path, aside); rerr != nil {
			return Show{}, fmt.Errorf("%s is corrupt (%v) and could not be moved aside: %w", s.path, err, rerr)
		}
		s.log.Warn("show.json is corrupt; moved aside, starting from the config", "err", err, "moved_to", aside)
		return Show{}, nil
	}
	return sh, nil
}

// Save writes show.json atomically.
func (s *Store) Save(sh Show) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.MarshalIndent(sh, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, b)
}

// writeFileAtomic replaces path with data: temp file, fsync, rename, fsync
// dir. A crash leaves the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
