package ctl

import (
	"net"

	"golang.org/x/sys/unix"
)

func peerCred(uc *net.UnixConn) (Cred, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var cr *unix.Ucred
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		cr, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if gerr != nil {
		return Cred{}, gerr
	}
	return Cred{PID: int(cr.Pid), UID: int(cr.Uid), GID: int(cr.Gid)}, nil
}
