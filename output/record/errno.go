package record

import "syscall"

const syscallENOSPC = syscall.ENOSPC
