//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proxy

import "errors"

var errClientGone = errors.New("proxy: client closed the connection")

// Err never reports the client gone on this platform: an exchange on the
// fast path ends with the server's answer or the header timeout.
func (c *fastConn) Err() error { return nil }
