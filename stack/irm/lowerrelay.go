package irm

import (
	"errors"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/frct"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// lowerRelay runs, for an IPCP's lower flow, what the application library
// runs for a program's flow: FRCT when the flow's QoS asks for in-order
// delivery (irm ipcp connect ... qos voice, as the reference's IPCPs do),
// encryption when OAP agreed a cipher, the CRC when the QoS asks for no
// bit errors. The IPCP keeps its plain packet channel: the relay sits
// between the IPCP's end (SDUs) and the flow (PDUs), one goroutine per
// direction and one for FRCT's timers.
type lowerRelay struct {
	ipcp  *seqpkt.Conn // the relay's end of the IPCP's channel: SDUs
	flow  *seqpkt.Conn // the flow to the peer: PDUs
	fr    *frct.Conn   // nil: no FRCT
	cr    *crypt.Ctx   // nil: clear
	crc   bool
	kick  chan struct{}
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	obuf  []byte // control PDUs (FRCT's Output runs under its lock)
	clock time.Time
}

// needsRelay tells whether a lower flow needs the relay.
func needsRelay(fi FlowInfo) bool {
	return fi.QoS.InOrder != 0 || fi.Crypt.Encrypted() || fi.QoS.BER == 0
}

// newLowerRelay starts the relay of flow (the node's end from the IRM)
// and returns the end the IPCP reads and writes.
func newLowerRelay(fi FlowInfo, flow *seqpkt.Conn) (*seqpkt.Conn, *lowerRelay, error) {
	mine, theirs, err := seqpkt.Pair()
	if err != nil {
		return nil, nil, err
	}
	r := &lowerRelay{ipcp: mine, flow: flow, crc: fi.QoS.BER == 0, kick: make(chan struct{}, 1),
		done: make(chan struct{}), clock: time.Now()}
	if fi.Crypt.Encrypted() {
		if r.cr, err = crypt.New(fi.Crypt.Cipher, fi.Crypt.Key); err != nil {
			mine.Close()
			theirs.Close()
			return nil, nil, err
		}
	}
	if fi.QoS.InOrder != 0 {
		mpl := fi.MPL
		if mpl == 0 {
			mpl = 100 * time.Millisecond
		}
		r.fr = frct.New(frct.Config{MPL: mpl, Reliable: fi.QoS.Loss == 0, Output: r.output})
		r.wg.Add(1)
		go r.timers()
	}
	r.wg.Add(2)
	go r.toPeer()
	go r.fromPeer()
	return theirs, r, nil
}

func (r *lowerRelay) now() int64 { return int64(time.Since(r.clock)) }

// overhead is what the relay adds to each SDU: FRCT's header, the IV and
// tag, the CRC.
func (r *lowerRelay) overhead() int {
	n := 0
	if r.fr != nil {
		n += frct.PCILen
	}
	if r.cr != nil {
		n += r.cr.Overhead()
	}
	if r.crc {
		n += frct.CRCLen
	}
	return n
}

// seal encrypts and checksums a PDU into dst.
func (r *lowerRelay) seal(dst, p []byte) ([]byte, error) {
	var err error
	if r.cr != nil {
		if dst, err = r.cr.Seal(dst[:0], p); err != nil {
			return nil, err
		}
	} else {
		dst = append(dst[:0], p...)
	}
	if r.crc {
		dst = frct.AppendCRC(dst)
	}
	return dst, nil
}

func (r *lowerRelay) output(pdu []byte) {
	var err error
	if r.obuf, err = r.seal(r.obuf, pdu); err == nil {
		r.flow.TryWrite(r.obuf)
	}
}

// toPeer carries the IPCP's SDUs to the flow.
func (r *lowerRelay) toPeer() {
	defer r.wg.Done()
	defer r.end()
	buf := make([]byte, seqpkt.MaxPacket)
	var out []byte
	for {
		n, err := r.ipcp.Read(buf[frct.PCILen:])
		if err != nil {
			return
		}
		if n > len(buf)-frct.PCILen-frct.CRCLen-32 {
			continue // too long for the headers: dropped
		}
		pdu := buf[frct.PCILen : frct.PCILen+n]
		if r.fr != nil {
			pdu = buf[:frct.PCILen+n]
			if !r.sendFRCT(pdu) {
				return
			}
		}
		if out, err = r.seal(out, pdu); err != nil {
			continue
		}
		if r.flow.Write(out) != nil {
			return
		}
	}
}

// sendFRCT waits for the window and prepares the PDU; false when the
// relay stops.
func (r *lowerRelay) sendFRCT(pdu []byte) bool {
	for {
		err := r.fr.Send(pdu, r.now())
		if err == nil {
			signal(r.kick)
			return true
		}
		if !errors.Is(err, frct.ErrWindowClosed) {
			return false
		}
		signal(r.kick) // rendezvous
		select {
		case <-r.fr.Writable():
		case <-r.fr.Failed():
			return false
		case <-r.done:
			return false
		}
	}
}

// fromPeer carries the flow's PDUs to the IPCP.
func (r *lowerRelay) fromPeer() {
	defer r.wg.Done()
	defer r.end()
	buf := make([]byte, seqpkt.MaxPacket)
	sdu := make([]byte, seqpkt.MaxPacket)
	for {
		n, err := r.flow.Read(buf)
		if err != nil {
			return
		}
		if n == 0 || n > len(buf) { // a keepalive, or too long
			continue
		}
		p := buf[:n]
		var ok bool
		if r.crc {
			if p, ok = frct.CheckCRC(p); !ok {
				continue
			}
		}
		if r.cr != nil {
			if p, err = r.cr.Open(p); err != nil {
				continue
			}
		}
		if r.fr == nil {
			if r.ipcp.Write(p) != nil {
				return
			}
			continue
		}
		r.fr.Receive(p, r.now())
		signal(r.kick)
		for {
			m, ok := r.fr.Next(sdu, r.now())
			if !ok {
				break
			}
			if r.ipcp.Write(sdu[:m]) != nil {
				return
			}
		}
	}
}

func (r *lowerRelay) timers() {
	defer r.wg.Done()
	r.fr.RunTimers(r.now, r.kick, r.done)
}

// end stops the relay once either side is gone: both channels close,
// and every goroutine ends.
func (r *lowerRelay) end() {
	r.once.Do(func() {
		close(r.done)
		r.ipcp.Close()
		r.flow.Close()
	})
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
