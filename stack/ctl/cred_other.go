//go:build !linux

package ctl

import (
	"errors"
	"net"
)

func peerCred(*net.UnixConn) (Cred, error) {
	return Cred{}, errors.ErrUnsupported
}
