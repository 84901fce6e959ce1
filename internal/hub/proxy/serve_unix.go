//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package proxy

import (
	"errors"
	"syscall"
)

// errClientGone: the client closed its connection during an exchange on
// the fast path.
var errClientGone = errors.New("proxy: client closed the connection")

// Err reports whether the client has closed its connection, without
// consuming anything it sent: a non-blocking MSG_PEEK read. It is called
// only when a wait for the server has lasted pollInterval, so it costs
// nothing per request.
func (c *fastConn) Err() error {
	if c.br.Buffered() > c.pending {
		return nil // the client already sent more: it was there
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	gone := false
	_ = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = (n == 0 && err == nil) || (err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR))
		return true
	})
	if gone {
		return errClientGone
	}
	return nil
}
