package eth

import (
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"

	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// SocketBuffer is the send and receive buffer of an AF_PACKET socket,
// forced past the system limit when the process may (root).
const SocketBuffer = 4 << 20

// PacketLink is a Link on a Linux AF_PACKET raw socket bound to one
// interface and one protocol, so the kernel hands it only the frames of its
// layer. It waits on the Go netpoller and moves frames in batches with
// recvmmsg and sendmmsg.
type PacketLink struct {
	f       *os.File
	rc      syscall.RawConn
	mac     net.HardwareAddr
	mtu     int
	closed  atomic.Bool
	ifindex int
	ns      vns.NsHandle // the namespace the link was opened in

	cmu     sync.Mutex // guards carrier, watch
	carrier chan bool
	watch   *carrierWatch // the namespace's, while the link is in it
	up      bool          // the carrier last reported; guarded by watch.mu

	rmu    sync.Mutex // guards the read state below
	rhdrs  []unix.Mmsghdr
	riovs  []unix.Iovec
	rvlen  int
	rn     int
	rerr   syscall.Errno
	readFn func(uintptr) bool

	wmu     sync.Mutex // guards the write state below
	whdrs   []unix.Mmsghdr
	wiovs   []unix.Iovec
	wvlen   int
	wn      int
	werr    syscall.Errno
	writeFn func(uintptr) bool
}

var _ Link = (*PacketLink)(nil)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// OpenAFPacket opens the link of an eth-llc (llc) or eth-dix IPCP on
// conf.Dev: bound to the 802.2 protocol, or to the DIX ethertype (never to
// ETH_P_ALL, which would copy every frame of the interface to us).
func OpenAFPacket(conf ipcp.EthConfig, llc bool) (Link, error) {
	proto := conf.Ethertype
	if llc {
		proto = unix.ETH_P_802_2
	} else if proto == 0 {
		proto = ipcp.DefaultEthertype
	}
	return OpenPacketLink(conf.Dev, proto, BatchSize)
}

// OpenPacketLink opens an AF_PACKET link on interface dev for the
// Ethernet protocol proto, moving up to batch frames per system call.
func OpenPacketLink(dev string, proto uint16, batch int) (*PacketLink, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, fmt.Errorf("eth: interface %s: %w", dev, err)
	}
	if len(ifi.HardwareAddr) != MACLen {
		return nil, fmt.Errorf("%w: %s", ErrNoMAC, dev)
	}
	// Protocol 0 until bind: a socket opened with the protocol would get
	// that protocol's frames from every interface until it is bound.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("eth: AF_PACKET socket on %s: %w", dev, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("eth: bind to %s: %w", dev, err)
	}
	setBuffers(fd)
	// Frames we send never come back to this socket; say so for kernels
	// that would (ETH_P_ALL taps elsewhere do not matter). Best effort.
	unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	// The address is a copy: ifi's points into the netlink dump of every
	// interface of the namespace, which it would keep for the link's life.
	l := &PacketLink{f: os.NewFile(uintptr(fd), "afpacket:"+dev), mac: bytes.Clone(ifi.HardwareAddr), mtu: ifi.MTU, ifindex: ifi.Index}
	l.ns, _ = vns.Get() // this thread's namespace: the link's
	if l.rc, err = l.f.SyscallConn(); err != nil {
		l.f.Close()
		return nil, fmt.Errorf("eth: %s: %w", dev, err)
	}
	batch = max(batch, 1)
	l.rhdrs, l.riovs = make([]unix.Mmsghdr, batch), make([]unix.Iovec, batch)
	l.whdrs, l.wiovs = make([]unix.Mmsghdr, batch), make([]unix.Iovec, batch)
	l.readFn, l.writeFn = l.doRead, l.doWrite
	return l, nil
}

// setBuffers enlarges the socket buffers: forced when allowed, else up to
// the system limit.
func setBuffers(fd int) {
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], SocketBuffer) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], SocketBuffer)
		}
	}
}

// KernelStats returns what the kernel counted for the socket since the
// last call: frames received, and frames dropped because the receive
// buffer was full.
func (l *PacketLink) KernelStats() (received, dropped uint32, err error) {
	var st *unix.TpacketStats
	cerr := l.rc.Control(func(fd uintptr) {
		st, err = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	})
	if cerr != nil {
		return 0, 0, l.wrap(cerr)
	}
	if err != nil {
		return 0, 0, os.NewSyscallError("getsockopt", err)
	}
	return st.Packets, st.Drops, nil
}

// MAC implements Link.
func (l *PacketLink) MAC() net.HardwareAddr { return l.mac }

// MTU implements Link: the interface's MTU when the link was opened.
func (l *PacketLink) MTU() int { return l.mtu }

// Close implements Link.
func (l *PacketLink) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.cmu.Lock()
	if l.watch != nil {
		l.watch.remove(l)
	}
	l.cmu.Unlock()
	l.ns.Close()
	return l.f.Close()
}

// Carrier implements eth.Carrier with netlink link updates of the
// interface, in the namespace the link was opened in: up when the
// interface is up and running (a veth whose peer is down is not running).
// The links of a namespace share one netlink subscription (carrierWatch).
func (l *PacketLink) Carrier() <-chan bool {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.carrier != nil {
		return l.carrier
	}
	l.carrier = make(chan bool, 16)
	if l.closed.Load() {
		close(l.carrier)
		return l.carrier
	}
	if l.watch = watchCarrier(l); l.watch == nil {
		close(l.carrier) // no carrier reports; the data path works without
	}
	return l.carrier
}

// carrierWatch is one netlink subscription to the link updates of a
// network namespace, shared by the links opened in it that report their
// carrier: a socket and three goroutines per namespace, not per link (a
// node's links are all in its namespace).
type carrierWatch struct {
	key  string
	stop chan struct{}

	mu    sync.Mutex // guards links, ended
	links map[*PacketLink]struct{}
	ended bool // the subscription is over: no link may join
}

// carrierWatches are the namespaces' watches, by namespace.
var carrierWatches = struct {
	sync.Mutex
	m map[string]*carrierWatch
}{m: map[string]*carrierWatch{}}

// watchCarrier adds l to the watch of its namespace, made if there is
// none, and returns it; nil if the namespace cannot be watched. l.cmu is
// held.
func watchCarrier(l *PacketLink) *carrierWatch {
	key := l.ns.UniqueId()
	carrierWatches.Lock()
	defer carrierWatches.Unlock()
	w := carrierWatches.m[key]
	if w == nil {
		updates := make(chan netlink.LinkUpdate, 16)
		w = &carrierWatch{key: key, stop: make(chan struct{}), links: map[*PacketLink]struct{}{}}
		opts := netlink.LinkSubscribeOptions{Namespace: &l.ns, ErrorCallback: func(error) {}}
		if err := netlink.LinkSubscribeWithOptions(updates, w.stop, opts); err != nil {
			return nil
		}
		carrierWatches.m[key] = w
		go w.run(updates)
	}
	w.mu.Lock()
	l.up = true
	w.links[l] = struct{}{}
	w.mu.Unlock()
	return w
}

// run passes each change of a link's carrier to the links on it, until
// the subscription ends; then it closes their carrier channels.
func (w *carrierWatch) run(updates <-chan netlink.LinkUpdate) {
	for u := range updates {
		now := u.IfInfomsg.Flags&unix.IFF_UP != 0 && u.IfInfomsg.Flags&unix.IFF_RUNNING != 0
		w.mu.Lock()
		for l := range w.links {
			if l.ifindex == int(u.Index) && l.up != now {
				l.up = now
				select {
				case l.carrier <- now:
				default:
				}
			}
		}
		w.mu.Unlock()
	}
	carrierWatches.Lock()
	if carrierWatches.m[w.key] == w {
		delete(carrierWatches.m, w.key)
	}
	carrierWatches.Unlock()
	w.mu.Lock()
	w.ended = true
	for l := range w.links {
		close(l.carrier)
	}
	clear(w.links)
	w.mu.Unlock()
}

// remove takes l out of the watch and closes its carrier channel; the
// last link out ends the subscription.
func (w *carrierWatch) remove(l *PacketLink) {
	carrierWatches.Lock()
	defer carrierWatches.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.links[l]; !ok {
		return // closed when the subscription ended
	}
	delete(w.links, l)
	close(l.carrier)
	if len(w.links) == 0 && !w.ended {
		w.ended = true
		if carrierWatches.m[w.key] == w {
			delete(carrierWatches.m, w.key)
		}
		close(w.stop)
	}
}

func (l *PacketLink) doRead(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&l.rhdrs[0])), uintptr(l.rvlen),
			unix.MSG_TRUNC, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		l.rn, l.rerr = int(n), e
		return true
	}
}

// ReadBatch implements Link. With MSG_TRUNC the kernel reports the real
// length of a frame that did not fit.
func (l *PacketLink) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	n := min(len(bufs), len(sizes), len(l.rhdrs))
	if n == 0 {
		return 0, nil
	}
	for i := range n {
		setMsg(&l.rhdrs[i], &l.riovs[i], bufs[i])
	}
	l.rvlen = n
	if err := l.rc.Read(l.readFn); err != nil {
		return 0, l.wrap(err)
	}
	if l.rerr != 0 {
		return 0, os.NewSyscallError("recvmmsg", l.rerr)
	}
	for i := range l.rn {
		sizes[i] = int(l.rhdrs[i].Len)
	}
	return l.rn, nil
}

func setMsg(h *unix.Mmsghdr, iov *unix.Iovec, b []byte) {
	iov.Base = unsafe.SliceData(b)
	iov.SetLen(len(b))
	h.Hdr.Iov = iov
	h.Hdr.SetIovlen(1)
	h.Hdr.Flags = 0
	h.Len = 0
}

func (l *PacketLink) doWrite(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&l.whdrs[0])), uintptr(l.wvlen),
			unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		l.wn, l.werr = int(n), e
		return true
	}
}

// WriteBatch implements Link: as many sendmmsg calls as it takes, waiting
// while the socket's buffer is full.
func (l *PacketLink) WriteBatch(frames [][]byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	sent := 0
	for sent < len(frames) {
		n := min(len(frames)-sent, len(l.whdrs))
		for i := range n {
			setMsg(&l.whdrs[i], &l.wiovs[i], frames[sent+i])
		}
		l.wvlen = n
		if err := l.rc.Write(l.writeFn); err != nil {
			return sent, l.wrap(err)
		}
		if l.werr != 0 {
			return sent, os.NewSyscallError("sendmmsg", l.werr)
		}
		sent += l.wn
	}
	return sent, nil
}

var errLinkClosed = fmt.Errorf("eth: link closed: %w", net.ErrClosed)

// wrap turns the poller's error after Close into net.ErrClosed.
func (l *PacketLink) wrap(err error) error {
	if l.closed.Load() || errors.Is(err, os.ErrClosed) {
		return errLinkClosed
	}
	return err
}
