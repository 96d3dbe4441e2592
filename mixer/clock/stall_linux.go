//go:build linux

package clock

import (
	"strconv"
	"syscall"
	"unsafe"
)

// readProc reads /proc/self/task/TID/name into buf, building the path in
// path; it returns the bytes read (0 when the file cannot be read: the
// thread ended, or the stack is for root only). It does not allocate, and
// it makes its system calls raw — procfs answers at once — so the clock,
// which calls it, does not go through the Go scheduler on the way back.
func readProc(path []byte, tid int32, name string, buf []byte) int {
	p := append(path[:0], "/proc/self/task/"...)
	p = strconv.AppendInt(p, int64(tid), 10)
	p = append(p, '/')
	p = append(p, name...)
	p = append(p, 0)
	if len(p) > len(path) {
		return 0 // cannot happen: a tid has at most 10 digits
	}
	dirfd := _AT_FDCWD
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(syscall.O_RDONLY|syscall.O_CLOEXEC), 0, 0, 0)
	if e != 0 {
		return 0
	}
	n := 0
	for n < len(buf) {
		m, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[n])), uintptr(len(buf)-n))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || m == 0 {
			break
		}
		n += int(m)
	}
	syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
	return n
}

// _AT_FDCWD: openat(2) resolves a relative path from the working directory.
const _AT_FDCWD = -100
