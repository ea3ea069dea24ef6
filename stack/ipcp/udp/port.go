package udp

import (
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// The in-process port of a flow (ipcp.Port), for an upper IPCP of the
// same node (a unicast IPCP whose N-1 flow this is):
//
//   - receiving, the reader calls the upper IPCP's receiver with the SDU
//     in its own buffer instead of writing it to the flow's node end
//     (deliver), so a packet crosses the node in the reader's goroutine;
//   - sending, the SDU is copied behind the eid's room into a pooled
//     buffer and queued on dq, which one data writer per IPCP drains,
//     up to Batch datagrams per system call.
//
// dq is the socket's queue: Queued is its length, which the unicast
// IPCP's MB-ECN marks by. A full queue makes TrySend drop the packet
// (DropTxFull) and Send wait.
//
// The flow's node end stays: its writer still reads it, so that the
// upper IPCP closing its end still ends the flow, and what the upper IPCP
// wrote on it before Attach (its CEP message) goes out before anything
// sent through the port: Attach asks the writer, by setting a read
// deadline in the past on the node end, to send what the end holds and
// say so.

// txDataLen bounds the datagrams the ports of the IPCP have queued for
// the socket, as the reference's flow ring does (1024 packets).
const txDataLen = 1024

// outSmall is the size of the pooled buffers of most queued datagrams;
// longer ones take a buffer of the largest size, from a pool of their own.
const outSmall = 2048

// outPacket is a queued datagram: the eid, then the SDU, to a peer.
type outPacket struct {
	buf []byte
	n   int
	to  *net.UDPAddr
}

var (
	outSmallPool = sync.Pool{New: func() any { return &outPacket{buf: make([]byte, outSmall)} }}
	outBigPool   = sync.Pool{New: func() any { return &outPacket{buf: make([]byte, MaxPacket4)} }}
)

func putOut(pk *outPacket) {
	pk.to, pk.n = nil, 0
	if len(pk.buf) == outSmall {
		outSmallPool.Put(pk)
	} else {
		outBigPool.Put(pk)
	}
}

// port is a flow's ipcp.Port.
type port struct {
	p *IPCP
	f *flow
}

var _ ipcp.PortOpener = (*IPCP)(nil)

// Port implements ipcp.PortOpener.
func (p *IPCP) Port(key ipcp.FlowKey) (ipcp.Port, error) {
	p.mu.Lock()
	f := p.byKey[key]
	p.mu.Unlock()
	if f == nil {
		return nil, ipcp.ErrUnknownFlow
	}
	return &port{p: p, f: f}, nil
}

// attachTimeout bounds Attach's wait for the flush of the channel (a link
// that takes nothing); the caller then goes on sending on the channel.
var attachTimeout = time.Second

// Attach implements ipcp.Port: the writer that reads the flow's channel
// flushes it when woken, and closes flushed (ipcp.HandOver).
func (pt *port) Attach(rx func([]byte)) error {
	f := pt.f
	return ipcp.HandOver(rx, ipcp.PortFlow{Rx: &f.rx, Attached: &f.attached, Live: f.live.Load, Flushed: f.flushed, Gone: f.gone, End: f.end},
		pt.p.ctx.Done(), fmt.Errorf("%w: the IPCP is shut down", errs.ErrIPCPState), attachTimeout)
}

// Send implements ipcp.Port.
func (pt *port) Send(sdu []byte) error { return pt.p.enqueue(pt.f, sdu, true) }

// TrySend implements ipcp.Port.
func (pt *port) TrySend(sdu []byte) error { return pt.p.enqueue(pt.f, sdu, false) }

// Queued implements ipcp.Port.
func (pt *port) Queued() int { return len(pt.p.dq) }

// enqueue puts a copy of sdu behind the peer's eid and queues it for the
// data writer; wait says whether to wait while the queue is full.
func (p *IPCP) enqueue(f *flow, sdu []byte, wait bool) error {
	if !f.live.Load() {
		return ipcp.ErrPortClosed
	}
	n := EIDLen + len(sdu)
	if n > p.maxPacket {
		p.Stats.DropOversize.Add(1)
		return fmt.Errorf("%w: %d bytes, the layer carries %d", errs.ErrMsgSize, len(sdu), p.maxPacket-EIDLen)
	}
	var pk *outPacket
	if n <= outSmall {
		pk = outSmallPool.Get().(*outPacket)
	} else {
		pk = outBigPool.Get().(*outPacket)
	}
	PutEID(pk.buf[:EIDLen], f.reid)
	copy(pk.buf[EIDLen:], sdu)
	pk.n, pk.to = n, f.raddr
	select {
	case p.dq <- pk:
		return nil
	default:
	}
	if !wait {
		putOut(pk)
		p.Stats.DropTxFull.Add(1)
		return ipcp.ErrPortFull
	}
	select {
	case p.dq <- pk:
		return nil
	case <-f.gone:
		putOut(pk)
		return ipcp.ErrPortClosed
	case <-p.ctx.Done():
		putOut(pk)
		return fmt.Errorf("%w: the IPCP is shut down", errs.ErrIPCPState)
	}
}

// dataWriter sends what the ports queued, in batches: it waits for one
// datagram, takes what else is queued up to Batch, and writes them in one
// call. A datagram the kernel refuses is counted and skipped.
func (p *IPCP) dataWriter() {
	defer p.wg.Done()
	var (
		pks  [Batch]*outPacket
		bufs [Batch][1][]byte
		msgs [Batch]ipv4.Message
	)
	for i := range msgs {
		msgs[i].Buffers = bufs[i][:]
	}
	for {
		n := 0
		select {
		case pk := <-p.dq:
			pks[0], n = pk, 1
		case <-p.ctx.Done():
			return
		}
	fill:
		for n < Batch {
			select {
			case pk := <-p.dq:
				pks[n] = pk
				n++
			default:
				break fill
			}
		}
		for i := range n {
			bufs[i][0], msgs[i].Addr = pks[i].buf[:pks[i].n], pks[i].to
		}
		for sent := 0; sent < n; {
			k, err := p.bc.WriteBatch(msgs[sent:n], 0)
			sent += k
			p.Stats.TxPackets.Add(uint64(k))
			if err != nil {
				p.Stats.DropSendErr.Add(1)
				sent++
			}
		}
		for i := range n {
			putOut(pks[i])
			pks[i], bufs[i][0], msgs[i].Addr = nil, nil, nil
		}
	}
}

// drainData returns what is left queued to the pools (at Close, once the
// data writer has stopped).
func (p *IPCP) drainData() {
	for {
		select {
		case pk := <-p.dq:
			putOut(pk)
		default:
			return
		}
	}
}
