package dev

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/frct"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// Flow flags, as the reference's fccntl flags (spec APP §2.8).
const (
	FlagRdOnly   uint32 = 0x0000 // read only (the access mode value 0)
	FlagWrOnly   uint32 = 0x0001
	FlagRdWr     uint32 = 0x0002
	FlagAccMode  uint32 = 0x0003
	FlagRNoBlock uint32 = 0x0200 // non-blocking reads
	FlagWNoBlock uint32 = 0x0400 // non-blocking writes
	FlagNonBlock uint32 = FlagRNoBlock | FlagWNoBlock
	FlagRNoPart  uint32 = 0x1000 // no partial reads: an SDU larger than the buffer is dropped
	FlagWNoPart  uint32 = 0x2000 // informational; writes are never partial
	FlagDefault  uint32 = FlagRdWr | FlagWNoPart
)

// MaxSDU is the largest SDU a flow carries on this system.
const MaxSDU = seqpkt.MaxPacket

// Flow is an allocated flow. Read and Write move one SDU each. A Flow is
// safe for concurrent use; reads are serialised with reads and writes with
// writes.
type Flow struct {
	c      *Client
	fd     int
	id     int
	qos    qos.Spec
	mpl    time.Duration
	direct bool
	name   string
	peer   int
	conn   *seqpkt.Conn

	flags  atomic.Uint32
	rcvTO  atomic.Int64 // relative read timeout, ns; 0 none
	sndTO  atomic.Int64
	closed atomic.Bool
	once   sync.Once
	set    atomic.Pointer[EventSet]
	down   atomic.Bool  // the layer under the flow is down
	rdl    atomic.Int64 // the caller's read deadline, ns since the epoch; 0 none
	wdl    atomic.Int64 // the caller's write deadline, likewise
	rto    bool         // the read deadline set is the timeout's (guarded by rmu)
	wto    atomic.Bool  // the write deadline set is the timeout's

	rmu     sync.Mutex // guards the partial-read state
	scratch []byte
	rest    []byte

	layerMax int        // the largest SDU the layer carries, 0 when not known
	fr       *frctFlow  // FRCT, when the QoS asks for in-order delivery
	cr       *crypt.Ctx // encryption, when OAP agreed a cipher
	crc      bool       // packets carry a CRC32 (QoS ber 0)
	wmu      sync.Mutex // guards txb, and serialises FRCT writes
	txb      []byte
	lastSend atomic.Int64 // now() of the last packet sent, for keepalives
	lastRecv atomic.Int64 // now() of the last packet received
	peerDead atomic.Bool  // no packet came for the QoS's peer timeout
	kaOff    atomic.Bool  // tests: send no keepalives, as a peer that hangs
	stats    struct{ badCRC, badCrypt atomic.Uint64 }
}

var _ net.Conn = (*Flow)(nil)

func newFlow(c *Client, fd int, fi *ctl.FlowInfo, conn *seqpkt.Conn) (*Flow, error) {
	f := &Flow{c: c, fd: fd, id: int(fi.GetId()), qos: ctl.QoSFromMsg(fi.GetQos()),
		mpl: time.Duration(fi.GetMpl()) * time.Millisecond, direct: fi.GetDirect(), name: fi.GetName(),
		peer: int(fi.GetN_1Pid()), conn: conn, layerMax: int(fi.GetMaxSdu())}
	if nid := uint16(fi.GetCipher()); nid != 0 {
		var key [crypt.KeyLen]byte
		if len(fi.GetSymKey()) != crypt.KeyLen {
			return nil, fmt.Errorf("%w: the node sent a key of %d bytes for cipher %s", ErrCrypt, len(fi.GetSymKey()), crypt.CipherName(nid))
		}
		copy(key[:], fi.GetSymKey())
		clear(fi.SymKey)
		cr, err := crypt.New(nid, key)
		clear(key[:])
		if err != nil {
			return nil, err
		}
		f.cr = cr
	}
	f.flags.Store(FlagDefault)
	f.crc = f.qos.BER == 0
	t := now()
	f.lastSend.Store(t)
	f.lastRecv.Store(t)
	if f.qos.InOrder != 0 {
		if f.direct && f.mpl == 0 {
			f.mpl = time.Millisecond
		}
		f.fr = newFRCT(f)
	}
	return f, nil
}

func (f *Flow) sent()     { f.lastSend.Store(now()) }
func (f *Flow) received() { f.lastRecv.Store(now()) }

// maxSDU is the largest SDU the flow carries: what a packet holds less
// FRCT's header and the CRC.
func (f *Flow) maxSDU() int {
	n := MaxSDU
	if f.fr != nil {
		n -= frct.PCILen
	}
	if f.crc {
		n -= frct.CRCLen
	}
	if f.cr != nil {
		n -= f.cr.Overhead()
	}
	if f.layerMax > 0 { // what the layer carries, less the same headers
		n = min(n, f.layerMax-(MaxSDU-n))
	}
	return max(n, 0)
}

// Cipher names the flow's cipher, "" when it is not encrypted.
func (f *Flow) Cipher() string {
	if f.cr == nil {
		return ""
	}
	return crypt.CipherName(f.cr.Cipher())
}

// CryptStats returns the counters of the flow's encryption, and false when
// the flow is not encrypted.
func (f *Flow) CryptStats() (crypt.Stats, bool) {
	if f.cr == nil {
		return crypt.Stats{}, false
	}
	return f.cr.Stats(), true
}

// Dropped counts the packets the flow dropped because they failed the CRC
// or did not decrypt (tampered, replayed).
func (f *Flow) Dropped() (badCRC, badCrypt uint64) {
	return f.stats.badCRC.Load(), f.stats.badCrypt.Load()
}

// unseal checks the CRC and decrypts a packet as it came from the node,
// in place: the receive half of the pipeline (spec APP §4.14).
func (f *Flow) unseal(p []byte) ([]byte, bool) {
	if f.crc {
		var ok bool
		if p, ok = frct.CheckCRC(p); !ok {
			f.stats.badCRC.Add(1)
			return nil, false
		}
	}
	if f.cr != nil {
		var err error
		if p, err = f.cr.Open(p); err != nil {
			f.stats.badCrypt.Add(1)
			return nil, false
		}
	}
	return p, true
}

// seal encrypts a packet into dst and appends the CRC: the send half of
// the pipeline.
func (f *Flow) seal(dst, p []byte) []byte {
	if f.cr != nil {
		var err error
		if dst, err = f.cr.Seal(dst[:0], p); err != nil {
			return nil
		}
	} else {
		dst = append(dst[:0], p...)
	}
	if f.crc {
		dst = frct.AppendCRC(dst)
	}
	return dst
}

// MaxSDU is the largest SDU Write takes on this flow.
func (f *Flow) MaxSDU() int { return f.maxSDU() }

func (f *Flow) scratchBuf() []byte {
	if f.scratch == nil {
		f.scratch = make([]byte, MaxSDU)
	}
	return f.scratch
}

var errPeerTimeout = fmt.Errorf("%w: nothing came from the other end within the flow's peer timeout", ErrFlowPeer)

// liveErr says why the flow cannot carry SDUs any more: the layer under
// it is down, or the peer timed out.
func (f *Flow) liveErr() error {
	switch {
	case f.peerDead.Load():
		return errPeerTimeout
	case f.down.Load():
		return errLayerDown
	}
	return nil
}

// readDeadline is when a read starting now gives up: the read timeout's
// or the caller's deadline; zero for none.
func (f *Flow) readDeadline() time.Time {
	if to := f.rcvTO.Load(); to > 0 {
		return time.Now().Add(time.Duration(to))
	}
	return deadlineOf(f.rdl.Load())
}

func (f *Flow) writeDeadline() time.Time {
	if to := f.sndTO.Load(); to > 0 {
		return time.Now().Add(time.Duration(to))
	}
	return deadlineOf(f.wdl.Load())
}

// FD is the flow's descriptor number in this process (64 and up).
func (f *Flow) FD() int { return f.fd }

// ID is the node's flow id.
func (f *Flow) ID() int { return f.id }

// QoS is the flow's QoS: for an accepted flow, what the allocator asked.
func (f *Flow) QoS() qos.Spec { return f.qos }

// MPL is the maximum packet lifetime of the flow's layer.
func (f *Flow) MPL() time.Duration { return f.mpl }

// Direct tells whether the flow runs straight between two applications.
func (f *Flow) Direct() bool { return f.direct }

// Name is the name the flow was allocated to or accepted for.
func (f *Flow) Name() string { return f.name }

// Flags returns the flow flags.
func (f *Flow) Flags() uint32 { return f.flags.Load() }

// SetFlags replaces the flow flags (like FLOWSFLAGS: include FlagRdWr to
// keep the flow writable).
func (f *Flow) SetFlags(fl uint32) error {
	if fl&FlagAccMode == FlagAccMode {
		return fmt.Errorf("%w: flags %#x set both write-only and read-write", ErrInvalid, fl)
	}
	f.flags.Store(fl)
	return nil
}

// SetReadTimeout bounds every following Read by d (0: no bound).
func (f *Flow) SetReadTimeout(d time.Duration) { f.rcvTO.Store(int64(max(d, 0))) }

// SetWriteTimeout bounds every following Write by d (0: no bound).
func (f *Flow) SetWriteTimeout(d time.Duration) { f.sndTO.Store(int64(max(d, 0))) }

// Read reads one SDU into b. An SDU larger than b is returned over several
// reads (partial reads), unless FlagRNoPart is set: then it is dropped and
// Read returns ErrMsgSize. Zero-length SDUs (keepalives) are skipped. At
// the end of the flow Read returns ErrFlowDown.
func (f *Flow) Read(b []byte) (int, error) {
	if f.closed.Load() {
		return 0, ErrFlowClosed
	}
	fl := f.flags.Load()
	if fl&FlagAccMode == FlagWrOnly {
		return 0, fmt.Errorf("%w: the flow is write-only", ErrPermission)
	}
	f.rmu.Lock()
	defer f.rmu.Unlock()
	if len(f.rest) > 0 {
		n := copy(b, f.rest)
		f.rest = f.rest[n:]
		return n, nil
	}
	if f.fr != nil {
		return f.fr.read(b, fl)
	}
	if to := f.rcvTO.Load(); to > 0 && f.liveErr() == nil {
		f.conn.SetReadDeadline(time.Now().Add(time.Duration(to)))
		f.rto = true
	} else if f.rto && f.liveErr() == nil { // the timeout was turned off: back to the caller's deadline
		f.conn.SetReadDeadline(deadlineOf(f.rdl.Load()))
		f.rto = false
	}
	for {
		live := f.liveErr()
		if live != nil { // what is queued still comes, then the error
			fl |= FlagRNoBlock
		}
		n, err := f.readSDU(b, fl)
		if errors.Is(err, ErrWouldBlock) || errors.Is(err, ErrTimeout) {
			if live = f.liveErr(); live != nil { // it may have woken this read
				return 0, live
			}
		}
		if errors.Is(err, errBadCRC) {
			continue
		}
		if err != nil || n > 0 || len(b) == 0 {
			return n, err
		}
	}
}

// errBadCRC is a packet that failed its CRC or did not decrypt: dropped
// and counted.
var errBadCRC = errors.New("flow: CRC mismatch")

var errLayerDown = fmt.Errorf("%w: the layer under it is down", ErrFlowDown)

// setDown marks the layer under the flow down or up again: a blocked read
// is woken, and the flow's event set gets EventDown or EventUp.
func (f *Flow) setDown(down bool) {
	if f.down.Swap(down) == down {
		return
	}
	f.wakeReaders(down)
	if s := f.set.Load(); s != nil {
		t := EventUp
		if down {
			t = EventDown
		}
		s.inject(Event{Flow: f, Type: t})
	}
}

// wakeReaders wakes a blocked Read to see the flow's state, or (stop
// false) lets reads wait again.
func (f *Flow) wakeReaders(stop bool) {
	if f.fr != nil {
		signal(f.fr.wake)
		f.fr.ready()
		return
	}
	if stop {
		f.conn.SetReadDeadline(time.Unix(1, 0))
	} else if f.liveErr() == nil {
		f.conn.SetReadDeadline(deadlineOf(f.rdl.Load()))
	}
}

// setPeerDead marks the flow's peer timed out (sticky): reads return what
// is queued and then ErrFlowPeer, writes ErrFlowPeer, and the event set
// gets EventPeer.
func (f *Flow) setPeerDead() {
	if f.peerDead.Swap(true) {
		return
	}
	f.wakeReaders(true)
	if s := f.set.Load(); s != nil {
		s.inject(Event{Flow: f, Type: EventPeer})
	}
}

// Down tells whether the layer under the flow is down.
func (f *Flow) Down() bool { return f.down.Load() }

func deadlineOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func (f *Flow) readSDU(b []byte, fl uint32) (int, error) {
	nb := fl&FlagRNoBlock != 0
	if f.crc || f.cr != nil {
		n, err := f.recv(f.scratchBuf(), nb)
		if err != nil || n == 0 {
			return 0, err
		}
		if n > len(f.scratch) {
			f.stats.badCRC.Add(1)
			return 0, errBadCRC
		}
		sdu, ok := f.unseal(f.scratch[:n])
		if !ok {
			return 0, errBadCRC
		}
		if len(sdu) > len(b) && fl&FlagRNoPart != 0 {
			return 0, fmt.Errorf("%w: SDU of %d bytes dropped, the buffer holds %d", ErrMsgSize, len(sdu), len(b))
		}
		c := copy(b, sdu)
		f.rest = sdu[c:]
		return c, nil
	}
	if fl&FlagRNoPart != 0 || len(b) >= MaxSDU {
		n, err := f.recv(b, nb)
		if err == nil && n > len(b) {
			return 0, fmt.Errorf("%w: SDU of %d bytes dropped, the buffer holds %d", ErrMsgSize, n, len(b))
		}
		return n, err
	}
	n, err := f.recv(f.scratchBuf(), nb)
	if err != nil {
		return 0, err
	}
	c := copy(b, f.scratch[:n])
	f.rest = f.scratch[c:n]
	return c, nil
}

func (f *Flow) recv(b []byte, nonblock bool) (int, error) {
	var n int
	var err error
	if nonblock {
		n, err = f.conn.TryRead(b)
	} else {
		n, err = f.conn.Read(b)
	}
	if err == nil {
		f.received()
	}
	return n, f.ioErr(err)
}

func (f *Flow) ioErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, seqpkt.ErrPeerClosed):
		return errFlowDown
	case errors.Is(err, seqpkt.ErrWouldBlock):
		return ErrWouldBlock
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errIOTimeout
	case errors.Is(err, os.ErrClosed):
		return ErrFlowClosed
	}
	return err
}

// Write sends b as one SDU of at most MaxSDU bytes.
func (f *Flow) Write(b []byte) (int, error) {
	if f.closed.Load() {
		return 0, ErrFlowClosed
	}
	fl := f.flags.Load()
	if fl&FlagAccMode == FlagRdOnly {
		return 0, fmt.Errorf("%w: the flow is read-only", ErrPermission)
	}
	if len(b) > f.maxSDU() {
		return 0, fmt.Errorf("%w: SDU of %d bytes, at most %d", ErrMsgSize, len(b), f.maxSDU())
	}
	if err := f.liveErr(); err != nil {
		return 0, err
	}
	if to := f.sndTO.Load(); to > 0 {
		f.conn.SetWriteDeadline(time.Now().Add(time.Duration(to)))
		f.wto.Store(true)
	} else if f.wto.Swap(false) { // the timeout was turned off: back to the caller's deadline
		f.conn.SetWriteDeadline(deadlineOf(f.wdl.Load()))
	}
	if f.fr != nil || f.crc || f.cr != nil {
		f.wmu.Lock()
		defer f.wmu.Unlock()
	}
	var err error
	switch {
	case f.fr != nil:
		err = f.fr.write(b, fl)
	case f.crc || f.cr != nil:
		if f.txb = f.seal(f.txb, b); f.txb == nil {
			return 0, fmt.Errorf("%w: encryption failed", ErrCrypt)
		}
		err = f.send(f.txb, fl)
	default:
		err = f.send(b, fl)
	}
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// send writes one packet to the node.
func (f *Flow) send(p []byte, fl uint32) error {
	var err error
	if fl&FlagWNoBlock != 0 {
		err = f.conn.TryWrite(p)
	} else {
		err = f.conn.Write(p)
	}
	if err != nil {
		return f.ioErr(err)
	}
	f.sent()
	return nil
}

// DrainTimeout bounds how long Close waits for the layer to take the SDUs
// already written.
const DrainTimeout = 2 * time.Second

// LingerTimeout bounds how long Close of a reliable flow waits for the
// peer to acknowledge the SDUs already written.
const LingerTimeout = 10 * time.Second

// Close deallocates the flow. SDUs already written are not lost: through
// an IPCP, Close first waits (at most DrainTimeout) until the IPCP has taken
// them; on a direct flow they wait in the peer's queue. Closing twice
// returns ErrFlowClosed.
func (f *Flow) Close() error {
	err := ErrFlowClosed
	f.once.Do(func() {
		f.closed.Store(true)
		if s := f.set.Load(); s != nil {
			s.Remove(f)
		}
		if f.fr != nil {
			f.fr.close(LingerTimeout)
		}
		if !f.direct {
			for deadline := time.Now().Add(DrainTimeout); f.conn.Unsent() > 0 && time.Now().Before(deadline); {
				time.Sleep(200 * time.Microsecond)
			}
		}
		f.conn.Close()
		if f.fr != nil {
			f.fr.stop()
		}
		err = f.c.dealloc(f.id)
		if errors.Is(err, ErrNotAllocated) { // the node saw the end first
			err = nil
		}
		f.c.release(f)
	})
	return err
}

// Addr is the address of a flow end: a name.
type Addr string

func (a Addr) Network() string { return "ouroboros" }
func (a Addr) String() string  { return string(a) }

// LocalAddr is the process's program name.
func (f *Flow) LocalAddr() net.Addr { return Addr(f.c.prog) }

// RemoteAddr is the name the flow was allocated to or accepted for.
func (f *Flow) RemoteAddr() net.Addr { return Addr(f.name) }

// SetDeadline sets the read and write deadlines.
func (f *Flow) SetDeadline(t time.Time) error {
	f.SetReadDeadline(t)
	return f.SetWriteDeadline(t)
}

// SetReadDeadline sets an absolute deadline for reads.
func (f *Flow) SetReadDeadline(t time.Time) error {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	f.rdl.Store(ns)
	if f.fr != nil { // the receiver goroutine reads the socket: wake the reader to look again
		signal(f.fr.wake)
		return nil
	}
	if f.liveErr() != nil {
		return nil // the wake-up deadline stays
	}
	return f.conn.SetReadDeadline(t)
}

// SetWriteDeadline sets an absolute deadline for writes.
func (f *Flow) SetWriteDeadline(t time.Time) error {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	f.wdl.Store(ns)
	return f.conn.SetWriteDeadline(t)
}
