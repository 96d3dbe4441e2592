package replay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"switchyard/media"
)

// spill is the part of a Buffer that left memory: its oldest units, whose
// payloads are in a ring of segment files on disk (dir/<source>-<n>.seg,
// 0640), bounded by max bytes. The units stay in the index with no Data;
// Buffer.Load reads their payloads back.
type spill struct {
	dir, name string
	max       int64 // bytes on disk at most (replay.disk_max_bytes)
	segMax    int64 // bytes per segment file

	units []*media.Unit // oldest first, Data nil
	where map[*media.Unit]loc
	segs  []*segment // oldest first; the last is written
	bytes int64      // on disk, in all segments
	seq   int
}

type loc struct {
	seg   *segment
	off   int64
	sizes []int // the length of each of the unit's Data slices
}

type segment struct {
	f    *os.File
	path string
	size int64
}

// Segments of a spill: a quarter of its bound each, so the ring lets go of
// about a quarter of its oldest units at a time.
const segmentsPerSpill = 4

func newSpill(dir, name string, limit int64) *spill {
	return &spill{dir: dir, name: safeName(name), max: limit, segMax: max(limit/segmentsPerSpill, 1), where: map[*media.Unit]loc{}}
}

// safeName keeps a source's name fit for a file name (names are checked
// by ingest; this is belt and braces against a path in a name).
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == '.' && s == ".." {
			return '_'
		}
		return r
	}, s)
}

// write appends u's payload to the newest segment (a new one when it is
// full) and keeps u in the index with no Data.
func (s *spill) write(u *media.Unit) error {
	n := int64(u.Size())
	if len(s.segs) == 0 || s.segs[len(s.segs)-1].size > 0 && s.segs[len(s.segs)-1].size+n > s.segMax {
		path := filepath.Join(s.dir, fmt.Sprintf("%s-%d.seg", s.name, s.seq))
		s.seq++
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, &segment{f: f, path: path})
	}
	seg := s.segs[len(s.segs)-1]
	l := loc{seg: seg, off: seg.size, sizes: make([]int, len(u.Data))}
	for i, d := range u.Data {
		if _, err := seg.f.WriteAt(d, seg.size); err != nil {
			return err
		}
		seg.size += int64(len(d))
		s.bytes += int64(len(d))
		l.sizes[i] = len(d)
	}
	stub := *u
	stub.Data = nil
	s.units = append(s.units, &stub)
	s.where[&stub] = l
	return nil
}

// drop lets go of the oldest n units of the index, and of the segment
// files no unit is in any more.
func (s *spill) drop(n int) {
	for _, u := range s.units[:n] {
		delete(s.where, u)
	}
	clear(s.units[:n])
	s.units = s.units[n:]
	var first *segment // the segment of the oldest unit kept; nil: none
	if len(s.units) > 0 {
		first = s.where[s.units[0]].seg
	}
	for len(s.segs) > 0 && s.segs[0] != first {
		s.remove(s.segs[0])
		s.segs = s.segs[1:]
	}
}

func (s *spill) remove(g *segment) {
	_ = g.f.Close()
	_ = os.Remove(g.path)
	s.bytes -= g.size
}

// oldestSegmentUnits is how many of the oldest units are in the oldest
// segment file.
func (s *spill) oldestSegmentUnits() int {
	if len(s.segs) == 0 {
		return len(s.units)
	}
	g := s.segs[0]
	n := 0
	for n < len(s.units) && s.where[s.units[n]].seg == g {
		n++
	}
	return n
}

// read returns u's payload as it was written.
func (s *spill) read(u *media.Unit) ([][]byte, error) {
	l, ok := s.where[u]
	if !ok {
		return nil, errSpillGone
	}
	total := 0
	for _, n := range l.sizes {
		total += n
	}
	buf := make([]byte, total)
	if _, err := l.seg.f.ReadAt(buf, l.off); err != nil {
		return nil, fmt.Errorf("read back %s: %w", l.seg.path, err)
	}
	out := make([][]byte, len(l.sizes))
	for i, n := range l.sizes {
		out[i], buf = buf[:n:n], buf[n:]
	}
	return out, nil
}

// close removes every segment file.
func (s *spill) close() {
	for _, g := range s.segs {
		s.remove(g)
	}
	s.segs, s.units, s.where = nil, nil, map[*media.Unit]loc{}
}

var errSpillGone = errors.New("the range left the replay buffer meanwhile (older than replay.buffer, or over replay.disk_max_bytes): replay something more recent")

// PrepareSpillDir makes dir (0750) for the buffers' segment files and
// removes what a run before left in it (a show that did not close).
func PrepareSpillDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type()&fs.ModeType == 0 && strings.HasSuffix(e.Name(), ".seg") || e.Type()&fs.ModeSymlink != 0 {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}
