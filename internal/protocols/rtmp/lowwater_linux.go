package rtmp

import "syscall"

const lowWaterSupported = true

// setLowWater: Linux holds back a TCP socket's readiness until mark bytes
// are queued (tcp_data_ready), unless the receive buffer or window runs
// short, or the peer closes.
func setLowWater(fd uintptr, mark int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, mark)
}
