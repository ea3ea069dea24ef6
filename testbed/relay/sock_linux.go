package relay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socketBuffer is the send and receive buffer of a relay's AF_PACKET
// socket (forced past the system limit, as root).
const socketBuffer = 4 << 20

// sock is an AF_PACKET socket bound to one interface for every protocol,
// in promiscuous mode, that does not see the frames it sends itself. It
// waits on the Go netpoller (so reads take a deadline) and moves frames in
// batches with recvmmsg and sendmmsg, allocating nothing per frame.
type sock struct {
	f      *os.File
	rc     syscall.RawConn
	dev    string
	mtu    int
	closed atomic.Bool

	rhdrs  []unix.Mmsghdr
	riovs  []unix.Iovec
	rvlen  int
	rn     int
	rerr   syscall.Errno
	readFn func(uintptr) bool

	whdrs   []unix.Mmsghdr
	wiovs   []unix.Iovec
	wvlen   int
	wn      int
	werr    syscall.Errno
	writeFn func(uintptr) bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openSock opens the relay's socket on dev, in the calling thread's
// namespace.
func openSock(dev string) (*sock, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", dev, err)
	}
	// Protocol 0 until bound, so that no other interface's frames queue up.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket on %s: %w", dev, err)
	}
	fail := func(what string, err error) (*sock, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s on %s: %w", what, dev, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	// Without this the socket would read back every frame it writes.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail("PACKET_IGNORE_OUTGOING", err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fail("promiscuous mode", err)
	}
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], socketBuffer) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], socketBuffer)
		}
	}
	s := &sock{f: os.NewFile(uintptr(fd), "relay:"+dev), dev: dev, mtu: ifi.MTU}
	if s.rc, err = s.f.SyscallConn(); err != nil {
		s.f.Close()
		return nil, fmt.Errorf("%s: %w", dev, err)
	}
	s.rhdrs, s.riovs = make([]unix.Mmsghdr, Batch), make([]unix.Iovec, Batch)
	s.whdrs, s.wiovs = make([]unix.Mmsghdr, Batch), make([]unix.Iovec, Batch)
	s.readFn, s.writeFn = s.doRead, s.doWrite
	return s, nil
}

func setMsg(h *unix.Mmsghdr, iov *unix.Iovec, b []byte) {
	iov.Base = unsafe.SliceData(b)
	iov.SetLen(len(b))
	h.Hdr.Iov = iov
	h.Hdr.SetIovlen(1)
	h.Hdr.Flags = 0
	h.Len = 0
}

func (s *sock) doRead(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.rhdrs[0])), uintptr(s.rvlen),
			unix.MSG_TRUNC, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.rn, s.rerr = int(n), e
		return true
	}
}

// readBatch reads up to len(bufs) frames; sizes are their real lengths
// (MSG_TRUNC: a frame longer than its buffer says so).
func (s *sock) readBatch(bufs [][]byte, sizes []int) (int, error) {
	n := min(len(bufs), len(sizes), len(s.rhdrs))
	if n == 0 {
		return 0, nil
	}
	for i := range n {
		setMsg(&s.rhdrs[i], &s.riovs[i], bufs[i])
	}
	s.rvlen = n
	if err := s.rc.Read(s.readFn); err != nil {
		return 0, s.wrap(err)
	}
	if s.rerr != 0 {
		return 0, os.NewSyscallError("recvmmsg", s.rerr)
	}
	for i := range s.rn {
		sizes[i] = int(s.rhdrs[i].Len)
	}
	return s.rn, nil
}

func (s *sock) doWrite(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.whdrs[0])), uintptr(s.wvlen),
			unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.wn, s.werr = int(n), e
		return true
	}
}

// writeBatch writes every frame, waiting while the socket's buffer is
// full, and returns how many the kernel took; a frame it refuses because
// an interface is down or the frame is too long is skipped (and reported
// with the error), as a wire that is down loses it.
func (s *sock) writeBatch(frames [][]byte) (int, error) {
	next, ok := 0, 0
	var bad error
	for next < len(frames) {
		n := min(len(frames)-next, len(s.whdrs))
		for i := range n {
			setMsg(&s.whdrs[i], &s.wiovs[i], frames[next+i])
		}
		s.wvlen = n
		if err := s.rc.Write(s.writeFn); err != nil {
			return ok, s.wrap(err)
		}
		if s.werr != 0 {
			bad = os.NewSyscallError("sendmmsg", s.werr)
			switch s.werr {
			case unix.EMSGSIZE, unix.ENETDOWN, unix.ENXIO, unix.ENOBUFS:
				next++ // the first frame failed: skip it
				continue
			}
			return ok, bad
		}
		next += s.wn
		ok += s.wn
	}
	return ok, bad
}

func (s *sock) setReadDeadline(t time.Time) error { return s.f.SetReadDeadline(t) }

func (s *sock) close() error {
	s.closed.Store(true)
	return s.f.Close()
}

// wrap makes the poller's error on a closed socket net.ErrClosed.
func (s *sock) wrap(err error) error {
	if s.closed.Load() || errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("%s: %w", s.dev, net.ErrClosed)
	}
	return err
}
