package udp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

type flowState uint8

const (
	allocPending flowState = iota // FLOW_REQ sent, waiting for the FLOW_REPLY
	respPending                   // FLOW_REQ arrived, waiting for FlowAllocResp
	active                        // the writer runs
)

// flow is an N+1 flow through the layer. eid, peer and raddr never change;
// reid is set before the writer starts and never after.
type flow struct {
	key   ipcp.FlowKey
	end   *seqpkt.Conn
	eid   uint32 // ours: the eid the peer puts on datagrams to us
	reid  uint32 // the peer's: the eid we put on datagrams to it
	peer  netip.AddrPort
	raddr *net.UDPAddr // peer, for WriteBatch
	state flowState    // guarded by IPCP.mu
	// The in-process port (port.go): live while the writer runs and the
	// flow is held; the upper IPCP's receiver, called instead of writing
	// to end once set; attached set once by Attach; flushed closed by
	// the writer once it has sent what the channel held; gone closed by
	// release.
	live     atomic.Bool
	rx       atomic.Pointer[func([]byte)]
	attached atomic.Bool
	flushed  chan struct{}
	gone     chan struct{}
}

// reserveEID takes the next free eid, next-fit from the last one taken.
func (p *IPCP) reserveEID() (uint32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reserveEIDLocked()
}

// reserveEIDLocked is reserveEID with p.mu held.
func (p *IPCP) reserveEIDLocked() (uint32, error) {
	for range MaxFlows - 1 {
		eid := p.nextEID
		if p.nextEID++; p.nextEID >= MaxFlows {
			p.nextEID = 1
		}
		if !p.eidUsed.has(eid) {
			p.eidUsed.add(eid)
			return eid, nil
		}
	}
	return 0, fmt.Errorf("%w: all %d endpoint ids of the IPCP are in use", errs.ErrResources, MaxFlows-1)
}

func (p *IPCP) freeEID(eid uint32) {
	p.mu.Lock()
	p.eidUsed.remove(eid)
	p.mu.Unlock()
}

// installLocked makes f (whose eid is reserved) known by key and by eid,
// and wakes a FlowAllocResp waiting for it; p.mu is held.
func (p *IPCP) installLocked(f *flow) {
	f.end.SetBuffer(flowBuffer) // best effort; see flowBuffer
	f.flushed, f.gone = make(chan struct{}), make(chan struct{})
	p.byKey[f.key] = f
	p.demux.Store(f.eid, f)
	if ch := p.waiters[f.key]; ch != nil {
		close(ch)
		delete(p.waiters, f.key)
	}
}

// release forgets the flow and closes its end; it reports whether the
// IPCP held it (exactly one caller gets true, and makes the callback).
func (p *IPCP) release(key ipcp.FlowKey) bool {
	p.mu.Lock()
	f := p.byKey[key]
	if f == nil {
		p.mu.Unlock()
		return false
	}
	delete(p.byKey, key)
	p.demux.Store(f.eid, nil)
	p.eidUsed.remove(f.eid)
	f.live.Store(false)
	f.rx.Store(nil)
	if f.gone != nil {
		close(f.gone)
	}
	p.mu.Unlock()
	f.end.Close()
	return true
}

// FlowAlloc implements ipcp.IPCP: it sends a FLOW_REQ to the address the
// directory holds for the name (Query put it there), on the layer's port.
func (p *IPCP) FlowAlloc(_ context.Context, fl ipcp.Flow, hash, data []byte) error {
	f, err := p.installAlloc(fl, hash)
	if err != nil {
		fl.End.Close()
		return err
	}
	if _, err := p.conn.WriteToUDPAddrPort(AppendFlowReq(nil, f.eid, fl.QoS, hash, data), f.peer); err != nil {
		p.release(fl.Key)
		return fmt.Errorf("%w: send the flow request to %v: %w", errs.ErrFlowDown, f.peer, err)
	}
	p.log.Debug("flow requested", "flow", fl.Key.ID, "eid", f.eid, "dst", f.peer, "name", HexName(hash))
	return nil
}

// installAlloc installs the flow of an allocation before its request is
// sent, so a quick reply finds it.
func (p *IPCP) installAlloc(fl ipcp.Flow, hash []byte) (*flow, error) {
	if err := checkHash(hash); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.operational(); err != nil {
		return nil, err
	}
	dst, ok := p.lookupLocked(hash)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not in the directory (query it first)", errs.ErrName, HexName(hash))
	}
	eid, err := p.reserveEIDLocked()
	if err != nil {
		return nil, err
	}
	f := &flow{key: fl.Key, end: fl.End, eid: eid, peer: dst, raddr: net.UDPAddrFromAddrPort(dst), state: allocPending}
	p.installLocked(f)
	return f, nil
}

// FlowAllocResp implements ipcp.IPCP: it answers the requester with a
// FLOW_REPLY and, on acceptance, starts sending the flow's SDUs.
func (p *IPCP) FlowAllocResp(ctx context.Context, key ipcp.FlowKey, response error, data []byte) error {
	f, err := p.waitFlow(ctx, key)
	if err != nil {
		return err
	}
	if response != nil {
		p.sendReply(f.peer, f.reid, 0, errs.Code(response), nil)
		if p.release(key) {
			p.irm.FlowDeallocated(key)
		}
		return nil
	}
	if err := p.sendReply(f.peer, f.reid, f.eid, 0, data); err != nil {
		return fmt.Errorf("%w: answer %v: %w", errs.ErrFlowDown, f.peer, err) // the IRM deallocates it
	}
	p.mu.Lock()
	if p.byKey[key] != f || f.state != respPending || p.state != ipcp.StateOperational {
		p.mu.Unlock()
		return fmt.Errorf("%w: the flow ended while it was answered", ipcp.ErrUnknownFlow)
	}
	f.state = active
	f.live.Store(true)
	p.wg.Add(1)
	p.mu.Unlock()
	go p.writer(f)
	p.log.Debug("flow accepted", "flow", key.ID, "eid", f.eid, "peer", f.peer, "peer_eid", f.reid)
	return nil
}

// waitFlow returns the flow of key, waiting until the goroutine that got
// it from FlowReqArr has installed it.
func (p *IPCP) waitFlow(ctx context.Context, key ipcp.FlowKey) (*flow, error) {
	p.mu.Lock()
	f := p.byKey[key]
	ch := p.waiters[key]
	if f == nil && ch == nil {
		ch = make(chan struct{})
		p.waiters[key] = ch
	}
	p.mu.Unlock()
	if f != nil {
		return f, nil
	}
	select {
	case <-ch:
	case <-ctx.Done():
	case <-p.ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiters[key] == ch {
		delete(p.waiters, key)
	}
	if f = p.byKey[key]; f == nil {
		return nil, fmt.Errorf("%w: no pending flow %d", ipcp.ErrUnknownFlow, key.ID)
	}
	return f, nil
}

var _ ipcp.PeerTeller = (*IPCP)(nil)

// FlowPeer implements ipcp.PeerTeller: the address and port of the flow's
// peer.
func (p *IPCP) FlowPeer(key ipcp.FlowKey) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.byKey[key]; f != nil {
		return netip.AddrPortFrom(f.peer.Addr().Unmap(), f.peer.Port()).String()
	}
	return ""
}

// FlowDealloc implements ipcp.IPCP. It is local only: the peer learns
// nothing (spec SYSTEM §7.2).
func (p *IPCP) FlowDealloc(key ipcp.FlowKey) error {
	if !p.release(key) {
		return ipcp.ErrUnknownFlow
	}
	p.irm.FlowDeallocated(key)
	return nil
}

func (p *IPCP) sendReply(dst netip.AddrPort, reqEID, respEID uint32, response int32, oap []byte) error {
	_, err := p.conn.WriteToUDPAddrPort(AppendFlowReply(nil, reqEID, respEID, response, oap), dst)
	return err
}

// mgmt handles a management datagram on the reader goroutine; it never
// waits for the IRM's answer to a request.
func (p *IPCP) mgmt(b []byte, src netip.AddrPort) {
	m, rest, err := ParseMgmt(b)
	if err != nil || !src.IsValid() {
		p.Stats.DropBadMgmt.Add(1)
		return
	}
	switch m.Code {
	case FlowReq:
		p.flowReq(m, rest, src)
	case FlowReply:
		p.flowReply(m, rest, src)
	}
}

// flowReq starts asking the IRM for an acceptor, with the OAP request that
// follows the hash.
func (p *IPCP) flowReq(m Mgmt, rest []byte, src netip.AddrPort) {
	hash, oap, err := ParseFlowReq(rest)
	if err != nil {
		p.Stats.DropBadMgmt.Add(1)
		return
	}
	p.mu.Lock()
	registered := p.reg[string(hash)]
	p.mu.Unlock()
	if !registered {
		p.Stats.DropNotReg.Add(1)
		p.sendReply(src, m.SEID, 0, errs.Code(errs.ErrName), nil)
		return
	}
	select {
	case p.reqSem <- struct{}{}:
	default:
		p.Stats.DropReqBusy.Add(1)
		p.sendReply(src, m.SEID, 0, errs.Code(errs.ErrResources), nil)
		return
	}
	p.Stats.MgmtRx.Add(1)
	hash, oap = bytes.Clone(hash), bytes.Clone(oap) // the reader's buffer is reused
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() { <-p.reqSem }()
		p.request(src, m.SEID, hash, oap, m.QoS)
	}()
}

// request waits for the IRM to find an acceptor and installs the flow.
// A request nobody takes is refused at once with the IRM's error code (the
// reference stays silent and lets the requester time out).
func (p *IPCP) request(src netip.AddrPort, reid uint32, hash, oap []byte, qs qos.Spec) {
	eid, err := p.reserveEID()
	if err != nil {
		p.sendReply(src, reid, 0, errs.Code(err), nil)
		return
	}
	fl, err := p.irm.FlowReqArr(p.ctx, p.id, hash, qs, MPL, oap)
	if err != nil {
		p.freeEID(eid)
		if !errors.Is(err, ipcp.ErrDuplicateRequest) { // the first copy's answer is what counts
			p.sendReply(src, reid, 0, errs.Code(err), nil)
		}
		p.log.Debug("flow request not taken", "peer", src, "name", HexName(hash), "err", err)
		return
	}
	f := &flow{key: fl.Key, end: fl.End, eid: eid, reid: reid, peer: src, raddr: net.UDPAddrFromAddrPort(src), state: respPending}
	p.mu.Lock()
	ok := p.state == ipcp.StateOperational
	if ok {
		p.installLocked(f)
	}
	p.mu.Unlock()
	if !ok {
		p.freeEID(eid)
		fl.End.Close()
		p.irm.FlowDeallocated(fl.Key)
	}
}

// flowReply completes a flow this IPCP requested. Only the address the
// request went to may answer it.
func (p *IPCP) flowReply(m Mgmt, oap []byte, src netip.AddrPort) {
	var f *flow
	if m.SEID > 0 && m.SEID < MaxFlows {
		f = p.demux.Load(uint32(m.SEID))
	}
	p.mu.Lock()
	if f == nil || p.byKey[f.key] != f || f.state != allocPending {
		p.mu.Unlock()
		p.Stats.DropStaleReply.Add(1)
		return
	}
	if src != f.peer {
		p.mu.Unlock()
		p.Stats.DropWrongSource.Add(1)
		return
	}
	p.Stats.MgmtRx.Add(1)
	if m.Response != 0 || p.state != ipcp.StateOperational {
		p.mu.Unlock()
		if p.release(f.key) {
			p.irm.FlowAllocReply(f.key, fmt.Errorf("%v refused the flow: %w", src, responseErr(m.Response)), 0, nil)
		}
		return
	}
	f.reid, f.state = m.DEID, active
	f.live.Store(true)
	p.wg.Add(1)
	p.mu.Unlock()
	go p.writer(f)
	p.irm.FlowAllocReply(f.key, nil, MPL, oap)
	p.log.Debug("flow allocated", "flow", f.key.ID, "eid", f.eid, "peer", f.peer, "peer_eid", f.reid)
}

// responseErr maps a FLOW_REPLY's response code to the node's error.
func responseErr(response int32) error {
	if response == 0 {
		return fmt.Errorf("%w: the IPCP is shutting down", errs.ErrIPCPState)
	}
	return errs.Remote(response, "")
}
