package seqpkt

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is one end of a flow. Reads are serialised with each other, and
// writes with each other; a read and a write may run at once.
type Conn struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool

	rmu    sync.Mutex // guards the read state below
	rbuf   []byte
	rflags uintptr
	rn     int
	rerr   syscall.Errno
	readFn func(uintptr) bool
	hupFn  func(uintptr)
	tryRFn func(uintptr)
	hup    bool
	pfd    [1]unix.PollFd

	wmu     sync.Mutex // guards the write state below
	wbuf    []byte
	werr    syscall.Errno
	writeFn func(uintptr) bool

	// TryWrite has its own state and lock, so that it never waits behind
	// a Write blocked on a full channel (the kernel sends each packet
	// whole, so the two need not be serialised).
	tmu    sync.Mutex
	tbuf   []byte
	terr   syscall.Errno
	tryWFn func(uintptr)

	one [1]byte // a valid address for zero-length buffers
}

// Pair returns the two connected ends of a new flow channel.
func Pair() (*Conn, *Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("seqpkt: socketpair: %w", err)
	}
	a, err := newConn(os.NewFile(uintptr(fds[0]), "flow"))
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err := newConn(os.NewFile(uintptr(fds[1]), "flow"))
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// FilePair returns the two ends of a new flow channel as plain files, to
// hand to two other processes (a direct flow).
func FilePair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("seqpkt: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "flow"), os.NewFile(uintptr(fds[1]), "flow"), nil
}

// NodePair returns a new flow channel whose first end the caller keeps and
// whose second end is a plain file to hand to another process.
func NodePair() (*Conn, *os.File, error) {
	a, b, err := FilePair()
	if err != nil {
		return nil, nil, err
	}
	c, err := FromFile(a)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return c, b, nil
}

// FromFile takes over f, an end received from the node, and returns it as a
// Conn. f must be a SOCK_SEQPACKET unix socket.
func FromFile(f *os.File) (*Conn, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var typ int
	var serr error
	rc.Control(func(fd uintptr) {
		typ, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
		if serr == nil {
			serr = unix.SetNonblock(int(fd), true)
		}
	})
	if serr != nil || typ != unix.SOCK_SEQPACKET {
		f.Close()
		return nil, fmt.Errorf("seqpkt: descriptor is not a SOCK_SEQPACKET socket (type %d, %v)", typ, serr)
	}
	// Re-wrap so the descriptor is registered with the netpoller now that it
	// is non-blocking.
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("seqpkt: dup: %w", err)
	}
	unix.CloseOnExec(fd)
	return newConn(os.NewFile(uintptr(fd), "flow"))
}

func newConn(f *os.File) (*Conn, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	c := &Conn{f: f, rc: rc}
	c.readFn = c.doRead
	c.writeFn = c.doWrite
	c.hupFn = c.doHup
	c.tryRFn = func(fd uintptr) {
		if !c.doRead(fd) {
			c.rerr = unix.EAGAIN
		}
	}
	c.tryWFn = func(fd uintptr) {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, bufPtr(c.tbuf, &c.one), uintptr(len(c.tbuf)),
			unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		c.terr = e
	}
	return c, nil
}

func bufPtr(b []byte, one *[1]byte) uintptr {
	if len(b) == 0 {
		return uintptr(unsafe.Pointer(&one[0]))
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

func (c *Conn) doRead(fd uintptr) bool {
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, bufPtr(c.rbuf, &c.one), uintptr(len(c.rbuf)),
		c.rflags|unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	c.rn, c.rerr = int(n), e
	return true
}

func (c *Conn) doHup(fd uintptr) {
	c.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLRDHUP}
	n, _ := unix.Poll(c.pfd[:], 0)
	c.hup = n == 1 && c.pfd[0].Revents&(unix.POLLRDHUP|unix.POLLHUP) != 0
}

func (c *Conn) doWrite(fd uintptr) bool {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, bufPtr(c.wbuf, &c.one), uintptr(len(c.wbuf)),
		unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	c.werr = e
	return true
}

// Read reads one packet into b and returns its full length, which is larger
// than len(b) when the packet did not fit (the rest is lost). At the end of
// the flow it returns ErrPeerClosed.
func (c *Conn) Read(b []byte) (int, error) { return c.recv(b, 0, false) }

// TryRead is Read that does not wait: with no packet queued it returns
// ErrWouldBlock.
func (c *Conn) TryRead(b []byte) (int, error) { return c.recv(b, 0, true) }

// Wait waits until a packet can be read, without taking it, and returns
// the error Read would at the end of the flow (ErrPeerClosed). A reader
// that may get nothing for a long time (a flow whose packets take another
// path) waits here before it allocates its buffer.
func (c *Conn) Wait() error {
	_, err := c.recv(nil, unix.MSG_PEEK, false)
	return err
}

func (c *Conn) recv(b []byte, flags uintptr, try bool) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rflags = b, flags
	var err error
	if try {
		c.rerr = 0
		err = c.rc.Control(c.tryRFn)
	} else {
		err = c.rc.Read(c.readFn)
	}
	c.rbuf = nil
	if err != nil {
		return 0, c.wrap(err)
	}
	switch c.rerr {
	case 0:
	case unix.EAGAIN:
		return 0, ErrWouldBlock
	case unix.ECONNRESET, unix.EPIPE:
		return 0, ErrPeerClosed
	default:
		return 0, c.rerr
	}
	if c.rn == 0 {
		if err := c.rc.Control(c.hupFn); err != nil {
			return 0, c.wrap(err) // closed meanwhile
		}
		if c.hup {
			return 0, ErrPeerClosed
		}
	}
	return c.rn, nil
}

// Write sends b as one packet, waiting while the channel is full.
func (c *Conn) Write(b []byte) error { return c.send(b) }

// TryWrite is Write that does not wait: with the channel full it returns
// ErrWouldBlock. It does not wait for a Write blocked at the same time
// either.
func (c *Conn) TryWrite(b []byte) error {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	c.tbuf, c.terr = b, 0
	err := c.rc.Control(c.tryWFn)
	c.tbuf = nil
	if err != nil {
		return c.wrap(err)
	}
	return sendErr(c.terr)
}

func (c *Conn) send(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = b
	err := c.rc.Write(c.writeFn)
	c.wbuf = nil
	if err != nil {
		return c.wrap(err)
	}
	return sendErr(c.werr)
}

func sendErr(e syscall.Errno) error {
	switch e {
	case 0:
		return nil
	case unix.EAGAIN:
		return ErrWouldBlock
	case unix.EPIPE, unix.ECONNRESET, unix.ENOTCONN:
		return ErrPeerClosed
	default:
		return e
	}
}

// Queued tells whether a packet waits to be read. While a Read waits it
// is false without looking: the Read takes what comes.
func (c *Conn) Queued() bool {
	if !c.rmu.TryLock() {
		return false
	}
	defer c.rmu.Unlock()
	var q bool
	c.rc.Control(func(fd uintptr) {
		_, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.one[0])), 1,
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		q = e == 0
	})
	return q
}

// Unsent returns the bytes written on this end that the other end has not
// read yet.
func (c *Conn) Unsent() int {
	n := 0
	c.rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	})
	return n
}

// SetReadDeadline bounds blocked and future reads.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.f.SetReadDeadline(t) }

// SetWriteDeadline bounds blocked and future writes.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// File returns the underlying file, to pass the end to another process.
func (c *Conn) File() *os.File { return c.f }

// Close closes this end; blocked calls return os.ErrClosed, and the other
// end reads ErrPeerClosed after the packets already sent.
func (c *Conn) Close() error {
	c.closed.Store(true)
	return c.f.Close()
}

// wrap turns the poller's "use of closed file" into os.ErrClosed.
func (c *Conn) wrap(err error) error {
	if c.closed.Load() {
		return os.ErrClosed
	}
	return err
}

// SetBuffer sets the socket's send and receive buffers to n bytes (forced
// above the system limit when the process may).
func (c *Conn) SetBuffer(n int) error {
	var err error
	c.rc.Control(func(fd uintptr) {
		for _, o := range [][2]int{{unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}, {unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], n); e != nil {
				if e2 := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], n); e2 != nil {
					err = errors.Join(err, e2)
				}
			}
		}
	})
	return err
}
