package eth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// flowState is where a flow is in its allocation; guarded by IPCP.mu.
type flowState uint8

const (
	stAllocPending flowState = iota // allocator: FLOW_REQ sent, no reply yet
	stReplied                       // allocator: positive FLOW_REPLY seen by the reader
	stRespPending                   // acceptor: waiting for FlowAllocResp
	stActive                        // data flows; the pump runs
)

// flow is an N+1 flow through the layer.
type flow struct {
	key   ipcp.FlowKey
	end   *seqpkt.Conn
	lid   uint16 // our endpoint id (DIX) or SAP (LLC)
	rid   uint16 // the peer's; set before active
	raddr MAC    // the peer's address
	hash  string // allocations: the name's hash the request was for
	state flowState
	// active lets data frames through to end; stored after rid and raddr
	// are final, so the reader may use them without the lock.
	active atomic.Bool
	// The in-process port (port.go): the upper IPCP's receiver, called
	// instead of writing to end once set; attached is set once by
	// Attach, flushed closed by the pump once it has sent what the
	// channel held, gone closed by release.
	rx       atomic.Pointer[func([]byte)]
	attached atomic.Bool
	flushed  chan struct{}
	gone     chan struct{}
}

// idSpace hands out local endpoint ids or SAPs in [first, end), round
// robin so that a freed id is not reused at once. An IPCP that restarts
// hands out the same ids in the same order again: a peer's flow to the
// old IPCP then lands in the new one's flow to the same peer (its frames
// come from that peer's address; a frame from another host is dropped,
// see inputDIX), and the layer above heals at once, where random ids left
// the old adjacencies dead until the neighbours' liveness checks gave up
// on them (a minute with the default link-state timers).
type idSpace struct {
	used       []bool
	first, end int
	next       int
}

func newIDSpace(first, end int) idSpace {
	return idSpace{used: make([]bool, end), first: first, end: end, next: first}
}

func (s *idSpace) alloc() (uint16, bool) {
	for range s.end - s.first {
		id := s.next
		if s.next++; s.next == s.end {
			s.next = s.first
		}
		if !s.used[id] {
			s.used[id] = true
			return uint16(id), true
		}
	}
	return 0, false
}

func (s *idSpace) free(id uint16) { s.used[id] = false }

// flowAt is the flow with local id lid, or nil.
func (p *IPCP) flowAt(lid uint16) *flow {
	return p.eps.Load(uint32(lid))
}

// newFlow gives fl a local id and enters it in the tables; p.mu is held.
func (p *IPCP) newFlow(fl ipcp.Flow, raddr MAC, st flowState) (*flow, error) {
	if err := p.operational(); err != nil {
		return nil, err
	}
	lid, ok := p.ids.alloc()
	if !ok {
		return nil, fmt.Errorf("%w: all %d endpoints of the layer are in use", errs.ErrResources, p.ids.end-p.ids.first)
	}
	// Received SDUs wait in the end's send buffer for the application;
	// make room for about as many as the reference's ring (1024). Best
	// effort: without privilege the system maximum applies.
	fl.End.SetBuffer(FlowBuffer)
	f := &flow{key: fl.Key, end: fl.End, lid: lid, raddr: raddr, state: st, flushed: make(chan struct{}), gone: make(chan struct{})}
	p.flows[fl.Key] = f
	p.eps.Store(uint32(lid), f)
	return f, nil
}

var _ ipcp.PeerTeller = (*IPCP)(nil)

// FlowPeer implements ipcp.PeerTeller: the MAC of the flow's peer.
func (p *IPCP) FlowPeer(key ipcp.FlowKey) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.flows[key]; f != nil {
		return f.raddr.String()
	}
	return ""
}

// release closes the end of a flow the IPCP holds and frees its id; it
// reports whether it did (exactly one caller gets true).
func (p *IPCP) release(key ipcp.FlowKey) bool {
	p.mu.Lock()
	f, ok := p.flows[key]
	if ok {
		delete(p.flows, key)
		f.active.Store(false)
		f.rx.Store(nil)
		close(f.gone)
		if p.eps.Load(uint32(f.lid)) == f {
			p.eps.Store(uint32(f.lid), nil)
		}
		p.ids.free(f.lid)
	}
	delete(p.resps, key)
	p.mu.Unlock()
	if ok {
		f.end.Close()
	}
	return ok
}

// startPump activates f and starts reading its node end; p.mu is held, so
// Close has not begun waiting.
func (p *IPCP) startPump(f *flow) {
	f.state = stActive
	f.active.Store(true)
	p.wg.Add(1)
	go p.pump(f)
}

// FlowAlloc implements ipcp.IPCP: a FLOW_REQ to the address the directory
// has for the hash, with our endpoint id (DIX) or a new SAP (LLC).
func (p *IPCP) FlowAlloc(ctx context.Context, fl ipcp.Flow, hash, data []byte) error {
	p.mu.Lock()
	dst, ok := p.dir[string(hash)]
	var f *flow
	err := p.operational()
	if err == nil && p.linkDown.Load() {
		err = fmt.Errorf("%w: the link of layer %s has no carrier", errs.ErrFlowDown, p.layer.Name)
	}
	if err == nil && !ok {
		err = fmt.Errorf("%w: name not in the directory of layer %s (query it first)", errs.ErrName, p.layer.Name)
	}
	if err == nil {
		f, err = p.newFlow(fl, dst, stAllocPending)
	}
	if f != nil {
		f.hash = string(hash)
	}
	p.mu.Unlock()
	if err != nil {
		fl.End.Close()
		return err
	}
	m := Mgmt{Code: FlowReq, QoS: fl.QoS}
	if p.llc {
		m.SSAP = uint8(f.lid)
	} else {
		m.SEID = f.lid
	}
	if err := p.sendMgmt(ctx, dst, &m, append(bytes.Clone(hash), data...)); err != nil {
		p.release(fl.Key)
		return fmt.Errorf("send flow request: %w", err)
	}
	p.log.Debug("flow requested", "flow", fl.Key.ID, "lid", f.lid, "dst", dst)
	return nil
}

// pendResp meets a request that arrived (flowReq) with its answer
// (FlowAllocResp), whichever comes first.
type pendResp struct {
	ready chan struct{} // closed when f is set
	f     *flow         // nil: the request could not be recorded
}

// pending returns the meeting point of key, creating it; p.mu is held.
func (p *IPCP) pending(key ipcp.FlowKey) *pendResp {
	r := p.resps[key]
	if r == nil {
		r = &pendResp{ready: make(chan struct{})}
		p.resps[key] = r
	}
	return r
}

// flowReq hands a FLOW_REQ to the IRM, which waits for an acceptor, and
// records the flow it returns with the requester's address and id.
func (p *IPCP) flowReq(src MAC, m Mgmt, hash, data []byte) {
	defer p.wg.Done()
	defer func() { <-p.reqs }()
	fl, err := p.irm.FlowReqArr(p.ctx, p.id, hash, m.QoS, MPL, data)
	if err != nil {
		// Refused: say so with the code, rather than letting the
		// allocator wait out its timeout as the reference does.
		p.log.Debug("flow request refused", "src", src, "err", err)
		if p.ctx.Err() == nil && !errors.Is(err, ipcp.ErrDuplicateRequest) {
			r := Mgmt{Code: FlowReply, Response: errs.Code(err)}
			if p.llc {
				r.DSAP = m.SSAP
			} else {
				r.DEID = m.SEID
			}
			p.sendMgmt(p.ctx, src, &r, nil)
		}
		return
	}
	p.mu.Lock()
	r := p.pending(fl.Key)
	r.f, err = p.newFlow(fl, src, stRespPending)
	if r.f != nil {
		r.f.rid = m.SEID
		if p.llc {
			r.f.rid = uint16(m.SSAP)
		}
	}
	close(r.ready)
	p.mu.Unlock()
	if err != nil {
		fl.End.Close()
		p.irm.FlowDeallocated(fl.Key)
		p.log.Debug("flow request dropped", "flow", fl.Key.ID, "err", err)
	}
}

// FlowAllocResp implements ipcp.IPCP: a FLOW_REPLY to the requester, and
// on success the start of the data path.
func (p *IPCP) FlowAllocResp(ctx context.Context, key ipcp.FlowKey, response error, data []byte) error {
	p.mu.Lock()
	r := p.pending(key)
	p.mu.Unlock()
	select {
	case <-r.ready:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return errClosed
	}
	p.mu.Lock()
	delete(p.resps, key)
	f := r.f
	held := f != nil && p.flows[key] == f && f.state == stRespPending
	if held && response == nil {
		p.startPump(f)
	}
	p.mu.Unlock()
	if !held {
		return fmt.Errorf("%w: the flow request is gone", ipcp.ErrUnknownFlow)
	}
	m := Mgmt{Code: FlowReply, Response: errs.Code(response)}
	if p.llc {
		m.SSAP, m.DSAP = uint8(f.lid), uint8(f.rid)
	} else {
		m.SEID, m.DEID = f.lid, f.rid
	}
	if response != nil {
		data = nil
	}
	err := p.sendMgmt(ctx, f.raddr, &m, data)
	if (response != nil || err != nil) && p.release(key) {
		p.irm.FlowDeallocated(key)
	}
	if err != nil {
		return fmt.Errorf("send flow reply: %w", err)
	}
	p.log.Debug("flow accepted", "flow", key.ID, "lid", f.lid, "rid", f.rid, "peer", f.raddr)
	return nil
}

// replyFlow is the flow a FLOW_REPLY from src is for, if it still waits
// for one; p.mu is held.
func (p *IPCP) replyFlow(src MAC, m *Mgmt) *flow {
	lid := m.DEID
	if p.llc {
		lid = uint16(m.DSAP)
	}
	f := p.flowAt(lid)
	if f == nil || f.raddr != src {
		return nil
	}
	return f
}

// activate is run by the reader for a positive FLOW_REPLY, so that data
// frames right behind it on the wire find the flow.
func (p *IPCP) activate(src MAC, m *Mgmt) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.replyFlow(src, m)
	if f == nil || f.state != stAllocPending {
		return
	}
	f.rid = m.SEID
	if p.llc {
		f.rid = uint16(m.SSAP)
	}
	f.state = stReplied
	f.active.Store(true)
}

// onFlowReply reports the outcome of an allocation to the IRM.
func (p *IPCP) onFlowReply(src MAC, m *Mgmt, data []byte) {
	p.mu.Lock()
	f := p.replyFlow(src, m)
	switch {
	case f != nil && m.Response == 0 && f.state == stReplied:
		p.startPump(f)
		p.mu.Unlock()
		p.irm.FlowAllocReply(f.key, nil, MPL, data)
		p.log.Debug("flow allocated", "flow", f.key.ID, "lid", f.lid, "rid", f.rid, "peer", f.raddr)
	case f != nil && m.Response != 0 && f.state == stAllocPending:
		if errs.Code(errs.ErrName) == m.Response && p.dir[f.hash] == src {
			delete(p.dir, f.hash) // the name is gone from there: ask again next time
		}
		p.mu.Unlock()
		if p.release(f.key) {
			p.irm.FlowAllocReply(f.key, errRefused(m.Response), 0, nil)
		}
	default:
		p.mu.Unlock()
		p.Stats.DropMgmt.Add(1)
	}
}

// FlowDealloc implements ipcp.IPCP: local only, nothing is sent.
func (p *IPCP) FlowDealloc(key ipcp.FlowKey) error {
	if !p.release(key) {
		return ipcp.ErrUnknownFlow
	}
	p.irm.FlowDeallocated(key)
	return nil
}
