// Package local is the local IPCP (spec SYSTEM §5): a layer confined to one
// system. A flow through it is two N+1 flows, one per application, whose
// node ends the IPCP links and copies packets between, one goroutine per
// direction. There is no wire.
package local

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// MPL is the maximum packet lifetime the local layer announces.
const MPL = 100 * time.Millisecond

// Stats counts what the IPCP dropped.
type Stats struct {
	Forwarded   atomic.Uint64
	DropTooLong atomic.Uint64
}

// link is one flow through the layer: a is the allocator's end, b the
// acceptor's.
type link struct {
	ready chan struct{} // closed once a and b are known, or dead is set
	a, b  ipcp.Flow
	dead  bool // the allocator went away before the link was made
}

// IPCP is a local IPCP.
type IPCP struct {
	id    uint32
	irm   ipcp.IRM
	log   *slog.Logger
	Stats Stats

	mu      sync.Mutex // guards the fields below
	state   ipcp.State
	layer   ipcp.Layer
	reg     map[string]bool            // registered hashes
	byFlow  map[ipcp.FlowKey]*link     // both ends of every link
	pending map[ipcp.FlowKey]*link     // acceptor end -> link, until linked
	ends    map[ipcp.FlowKey]ipcp.Flow // every end held
	wg      sync.WaitGroup
}

var _ ipcp.IPCP = (*IPCP)(nil)

// New returns a local IPCP in state BOOT. id identifies it to the IRM.
func New(id uint32, irm ipcp.IRM, log *slog.Logger) *IPCP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &IPCP{
		id: id, irm: irm, log: log, state: ipcp.StateBoot,
		reg:     make(map[string]bool),
		byFlow:  make(map[ipcp.FlowKey]*link),
		pending: make(map[ipcp.FlowKey]*link),
		ends:    make(map[ipcp.FlowKey]ipcp.Flow),
	}
}

// Bootstrap implements ipcp.IPCP.
func (p *IPCP) Bootstrap(_ context.Context, conf ipcp.Config) (ipcp.Layer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != ipcp.StateBoot {
		return ipcp.Layer{}, fmt.Errorf("%w: bootstrap needs state boot, IPCP is %v", errs.ErrIPCPState, p.state)
	}
	if conf.Layer == "" {
		return ipcp.Layer{}, fmt.Errorf("%w: bootstrap needs a layer name", errs.ErrInvalid)
	}
	p.layer = ipcp.Layer{Name: conf.Layer, Hash: conf.Hash}
	p.state = ipcp.StateOperational
	p.log.Info("bootstrapped", "layer", conf.Layer, "hash", conf.Hash)
	return p.layer, nil
}

func (p *IPCP) operational() error {
	if p.state != ipcp.StateOperational {
		return fmt.Errorf("%w: IPCP is %v, not operational", errs.ErrIPCPState, p.state)
	}
	return nil
}

// Reg implements ipcp.IPCP.
func (p *IPCP) Reg(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.operational(); err != nil {
		return err
	}
	p.reg[string(hash)] = true
	return nil
}

// Unreg implements ipcp.IPCP.
func (p *IPCP) Unreg(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.reg, string(hash))
	return nil
}

// Query implements ipcp.IPCP.
func (p *IPCP) Query(_ context.Context, hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.operational(); err != nil {
		return err
	}
	if !p.reg[string(hash)] {
		return fmt.Errorf("%w: name not registered in layer %s", errs.ErrName, p.layer.Name)
	}
	return nil
}

// FlowAlloc implements ipcp.IPCP: the request "arrives" at once at the
// other end of the layer, which is this IPCP too.
func (p *IPCP) FlowAlloc(ctx context.Context, fa ipcp.Flow, hash, data []byte) error {
	p.mu.Lock()
	err := p.operational()
	if err == nil && !p.reg[string(hash)] {
		err = fmt.Errorf("%w: name not registered in layer %s", errs.ErrName, p.layer.Name)
	}
	if err != nil {
		p.mu.Unlock()
		fa.End.Close()
		return err
	}
	p.ends[fa.Key] = fa
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		p.request(ctx, fa, hash, data)
	}()
	return nil
}

func (p *IPCP) request(ctx context.Context, fa ipcp.Flow, hash, data []byte) {
	fb, err := p.irm.FlowReqArr(ctx, p.id, hash, fa.QoS, MPL, data)
	if err != nil {
		if p.release(fa.Key) {
			p.irm.FlowAllocReply(fa.Key, err, 0, nil)
		}
		return
	}
	p.mu.Lock()
	l := p.pendingLink(fb.Key)
	if _, ok := p.ends[fa.Key]; !ok { // the allocator went away meanwhile
		l.dead = true
		close(l.ready)
		p.mu.Unlock()
		fb.End.Close()
		p.irm.FlowDeallocated(fb.Key)
		return
	}
	l.a, l.b = fa, fb
	p.ends[fb.Key] = fb
	p.byFlow[fa.Key], p.byFlow[fb.Key] = l, l
	close(l.ready)
	p.mu.Unlock()
}

// pendingLink returns the link the acceptor end key will belong to,
// creating it; p.mu is held.
func (p *IPCP) pendingLink(key ipcp.FlowKey) *link {
	l := p.pending[key]
	if l == nil {
		l = &link{ready: make(chan struct{})}
		p.pending[key] = l
	}
	return l
}

// FlowAllocResp implements ipcp.IPCP.
func (p *IPCP) FlowAllocResp(ctx context.Context, key ipcp.FlowKey, response error, data []byte) error {
	p.mu.Lock()
	l := p.pendingLink(key)
	p.mu.Unlock()
	select {
	case <-l.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	delete(p.pending, key)
	p.mu.Unlock()
	if l.dead {
		return fmt.Errorf("%w: the allocating side is gone", ipcp.ErrUnknownFlow)
	}
	if response != nil {
		aHeld, bHeld := p.release(l.a.Key), p.release(l.b.Key)
		if aHeld {
			p.irm.FlowAllocReply(l.a.Key, response, 0, nil)
		}
		if bHeld {
			p.irm.FlowDeallocated(l.b.Key)
		}
		return nil
	}
	p.wg.Add(2)
	go p.forward(l, l.a, l.b)
	go p.forward(l, l.b, l.a)
	p.irm.FlowAllocReply(l.a.Key, nil, MPL, data)
	return nil
}

// forward copies packets from src's end to dst's end until src ends, then
// ends dst too so the peer application learns at once.
func (p *IPCP) forward(l *link, src, dst ipcp.Flow) {
	defer p.wg.Done()
	buf := make([]byte, seqpkt.MaxPacket+1)
	for {
		n, err := src.End.Read(buf)
		if err != nil {
			break
		}
		if n > len(buf) {
			p.Stats.DropTooLong.Add(1)
			continue
		}
		if err := dst.End.Write(buf[:n]); err != nil {
			break
		}
		p.Stats.Forwarded.Add(1)
	}
	if p.release(src.Key) {
		p.irm.FlowDeallocated(src.Key)
	}
	if p.release(dst.Key) {
		p.irm.FlowDeallocated(dst.Key)
	}
}

// release closes the end of a flow the IPCP holds; it reports whether it
// did (exactly one caller gets true).
func (p *IPCP) release(key ipcp.FlowKey) bool {
	p.mu.Lock()
	f, ok := p.ends[key]
	delete(p.ends, key)
	delete(p.byFlow, key)
	p.mu.Unlock()
	if ok {
		f.End.Close()
	}
	return ok
}

// FlowDealloc implements ipcp.IPCP.
func (p *IPCP) FlowDealloc(key ipcp.FlowKey) error {
	if !p.release(key) {
		return ipcp.ErrUnknownFlow
	}
	p.irm.FlowDeallocated(key)
	return nil
}

// Close implements ipcp.IPCP.
func (p *IPCP) Close() error {
	p.mu.Lock()
	p.state = ipcp.StateShutdown
	keys := make([]ipcp.FlowKey, 0, len(p.ends))
	for k := range p.ends {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	for _, k := range keys {
		p.FlowDealloc(k)
	}
	p.wg.Wait()
	return nil
}
