package eth

import (
	"fmt"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// The in-process port of a flow (ipcp.Port), for an upper IPCP of the
// same node (a unicast IPCP whose N-1 flow this is):
//
//   - receiving, the reader calls the upper IPCP's receiver with the SDU
//     in its own buffer instead of writing it to the flow's channel
//     (deliver), so a packet crosses the node in the reader's goroutine;
//   - sending, the SDU is copied behind the header's room into a pooled
//     packet, framed, and queued on dq, which the writer drains in
//     batches (up to BatchSize frames per link write) with the
//     management frames.
//
// dq is one queue per IPCP, the link's: Queued is its length, which the
// unicast IPCP's MB-ECN marks by. A full queue makes TrySend drop the
// packet (DropTxFull) and Send wait.
//
// The flow's channel stays: the pump still reads it, so that the upper
// IPCP closing its end still ends the flow, and what the upper IPCP wrote
// on it before Attach (its CEP message) goes out before anything sent
// through the port: Attach asks the pump, by setting a read deadline in
// the past on the node end, to send what the channel holds and say so.

// txDataLen bounds the frames the ports of the IPCP have queued for the
// link, as the reference's flow ring does (1024 packets).
const txDataLen = 1024

// port is a flow's ipcp.Port.
type port struct {
	p *IPCP
	f *flow
}

var _ ipcp.PortOpener = (*IPCP)(nil)

// Port implements ipcp.PortOpener.
func (p *IPCP) Port(key ipcp.FlowKey) (ipcp.Port, error) {
	p.mu.Lock()
	f := p.flows[key]
	p.mu.Unlock()
	if f == nil {
		return nil, ipcp.ErrUnknownFlow
	}
	return &port{p: p, f: f}, nil
}

// attachTimeout bounds Attach's wait for the flush of the channel (a link
// that takes nothing); the caller then goes on sending on the channel.
var attachTimeout = time.Second

// Attach implements ipcp.Port: the pump that reads the flow's channel
// flushes it when woken, and closes flushed (ipcp.HandOver).
func (pt *port) Attach(rx func([]byte)) error {
	f := pt.f
	return ipcp.HandOver(rx, ipcp.PortFlow{Rx: &f.rx, Attached: &f.attached, Live: f.active.Load, Flushed: f.flushed, Gone: f.gone, End: f.end},
		pt.p.ctx.Done(), errClosed, attachTimeout)
}

// Send implements ipcp.Port.
func (pt *port) Send(sdu []byte) error { return pt.p.enqueue(pt.f, sdu, true) }

// TrySend implements ipcp.Port.
func (pt *port) TrySend(sdu []byte) error { return pt.p.enqueue(pt.f, sdu, false) }

// Queued implements ipcp.Port.
func (pt *port) Queued() int { return len(pt.p.dq) }

// enqueue frames a copy of sdu for flow f and queues it for the writer;
// wait says whether to wait while the queue is full.
func (p *IPCP) enqueue(f *flow, sdu []byte, wait bool) error {
	if !f.active.Load() {
		return ipcp.ErrPortClosed
	}
	if len(sdu) > p.maxSDU {
		p.Stats.DropTooLong.Add(1)
		return fmt.Errorf("%w: %d bytes, the layer carries %d", errs.ErrMsgSize, len(sdu), p.maxSDU)
	}
	pk := p.getPacket()
	copy(pk.buf[p.hl:], sdu)
	pk.n = p.encode(pk.buf, f, len(sdu))
	select {
	case p.dq <- pk:
		p.Stats.TxSDUs.Add(1)
		return nil
	default:
	}
	if !wait {
		p.putPacket(pk)
		p.Stats.DropTxFull.Add(1)
		return ipcp.ErrPortFull
	}
	select {
	case p.dq <- pk:
		p.Stats.TxSDUs.Add(1)
		return nil
	case <-f.gone:
		p.putPacket(pk)
		return ipcp.ErrPortClosed
	case <-p.ctx.Done():
		p.putPacket(pk)
		return errClosed
	}
}
