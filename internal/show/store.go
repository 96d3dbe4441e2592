package show

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"switchyard/ingest"
	"switchyard/internal/atomicfile"
	"switchyard/internal/macro"
	"switchyard/output/push"
	"switchyard/output/tally"
)

// Store reads and writes show.json atomically.
type Store struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	file *FileParts
}

// SetFile records the show file's sources and outputs as loaded at start:
// every save keeps them as the base of the API's changes (Show.Resolve).
func (s *Store) SetFile(sources []ingest.SourceConfig, outputs []push.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if outputs == nil {
		outputs = []push.Config{}
	}
	var macros []macro.Macro
	var dests []tally.Config
	if s.file != nil {
		macros, dests = s.file.Macros, s.file.Tally
	}
	s.file = &FileParts{Sources: StoredSources(sources), Outputs: outputs, Macros: macros, Tally: dests}
}

// SetFileTally records the show file's tally destinations as loaded at
// start (names and defaults filled in), the base of the API's changes to
// them (Show.ResolveTally).
func (s *Store) SetFileTally(d []tally.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		s.file = &FileParts{}
	}
	s.file.Tally = append([]tally.Config{}, d...)
}

// SetFileMacros records the show file's macros as loaded at start, the
// base of the API's changes to them (Show.ResolveMacros).
func (s *Store) SetFileMacros(m []macro.Macro) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		s.file = &FileParts{}
	}
	s.file.Macros = append([]macro.Macro{}, m...)
}

// NewStore keeps the show in dir/show.json.
func NewStore(dir string, log *slog.Logger) *Store {
	return &Store{path: filepath.Join(dir, "show.json"), log: log.With("component", "show.store")}
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
	sh.File = s.file
	b, err := json.MarshalIndent(sh, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.path, b)
}
