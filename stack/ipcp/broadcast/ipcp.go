// Package broadcast is the broadcast IPCP (spec SYSTEM §9, §14.5): an IPC
// process that forms a layer over other layers in which every SDU one
// member sends reaches every other member.
//
// The members of the layer's forwarding set are the IPCP's N-1
// data-transfer flows to its neighbours and the application flows joined
// to it (dev.Client.Join). There is no header: an SDU read from one member
// is written, as it is, to every other member, exactly once each, and never
// back to the member it came from. There is no TTL and no duplicate
// suppression, so the graph of data-transfer adjacencies must be a tree: a
// loop (or an IPCP connected to itself) makes SDUs circulate for ever, as
// in the reference.
//
// SDUs longer than MTU (1400 bytes, the reference's BROADCAST_MTU) are
// dropped where they enter the IPCP and counted (Stats.Oversized); the
// reference reads into a 1400-byte buffer and so truncates them instead.
// Writes never wait: a member whose queue is full loses that SDU (counted
// in Stats.Dropped) and the others are not held up.
//
// Peers are reached as in a unicast layer (package ipcp.Lower): connection
// establishment (connmgr, with the broadcast DT component info: empty
// protocol, version 0, syntax 0, address 0) and enrollment (enroll, whose
// configuration carries only the layer). There is no management component,
// no directory and no flow allocator: Connect and Disconnect take
// component dt only, and Reg, Unreg, Query, FlowAlloc and FlowAllocResp
// are refused with errors.ErrUnsupported.
//
// Differences from the reference, all local (the bytes on the wire are
// the same): the join compares the layer's hash exactly (the reference's
// memcmp < 0 lets most wrong hashes pass); oversized SDUs are dropped, not
// truncated; the passive side refuses a data-transfer flow whose peer
// speaks another protocol (a unicast IPCP's), which the reference keeps;
// nothing is written to a neighbour while the layer under it is down.
//
// Goroutines: one acceptor of lower flows, one per accepted flow during its
// connection exchange, and one reader per member, which forwards what it
// reads itself.
package broadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/enroll"
)

// MPL is the maximum packet lifetime the IPCP reports for joined flows.
const MPL = 100 * time.Millisecond

// MTU is the largest SDU the layer forwards (the reference's
// BROADCAST_MTU); longer ones are dropped.
const MTU = 1400

var errClosed = errors.New("broadcast: the IPCP is shut down")

// Errors of the operations a broadcast layer does not have.
var (
	ErrNoNames = fmt.Errorf("%w: a broadcast layer has no directory: names are not registered or looked up in it", errors.ErrUnsupported)
	ErrNoAlloc = fmt.Errorf("%w: flows are not allocated in a broadcast layer; applications join it (flow join, dev.Client.Join)", errors.ErrUnsupported)
	ErrNoMgmt  = fmt.Errorf("%w: a broadcast IPCP has no management component; use component dt", errs.ErrInvalid)
)

// Stats counts what the data path did.
type Stats struct {
	Received  uint64 // SDUs read from members and forwarded
	Forwarded uint64 // copies written to members
	Oversized uint64 // SDUs longer than MTU, dropped
	Dropped   uint64 // copies lost: the member's queue was full or it was gone
	Down      uint64 // copies not sent: the layer under the neighbour is down
}

type counters struct {
	received, forwarded, oversized, dropped, down atomic.Uint64
}

// IPCP is a broadcast IPCP.
type IPCP struct {
	id    uint32
	irm   ipcp.IRM
	lower ipcp.Lower
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	state   ipcp.State
	layer   ipcp.Layer
	started bool
	nbs     []*member       // N-1 data-transfer flows, in order of arrival
	joined  map[int]*member // joined application flows, by the node's flow id

	// set is the forwarding set: the members SDUs are written to, a
	// snapshot replaced (under mu) whenever a member comes or goes.
	set   atomic.Pointer[[]*member]
	stats counters
}

// New returns an IPCP in state boot. The node must offer ipcp.Lower.
func New(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &IPCP{id: id, irm: irm, log: log, ctx: ctx, cancel: cancel, state: ipcp.StateBoot,
		layer: ipcp.Layer{Name: ipcp.NotEnrolled}, joined: map[int]*member{}}
	p.lower, _ = irm.(ipcp.Lower)
	p.set.Store(new([]*member))
	return p
}

// Bootstrap implements ipcp.IPCP: the first member of a new layer. It
// takes no options; the hash is SHA3-256 whatever conf says (the IRM
// forces it too).
func (p *IPCP) Bootstrap(ctx context.Context, conf ipcp.Config) (ipcp.Layer, error) {
	if p.lower == nil {
		return ipcp.Layer{}, errors.New("broadcast: the node offers no lower layers")
	}
	if conf.Layer == "" {
		return ipcp.Layer{}, fmt.Errorf("%w: bootstrap needs a layer name", errs.ErrInvalid)
	}
	layer := ipcp.Layer{Name: conf.Layer, Hash: ipcp.SHA3_256}
	if err := p.start(layer); err != nil {
		return ipcp.Layer{}, err
	}
	p.log.Info("bootstrapped", "layer", layer.Name)
	return layer, nil
}

// Enroll implements ipcp.Enroller (spec SYSTEM §8.5, §9): the same OEP as
// a unicast layer; the configuration must be a broadcast layer's.
func (p *IPCP) Enroll(ctx context.Context, dst string) (ipcp.Layer, error) {
	if p.lower == nil {
		return ipcp.Layer{}, errors.New("broadcast: the node offers no lower layers")
	}
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return ipcp.Layer{}, fmt.Errorf("%w: in layer %s already", errs.ErrIPCPState, p.layer.Name)
	}
	p.mu.Unlock()
	var layer ipcp.Layer
	_, err := enroll.Join(ctx, p.lower, p.id, dst, ipcp.Broadcast, p.log, func(c enroll.Conf) error {
		layer = c.Layer
		if layer.Hash != ipcp.SHA3_256 {
			// A broadcast layer hashes with SHA3-256 (its bootstrap forces
			// it); the hash serves only the join check, which is local.
			p.log.Warn("the enroller's layer hashes with another algorithm; using SHA3-256", "hash", layer.Hash)
			layer.Hash = ipcp.SHA3_256
		}
		return p.start(layer)
	})
	if errors.Is(err, enroll.ErrType) {
		// The enroller waits for an ack that Request, having no id to
		// give, cannot send; it times out and logs a failed enrollment.
		return ipcp.Layer{}, fmt.Errorf("%s is a member of another kind of layer; a broadcast IPCP enrolls only in a broadcast layer: %w", dst, err)
	}
	if err != nil {
		return ipcp.Layer{}, err
	}
	p.log.Info("enrolled", "layer", layer.Name, "dst", dst)
	return layer, nil
}

// start puts the IPCP in the layer and starts accepting lower flows.
func (p *IPCP) start(layer ipcp.Layer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return fmt.Errorf("%w: in layer %s already", errs.ErrIPCPState, p.layer.Name)
	}
	if p.ctx.Err() != nil {
		return errClosed
	}
	p.layer, p.started, p.state = layer, true, ipcp.StateOperational
	p.wg.Add(1)
	go p.acceptor()
	return nil
}

func (p *IPCP) operational() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return errClosed
	}
	if !p.started {
		return fmt.Errorf("%w: not in a layer", errs.ErrIPCPState)
	}
	return nil
}

// Reg implements ipcp.IPCP: refused, a broadcast layer has no directory.
func (p *IPCP) Reg(hash []byte) error { return ErrNoNames }

// Unreg implements ipcp.IPCP: refused.
func (p *IPCP) Unreg(hash []byte) error { return ErrNoNames }

// Query implements ipcp.IPCP: refused (the IRM never asks a broadcast
// layer for a name).
func (p *IPCP) Query(ctx context.Context, hash []byte) error { return ErrNoNames }

// FlowAlloc implements ipcp.IPCP: refused; f.End is closed.
func (p *IPCP) FlowAlloc(ctx context.Context, f ipcp.Flow, hash, data []byte) error {
	f.End.Close()
	return ErrNoAlloc
}

// FlowAllocResp implements ipcp.IPCP: refused, no request ever arrives.
func (p *IPCP) FlowAllocResp(ctx context.Context, key ipcp.FlowKey, response error, data []byte) error {
	return ErrNoAlloc
}

// FlowJoin implements ipcp.Joiner (spec SYSTEM §2.9.6, §9): the flow joins
// the forwarding set if hash is the SHA3-256 of the layer's name, and the
// join is answered at once with MPL.
func (p *IPCP) FlowJoin(ctx context.Context, f ipcp.Flow, hash []byte) error {
	if err := p.operational(); err != nil {
		f.End.Close()
		return err
	}
	p.mu.Lock()
	name := p.layer.Name
	p.mu.Unlock()
	// REF-BUG: the reference compares with memcmp(...) < 0, so most wrong
	// hashes pass; the comparison here is exact.
	if !bytes.Equal(hash, ipcp.SHA3_256.Sum(name)) {
		f.End.Close()
		return fmt.Errorf("%w: the hash to join is not that of layer %s", errs.ErrName, name)
	}
	m := &member{end: f.End, key: f.Key}
	m.up.Store(true)
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		f.End.Close()
		return errClosed
	}
	if old := p.joined[f.Key.ID]; old != nil {
		p.mu.Unlock()
		f.End.Close()
		return fmt.Errorf("%w: flow %d is joined already", errs.ErrExist, f.Key.ID)
	}
	p.joined[f.Key.ID] = m
	p.publish()
	p.wg.Add(1)
	p.mu.Unlock()
	go p.reader(m)
	p.log.Info("flow joined", "flow", f.Key.ID)
	p.irm.FlowAllocReply(f.Key, nil, MPL, nil)
	return nil
}

// FlowDealloc implements ipcp.IPCP: the flow leaves the forwarding set.
func (p *IPCP) FlowDealloc(key ipcp.FlowKey) error {
	p.mu.Lock()
	m := p.joined[key.ID]
	if m == nil || m.key != key {
		p.mu.Unlock()
		return ipcp.ErrUnknownFlow
	}
	delete(p.joined, key.ID)
	p.publish()
	p.mu.Unlock()
	m.close()
	p.irm.FlowDeallocated(key)
	p.log.Info("flow left", "flow", key.ID)
	return nil
}

// Close implements ipcp.IPCP.
func (p *IPCP) Close() error {
	p.cancel()
	p.mu.Lock()
	nbs, joined := p.nbs, p.joined
	p.nbs, p.joined = nil, map[int]*member{}
	p.state = ipcp.StateShutdown
	p.publish()
	p.mu.Unlock()
	for _, m := range nbs {
		m.close()
	}
	for _, m := range joined {
		m.close()
	}
	p.wg.Wait()
	for _, m := range nbs {
		p.lower.LowerDealloc(p.id, m.lf.ID)
	}
	for _, m := range joined {
		p.irm.FlowDeallocated(m.key)
	}
	return nil
}

// Inspect implements ipcp.Inspector. A broadcast IPCP has no address, so
// neither it nor its neighbours have one; a neighbour it connected to is
// known by the name it was reached by (Dst).
func (p *IPCP) Inspect() ipcp.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	var info ipcp.Info
	for _, m := range p.nbs {
		info.Neighbours = append(info.Neighbours, ipcp.Neighbour{Comp: ipcp.CompDT, Dst: m.dst, Up: m.up.Load()})
	}
	info.Flows = len(p.joined)
	return info
}

// Stats returns the data path's counters.
func (p *IPCP) Stats() Stats {
	return Stats{
		Received: p.stats.received.Load(), Forwarded: p.stats.forwarded.Load(), Oversized: p.stats.oversized.Load(),
		Dropped: p.stats.dropped.Load(), Down: p.stats.down.Load(),
	}
}

var (
	_ ipcp.IPCP         = (*IPCP)(nil)
	_ ipcp.Enroller     = (*IPCP)(nil)
	_ ipcp.Joiner       = (*IPCP)(nil)
	_ ipcp.Inspector    = (*IPCP)(nil)
	_ ipcp.LowerWatcher = (*IPCP)(nil)
)
