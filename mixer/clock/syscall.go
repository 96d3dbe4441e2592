package clock

import (
	"bytes"
	"debug/elf"
	"os"
	"sort"
	"strconv"
	"sync"
)

// describeSyscall turns /proc/TID/syscall ("202 0xc000080148 0x80 …": the
// call's number and arguments; "-1 sp pc" outside one; "running") into
// the call's name and, for a futex, the word waited on: the Go global it
// lies in where it is one (a runtime lock), else its address.
func describeSyscall(b []byte) string {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return ""
	}
	if string(f[0]) == "running" {
		return "running"
	}
	nr, err := strconv.Atoi(string(f[0]))
	if err != nil {
		return ""
	}
	if nr < 0 {
		return "not in a system call"
	}
	name := syscallName(nr)
	if !isFutex(nr) || len(f) < 2 {
		return name
	}
	addr, err := strconv.ParseUint(string(bytes.TrimPrefix(f[1], []byte("0x"))), 16, 64)
	if err != nil {
		return name
	}
	if sym := globalAt(addr); sym != "" {
		return name + " " + sym
	}
	return name + " 0x" + strconv.FormatUint(addr, 16)
}

// global is one of the executable's data symbols, or one of its writable
// sections (which tell a global from the heap where there are no symbols:
// a stripped executable, as go test's).
type global struct {
	name       string
	addr, size uint64
}

// image is what describeSyscall needs of the executable: its data symbols
// and its data sections, by address.
type image struct{ symbols, sections []global }

// executable is read once (at the first look that needs it: a few
// megabytes, tens of milliseconds).
var executable = sync.OnceValue(func() image {
	var im image
	exe, err := os.Executable()
	if err != nil {
		return im
	}
	f, err := elf.Open(exe)
	if err != nil {
		return im
	}
	defer f.Close()
	bias := uint64(0)
	if f.Type == elf.ET_DYN { // position-independent: where it was loaded
		bias = loadBias(exe)
	}
	for _, sec := range f.Sections {
		if sec.Flags&elf.SHF_ALLOC != 0 && sec.Flags&elf.SHF_WRITE != 0 && sec.Size > 0 {
			im.sections = append(im.sections, global{name: sec.Name, addr: sec.Addr + bias, size: sec.Size})
		}
	}
	syms, _ := f.Symbols() // none in a stripped executable
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_OBJECT && s.Size > 0 {
			im.symbols = append(im.symbols, global{name: s.Name, addr: s.Value + bias, size: s.Size})
		}
	}
	for _, gs := range [][]global{im.sections, im.symbols} {
		sort.Slice(gs, func(i, j int) bool { return gs[i].addr < gs[j].addr })
	}
	return im
})

// globalAt names the global holding addr ("runtime.mheap_+0x0"; "a global
// at 0x…" in a stripped executable), or "" when addr is not the
// executable's (the heap's, a C library's).
func globalAt(addr uint64) string {
	im := executable()
	if g, ok := holding(im.symbols, addr); ok {
		return g.name + "+0x" + strconv.FormatUint(addr-g.addr, 16)
	}
	if _, ok := holding(im.sections, addr); ok {
		return "a global at 0x" + strconv.FormatUint(addr, 16)
	}
	return ""
}

// holding returns the one of gs (sorted by address) that holds addr.
func holding(gs []global, addr uint64) (global, bool) {
	i := sort.Search(len(gs), func(i int) bool { return gs[i].addr > addr }) - 1
	if i < 0 || addr >= gs[i].addr+gs[i].size {
		return global{}, false
	}
	return gs[i], true
}

// loadBias is where a position-independent executable was loaded: the
// start of its first mapping (/proc/self/maps), its lowest address being 0.
func loadBias(exe string) uint64 {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) < 6 || string(f[len(f)-1]) != exe {
			continue
		}
		start, _, _ := bytes.Cut(f[0], []byte("-"))
		v, err := strconv.ParseUint(string(start), 16, 64)
		if err != nil {
			return 0
		}
		return v
	}
	return 0
}
