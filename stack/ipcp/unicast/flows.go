package unicast

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dir"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dt"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/fa"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// LookupTimeout bounds a directory lookup made for an allocation (the
// reference's DHT_T_RESP).
const LookupTimeout = 2 * time.Second

// flowBuffer is the socket buffer of each N+1 flow end the IPCP holds:
// delivered SDUs wait there for the application, and when it is full they
// are dropped. The lower IPCPs hand over a whole batch of what they read
// at once (ipcp.Port), so make room for about as many as the reference's
// ring (1024), as the Ethernet IPCPs do. Best effort: without privilege
// the system maximum applies.
const flowBuffer = 2 << 20

// Flow states inside the flow allocator.
const (
	stAllocPending = iota // FLOW_REQ sent, no reply yet
	stRespPending         // FLOW_REQ arrived, the IRM has not answered
	stUp
)

// npFlow is an N+1 flow.
type npFlow struct {
	key   ipcp.FlowKey
	end   *seqpkt.Conn
	leid  uint64 // our endpoint id
	reid  atomic.Uint64
	raddr uint64
	state int
	cc    congestion
}

type pendResp struct {
	ready chan struct{}
	f     *npFlow
}

// flowAllocator is the flow allocator (spec SYSTEM §8.6).
type flowAllocator struct {
	p *IPCP

	mu    sync.RWMutex
	flows map[uint32]*npFlow // by endpoint-id slot (the node's flow id)
	resps map[ipcp.FlowKey]*pendResp
	waits map[string][]chan uint64 // lookups under way, by key
}

func (a *flowAllocator) init(p *IPCP) {
	a.p = p
	a.flows = map[uint32]*npFlow{}
	a.resps = map[ipcp.FlowKey]*pendResp{}
	a.waits = map[string][]chan uint64{}
}

func (a *flowAllocator) count() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.flows)
}

func newEID(slot uint32) uint64 {
	var b [4]byte
	rand.Read(b[:])
	return fa.MakeEID(binary.LittleEndian.Uint32(b[:]), slot)
}

// lookupDone receives a DHT lookup's result and wakes its waiters.
func (a *flowAllocator) lookupDone(key []byte, addr uint64) {
	a.mu.Lock()
	ws := a.waits[string(key)]
	delete(a.waits, string(key))
	a.mu.Unlock()
	for _, w := range ws {
		w <- addr
	}
}

// resolve returns the address that registered hash, looking it up in the
// DHT if need be.
func (a *flowAllocator) resolve(ctx context.Context, hash []byte) (uint64, error) {
	w := make(chan uint64, 1)
	a.mu.Lock()
	a.waits[string(hash)] = append(a.waits[string(hash)], w)
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		ws := a.waits[string(hash)]
		for i, x := range ws {
			if x == w {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(a.waits, string(hash))
		} else {
			a.waits[string(hash)] = ws
		}
		a.mu.Unlock()
	}()
	addr, err := a.p.dht.Query(hash)
	a.p.log.Debug("directory query", "addr", AddrString(addr), "err", err)
	switch {
	case err == nil:
		return addr, nil
	case errors.Is(err, dir.ErrPending):
	default:
		return 0, fmt.Errorf("%w: the name is not in layer %s: %w", errs.ErrName, a.p.layer.Name, err)
	}
	select {
	case addr := <-w:
		if addr == 0 {
			return 0, fmt.Errorf("%w: the name is not in layer %s", errs.ErrName, a.p.layer.Name)
		}
		return addr, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: no answer from the directory of layer %s", errs.ErrTimeout, a.p.layer.Name)
	case <-a.p.ctx.Done():
		return 0, errClosed
	}
}

// FlowAlloc implements ipcp.IPCP: look the name up, send FLOW_REQ, and
// return; the reply comes through IRM.FlowAllocReply.
func (p *IPCP) FlowAlloc(ctx context.Context, f ipcp.Flow, hash, data []byte) error {
	err := p.operational()
	var addr uint64
	if err == nil {
		lctx, cancel := context.WithTimeout(ctx, LookupTimeout)
		addr, err = p.fa.resolve(lctx, hash)
		cancel()
	}
	if err != nil {
		f.End.Close()
		return err
	}
	a := &p.fa
	slot := uint32(f.Key.ID)
	f.End.SetBuffer(flowBuffer)
	fl := &npFlow{key: f.Key, end: f.End, leid: newEID(slot), raddr: addr, state: stAllocPending}
	fl.cc.init(p.cong)
	a.mu.Lock()
	if old := a.flows[slot]; old != nil {
		a.mu.Unlock()
		f.End.Close()
		return fmt.Errorf("%w: flow slot %d in use", errs.ErrResources, slot)
	}
	a.flows[slot] = fl
	a.mu.Unlock()
	msg := fa.AppendFlowReq(make([]byte, dt.HeaderLen, dt.HeaderLen+fa.MsgLen+len(hash)+len(data)), uint64(p.addr), fl.leid, f.QoS, hash, data)
	if err := p.write(addr, qos.CubeBE, dtFAEID, msg); err != nil {
		a.forget(fl)
		f.End.Close()
		return fmt.Errorf("send the flow request to %s: %w", AddrString(addr), err)
	}
	p.log.Debug("flow request sent", "flow", f.Key.ID, "to", AddrString(addr))
	return nil
}

// forget removes fl; it reports whether it was still held.
func (a *flowAllocator) forget(fl *npFlow) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	slot := fa.EIDSlot(fl.leid)
	if a.flows[slot] != fl {
		return false
	}
	delete(a.flows, slot)
	return true
}

// byEID finds the flow an endpoint id names.
func (a *flowAllocator) byEID(eid uint64) *npFlow {
	a.mu.RLock()
	fl := a.flows[fa.EIDSlot(eid)]
	a.mu.RUnlock()
	if fl == nil || fl.leid != eid {
		return nil
	}
	return fl
}

// handle processes a flow allocator message.
func (a *flowAllocator) handle(b []byte) {
	p := a.p
	m, hash, data, err := fa.Parse(b, p.layer.Hash.Len())
	if err != nil {
		p.stats.malformed.Add(1)
		return
	}
	switch m.Code {
	case fa.FlowReq:
		p.log.Debug("flow request arrived", "from", AddrString(m.SAddr))
		if m.SAddr == 0 {
			p.stats.malformed.Add(1)
			return
		}
		select {
		case p.reqs <- struct{}{}:
		default:
			p.log.Warn("flow request dropped: too many waiting for an acceptor", "max", maxReqs)
			return
		}
		p.wg.Add(1)
		go a.flowReq(m, bytes.Clone(hash), bytes.Clone(data))
	case fa.FlowReply:
		fl := a.byEID(m.REID)
		p.log.Debug("flow reply arrived", "known", fl != nil, "response", m.Response)
		if fl == nil {
			return
		}
		a.mu.Lock()
		ok := fl.state == stAllocPending
		if ok {
			fl.state = stUp
			if m.Response != 0 {
				delete(a.flows, fa.EIDSlot(fl.leid))
			}
		}
		a.mu.Unlock()
		if !ok {
			return
		}
		fl.reid.Store(m.SEID)
		if m.Response != 0 {
			fl.end.Close()
			p.irm.FlowAllocReply(fl.key, fmt.Errorf("the peer refused the flow: %w", errs.Remote(m.Response, "")), 0, nil)
			return
		}
		a.start(fl)
		p.irm.FlowAllocReply(fl.key, nil, MPL, data)
	case fa.FlowUpdate:
		if fl := a.byEID(m.REID); fl != nil {
			fl.cc.update(m.ECE)
		}
	}
}

// flowReq hands a FLOW_REQ to the IRM, which waits for an acceptor. If
// none takes it nothing is sent back: the requester times out.
func (a *flowAllocator) flowReq(m fa.Msg, hash, data []byte) {
	p := a.p
	defer p.wg.Done()
	defer func() { <-p.reqs }()
	f, err := p.irm.FlowReqArr(p.ctx, p.id, hash, m.QoS, MPL, data)
	if err != nil {
		// Refused (no such name, encryption required or not available,
		// a replayed request): say so with the code, rather than letting
		// the allocator wait out its timeout as the reference does.
		p.log.Debug("flow request refused", "from", AddrString(m.SAddr), "err", err)
		if p.ctx.Err() == nil && !errors.Is(err, ipcp.ErrDuplicateRequest) {
			msg := fa.AppendFlowReply(make([]byte, dt.HeaderLen, dt.HeaderLen+fa.MsgLen), m.SEID, 0, errs.Code(err), nil)
			p.write(m.SAddr, qos.CubeBE, dtFAEID, msg)
		}
		return
	}
	slot := uint32(f.Key.ID)
	f.End.SetBuffer(flowBuffer)
	fl := &npFlow{key: f.Key, end: f.End, leid: newEID(slot), raddr: m.SAddr, state: stRespPending}
	fl.reid.Store(m.SEID)
	fl.cc.init(p.cong)
	a.mu.Lock()
	r := a.pending(f.Key)
	busy := a.flows[slot] != nil
	if !busy {
		a.flows[slot] = fl
		r.f = fl
	}
	close(r.ready)
	a.mu.Unlock()
	if busy {
		f.End.Close()
		p.irm.FlowDeallocated(f.Key)
	}
}

func (a *flowAllocator) pending(key ipcp.FlowKey) *pendResp {
	r := a.resps[key]
	if r == nil {
		r = &pendResp{ready: make(chan struct{})}
		a.resps[key] = r
	}
	return r
}

// FlowAllocResp implements ipcp.IPCP: FLOW_REPLY to the requester; on
// success the flow starts.
func (p *IPCP) FlowAllocResp(ctx context.Context, key ipcp.FlowKey, response error, data []byte) error {
	a := &p.fa
	a.mu.Lock()
	r := a.pending(key)
	a.mu.Unlock()
	select {
	case <-r.ready:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return errClosed
	}
	a.mu.Lock()
	delete(a.resps, key)
	fl := r.f
	held := fl != nil && a.flows[uint32(key.ID)] == fl && fl.state == stRespPending
	if held && response == nil {
		fl.state = stUp
	}
	a.mu.Unlock()
	if !held {
		return fmt.Errorf("%w: the flow request is gone", ipcp.ErrUnknownFlow)
	}
	if response != nil {
		data = nil
	}
	msg := fa.AppendFlowReply(make([]byte, dt.HeaderLen, dt.HeaderLen+fa.MsgLen+len(data)), fl.reid.Load(), fl.leid, errs.Code(response), data)
	err := p.write(fl.raddr, qos.CubeBE, dtFAEID, msg)
	if response != nil || err != nil {
		if a.forget(fl) {
			fl.end.Close()
			p.irm.FlowDeallocated(key)
		}
		if err != nil {
			return fmt.Errorf("send the flow reply to %s: %w", AddrString(fl.raddr), err)
		}
		return nil
	}
	a.start(fl)
	return nil
}

// FlowDealloc implements ipcp.IPCP: nothing is sent to the peer.
func (p *IPCP) FlowDealloc(key ipcp.FlowKey) error {
	a := &p.fa
	a.mu.Lock()
	fl := a.flows[uint32(key.ID)]
	if fl == nil || fl.key != key {
		a.mu.Unlock()
		return ipcp.ErrUnknownFlow
	}
	delete(a.flows, uint32(key.ID))
	a.mu.Unlock()
	fl.end.Close()
	p.irm.FlowDeallocated(key)
	return nil
}

func (a *flowAllocator) closeAll() {
	a.mu.Lock()
	fls := make([]*npFlow, 0, len(a.flows))
	for _, fl := range a.flows {
		fls = append(fls, fl)
	}
	clear(a.flows)
	a.mu.Unlock()
	for _, fl := range fls {
		fl.end.Close()
		if fl.state == stAllocPending {
			a.p.irm.FlowAllocReply(fl.key, errClosed, 0, nil)
		} else {
			a.p.irm.FlowDeallocated(fl.key)
		}
	}
}

// start runs the flow's sender: a goroutine that reads what the
// application writes and sends it to the peer.
func (a *flowAllocator) start(fl *npFlow) {
	a.p.wg.Add(1)
	go a.sender(fl)
}

// sendBufs holds the senders' buffers (a DT header and the largest SDU):
// a flow's sender keeps one while the flow lives, and a flow that ends
// leaves it to the next instead of a fresh 64 KiB to allocate and clear.
// p.write hands the packet to the lower flow before it returns.
var sendBufs = sync.Pool{New: func() any { b := make([]byte, dt.HeaderLen+seqpkt.MaxPacket); return &b }}

func (a *flowAllocator) sender(fl *npFlow) {
	p := a.p
	defer p.wg.Done()
	bp := sendBufs.Get().(*[]byte)
	defer sendBufs.Put(bp)
	buf := *bp
	reid := fl.reid.Load()
	for {
		n, err := fl.end.Read(buf[dt.HeaderLen:])
		if err != nil {
			return
		}
		if d := fl.cc.send(n); d > 0 {
			select {
			case <-time.After(d):
			case <-p.ctx.Done():
				return
			}
		}
		p.write(fl.raddr, qos.CubeBE, reid, buf[:dt.HeaderLen+n])
	}
}

// deliver hands an SDU for an N+1 flow to its application; a full
// application queue drops it, as a full buffer does in the reference.
func (a *flowAllocator) deliver(eid uint64, ecn uint8, sdu []byte) {
	fl := a.byEID(eid)
	if fl == nil {
		return
	}
	if ece, send := fl.cc.receive(ecn); send {
		msg := fa.AppendFlowUpdate(make([]byte, dt.HeaderLen, dt.HeaderLen+fa.MsgLen), fl.reid.Load(), ece)
		a.p.write(fl.raddr, qos.CubeBE, dtFAEID, msg)
	}
	if fl.end.TryWrite(sdu) != nil {
		a.p.stats.full.Add(1)
	}
}
