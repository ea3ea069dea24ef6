package dev

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/frct"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// frctFlow runs FRCT on a flow (spec APP §4): a receiver goroutine reads
// every packet from the node as it comes and hands it to FRCT, so that
// acknowledgements and window updates flow while the application is not
// reading, and a timer goroutine runs FRCT's retransmissions, delayed
// acknowledgements and rendezvous. Read takes SDUs from FRCT's reorder
// queue; Write prepares each PDU with FRCT and writes it itself.
type frctFlow struct {
	f        *Flow
	c        *frct.Conn
	kick     chan struct{} // the timer goroutine's wake-up: a deadline may be earlier
	wake     chan struct{} // blocked readers and writers: the flow's state changed
	done     chan struct{} // closed by Close: the goroutines stop
	ended    chan struct{} // closed when the receiver stops: the peer is gone
	wg       sync.WaitGroup
	rerr     error        // why the receiver stopped; set before ended is closed
	evfd     atomic.Int32 // an eventfd readable while an SDU is ready, once in an event set; -1 none
	armed    atomic.Bool  // the eventfd is readable
	obuf     []byte       // the control PDUs' buffer: Output runs under FRCT's lock
	tx       []byte       // the data PDUs' buffer, guarded by the Flow's wmu
	sealed   []byte       // the data PDUs encrypted, likewise
	reliable bool         // FRCT retransmits (QoS loss 0)
}

// clock is the flows' monotonic clock, ns.
var clockBase = time.Now()

func now() int64 { return int64(time.Since(clockBase)) }

func newFRCT(f *Flow) *frctFlow {
	fr := &frctFlow{f: f, kick: make(chan struct{}, 1), wake: make(chan struct{}, 1),
		done: make(chan struct{}), ended: make(chan struct{})}
	fr.evfd.Store(-1)
	fr.reliable = f.qos.Loss == 0
	fr.c = frct.New(frct.Config{MPL: f.mpl, Reliable: fr.reliable, Output: fr.output})
	fr.wg.Add(2)
	go fr.receiver()
	go fr.timers()
	return fr
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// output writes a PDU FRCT made on its own; it never waits: a control PDU
// that does not fit now is lost, and the protocol recovers it.
func (fr *frctFlow) output(pdu []byte) {
	if fr.obuf = fr.f.seal(fr.obuf, pdu); fr.obuf == nil {
		return
	}
	if fr.f.conn.TryWrite(fr.obuf) == nil {
		fr.f.sent()
	}
}

// receiver reads the flow's packets until the node closes it.
func (fr *frctFlow) receiver() {
	defer fr.wg.Done()
	buf := make([]byte, seqpkt.MaxPacket)
	for {
		n, err := fr.f.conn.Read(buf)
		if err != nil {
			if errors.Is(err, seqpkt.ErrWouldBlock) {
				continue
			}
			fr.rerr = fr.f.ioErr(err)
			close(fr.ended)
			fr.ready()
			signal(fr.wake)
			return
		}
		fr.f.received()
		if n == 0 || n > len(buf) { // a keepalive, or too long to be ours
			continue
		}
		pdu, ok := fr.f.unseal(buf[:n])
		if !ok {
			continue
		}
		fr.c.Receive(pdu, now())
		signal(fr.kick)
		fr.ready()
	}
}

// ready makes the event set's descriptor readable when an SDU is ready or
// the flow ended. armed says it is: the descriptor is written and read
// only when that changes, not for every packet.
func (fr *frctFlow) ready() {
	if fd := fr.evfd.Load(); fd >= 0 && (fr.c.Ready() || fr.isEnded()) && !fr.armed.Swap(true) {
		eventfdSet(int(fd))
	}
}

// consumed clears the event set's descriptor unless an SDU is still ready.
func (fr *frctFlow) consumed() {
	fd := fr.evfd.Load()
	if fd < 0 || fr.c.Ready() || fr.isEnded() {
		return
	}
	if fr.armed.Swap(false) {
		eventfdClear(int(fd))
	}
	fr.ready() // an SDU that came meanwhile
}

func (fr *frctFlow) isEnded() bool {
	select {
	case <-fr.ended:
		return true
	default:
		return false
	}
}

// timers runs FRCT's timers until the flow is closed.
func (fr *frctFlow) timers() {
	defer fr.wg.Done()
	fr.c.RunTimers(now, fr.kick, fr.done)
	if fr.c.Err() != nil { // wake readers and writers to see it
		fr.ready()
		signal(fr.wake)
	}
}

// errFailed is a reliable flow whose peer acknowledged nothing for R.
var errFailed = fmt.Errorf("%w: %w", ErrFlowDown, frct.ErrFailed)

// end returns why no SDU will come any more, or nil.
func (fr *frctFlow) end() error {
	if fr.c.Err() != nil {
		return errFailed
	}
	if fr.isEnded() {
		return fr.rerr
	}
	return nil
}

// read takes the next SDU; the Flow's rmu is held.
func (fr *frctFlow) read(b []byte, fl uint32) (int, error) {
	f := fr.f
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	d := f.readDeadline()
	for {
		dst := b
		if fl&FlagRNoPart == 0 && len(b) < f.maxSDU() {
			dst = f.scratchBuf()
		}
		n, ok := fr.c.Next(dst, now())
		if ok && n > len(dst) { // only with FlagRNoPart
			fr.c.Drop(now())
			fr.consumed()
			return 0, fmt.Errorf("%w: SDU of %d bytes dropped, the buffer holds %d", ErrMsgSize, n, len(b))
		}
		if ok {
			fr.consumed()
			if &dst[0] != &b[0] {
				c := copy(b, dst[:n])
				f.rest = dst[c:n]
				return c, nil
			}
			return n, nil
		}
		fr.consumed()
		if err := fr.end(); err != nil {
			return 0, err
		}
		if err := f.liveErr(); err != nil {
			return 0, err
		}
		if fl&FlagRNoBlock != 0 {
			return 0, ErrWouldBlock
		}
		if f.rdl.Load() != 0 && f.rcvTO.Load() == 0 {
			d = deadlineOf(f.rdl.Load()) // SetReadDeadline may have moved it
		}
		if !fr.wait(fr.c.Readable(), d, &timer) {
			return 0, errIOTimeout
		}
	}
}

// wait waits for ready, or for the flow to change (woken, ended, failed),
// until the deadline d (zero: none); false when d has passed. timer is
// the caller's, made on first use.
func (fr *frctFlow) wait(ready <-chan struct{}, d time.Time, timer **time.Timer) bool {
	var tc <-chan time.Time
	if !d.IsZero() {
		left := time.Until(d)
		if left <= 0 {
			return false
		}
		if *timer == nil {
			*timer = time.NewTimer(left)
		} else {
			(*timer).Reset(left)
		}
		tc = (*timer).C
	}
	select {
	case <-ready:
	case <-fr.wake:
	case <-fr.ended:
	case <-fr.c.Failed():
	case <-tc:
	}
	return true
}

// write sends one SDU through FRCT; the Flow's wmu is held.
func (fr *frctFlow) write(b []byte, fl uint32) error {
	f := fr.f
	need := frct.PCILen + len(b) + frct.CRCLen
	if cap(fr.tx) < need {
		fr.tx = make([]byte, need)
	}
	pdu := fr.tx[:frct.PCILen+len(b)]
	copy(pdu[frct.PCILen:], b)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	d := f.writeDeadline()
	for {
		err := fr.c.Send(pdu, now())
		if err == nil {
			break
		}
		if !errors.Is(err, frct.ErrWindowClosed) {
			return errFailed
		}
		signal(fr.kick) // the rendezvous timer
		if err := fr.end(); err != nil {
			return err
		}
		if err := f.liveErr(); err != nil {
			return err
		}
		if fl&FlagWNoBlock != 0 {
			return ErrWouldBlock
		}
		if !fr.wait(fr.c.Writable(), d, &timer) {
			return errIOTimeout
		}
	}
	signal(fr.kick)
	if f.crc || f.cr != nil {
		// The kept PDU (for retransmission) is the plaintext: each
		// retransmission is encrypted again, with an IV of its own.
		if fr.sealed = f.seal(fr.sealed, pdu); fr.sealed == nil {
			return fmt.Errorf("%w: encryption failed", ErrCrypt)
		}
		pdu = fr.sealed
	}
	err := f.send(pdu, fl)
	if err != nil && fr.reliable && (errors.Is(err, ErrTimeout) || errors.Is(err, ErrWouldBlock)) {
		// FRCT holds the PDU and sends it again when its timer fires:
		// the SDU is written, and saying otherwise would have the caller
		// write it twice.
		return nil
	}
	return err
}

// close lingers while SDUs written are unacknowledged (at most linger),
// acknowledges what came, and stops the goroutines once the node end is
// closed. It returns the Delta-t quiet time.
func (fr *frctFlow) close(linger time.Duration) time.Duration {
	deadline := time.Now().Add(linger)
	quiet, more := fr.c.Close(now())
	for more && time.Now().Before(deadline) && fr.end() == nil && fr.f.liveErr() == nil {
		select {
		case <-fr.c.Writable():
		case <-fr.ended:
		case <-fr.c.Failed():
		case <-time.After(10 * time.Millisecond):
		}
		quiet, more = fr.c.Close(now())
	}
	return quiet
}

// stop ends the goroutines; the node end must be closed first.
func (fr *frctFlow) stop() {
	close(fr.done)
	fr.wg.Wait()
	if fd := fr.evfd.Swap(-1); fd >= 0 {
		eventfdClose(int(fd))
	}
}

// FRCTStats are the counters of a flow's FRCT.
type FRCTStats = frct.Stats

// FRCT returns the counters of the flow's FRCT, and false when the flow
// has none (its QoS does not ask for in-order delivery).
func (f *Flow) FRCT() (FRCTStats, bool) {
	if f.fr == nil {
		return FRCTStats{}, false
	}
	return f.fr.c.Stats(), true
}

// SetFRCTFlags sets the flow's FRCT sender flags (FRCTResCntl,
// FRCTLinger; retransmission is fixed when the flow is made); a flow
// without FRCT is ErrPermission.
func (f *Flow) SetFRCTFlags(fl uint16) error {
	if f.fr == nil {
		return fmt.Errorf("%w: the flow has no FRCT", ErrPermission)
	}
	f.fr.c.SetFlags(fl)
	return nil
}

// FRCTFlags returns the flow's FRCT sender flags.
func (f *Flow) FRCTFlags() (uint16, error) {
	if f.fr == nil {
		return 0, fmt.Errorf("%w: the flow has no FRCT", ErrPermission)
	}
	return f.fr.c.Flags(), nil
}

// The FRCT sender flags (spec APP §2.8).
const (
	FRCTRetransmit = frct.RTX
	FRCTResCntl    = frct.ResCntl
	FRCTLinger     = frct.Linger
)
