package udp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgReceiver calls recvmmsg itself, into message headers, source
// addresses and buffers allocated once, so that receiving allocates
// nothing (x/net's ReadBatch allocates a *net.UDPAddr per datagram). The
// headers are there for Batch datagrams from the start, the buffers for
// len(bufs) until grow.
type mmsgReceiver struct {
	rc    syscall.RawConn
	hdrs  []mmsghdr // Batch of them; the first len(bufs) are read into
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for either family
	bufs  [][]byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// mmsghdr is struct mmsghdr; Go pads it to its alignment as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// newReceiver returns the receiver for the socket: recvmmsg on Linux.
func newReceiver(conn *net.UDPConn, _ batchConn, bufs [][]byte) (receiver, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	n := max(len(bufs), Batch)
	r := &mmsgReceiver{
		rc: rc, hdrs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n), names: make([]unix.RawSockaddrInet6, n),
	}
	for i := range r.hdrs {
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
	}
	r.add(bufs)
	r.fn = r.recvmmsg
	return r, nil
}

// add gives the receiver more buffers, after those it has.
func (r *mmsgReceiver) add(bufs [][]byte) {
	for _, b := range bufs {
		i := len(r.bufs)
		r.iovs[i].Base = &b[0]
		r.iovs[i].SetLen(len(b))
		r.bufs = append(r.bufs, b)
	}
}

func (r *mmsgReceiver) batch() int { return len(r.bufs) }

func (r *mmsgReceiver) grow() {
	if len(r.bufs) < len(r.hdrs) {
		r.add(receiveBuffers(len(r.bufs[0])-1, len(r.hdrs)-len(r.bufs)))
	}
}

func (r *mmsgReceiver) recvmmsg(fd uintptr) bool {
	hdrs := r.hdrs[:len(r.bufs)]
	for i := range hdrs {
		hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		hdrs[i].hdr.Flags = 0
	}
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)),
			unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait for the socket to be readable
		}
		r.n, r.errno = int(n), e
		return true
	}
}

func (r *mmsgReceiver) read() (int, error) {
	if err := r.rc.Read(r.fn); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", r.errno)
	}
	return r.n, nil
}

func (r *mmsgReceiver) datagram(i int) ([]byte, netip.AddrPort) {
	h := &r.hdrs[i]
	return r.bufs[i][:h.len], sockaddr(&r.names[i], h.hdr.Namelen)
}

// sockaddr converts a received source address. Zones are left out: a
// socket bound to a link-local address sends on its own interface.
func sockaddr(sa *unix.RawSockaddrInet6, n uint32) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch {
	case sa.Family == unix.AF_INET && n >= unix.SizeofSockaddrInet4:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case sa.Family == unix.AF_INET6 && n >= unix.SizeofSockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	}
	return netip.AddrPort{}
}
