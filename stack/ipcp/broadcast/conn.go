package broadcast

import (
	"context"
	"fmt"
	"slices"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/connmgr"
	"github.com/o7s/ouroboros/stack/ipcp/enroll"
	"github.com/o7s/ouroboros/stack/qos"
)

// compInfo is the connection information of a component, for the passive
// side of the exchange: data transfer and enrollment; there is no
// management.
func compInfo(comp string) (connmgr.Info, bool) {
	switch comp {
	case connmgr.BroadcastDT.Comp:
		return connmgr.BroadcastDT, true
	case connmgr.Enrollment.Comp:
		return connmgr.Enrollment, true
	}
	return connmgr.Info{}, false
}

// acceptor takes the lower flows that arrive for the names bound to the
// IPCP, and hands each to its component after the CEP exchange.
func (p *IPCP) acceptor() {
	defer p.wg.Done()
	connmgr.AcceptLoop(p.ctx, p.lower, p.id, p.log, func(lf ipcp.LowerFlow) {
		p.wg.Add(1)
		go p.incoming(lf)
	})
}

// drop releases a short-lived lower flow (enrollment, a refused
// connection) once the layer below has read what was written on it.
func (p *IPCP) drop(lf ipcp.LowerFlow) { connmgr.Release(p.lower, p.id, lf) }

func (p *IPCP) incoming(lf ipcp.LowerFlow) {
	defer p.wg.Done()
	local, peer, err := connmgr.Respond(lf.Conn, compInfo)
	if err == nil && local.Comp == connmgr.BroadcastDT.Comp &&
		(peer.Protocol != local.Protocol || peer.Version != local.Version || peer.Syntax != local.Syntax) {
		// A unicast IPCP's data transfer (the reference takes it, and
		// forwards into a flow its peer has given up on).
		err = fmt.Errorf("%w: a data transfer of protocol %q, version %d, syntax %d is not a broadcast layer's", connmgr.ErrMismatch, peer.Protocol, peer.Version, peer.Syntax)
	}
	if err != nil {
		p.log.Info("connection refused", "flow", lf.ID, "err", err)
		p.drop(lf)
		return
	}
	switch local.Comp {
	case connmgr.Enrollment.Comp:
		p.mu.Lock()
		c := enroll.Conf{Layer: p.layer, Type: ipcp.Broadcast}
		p.mu.Unlock()
		enroll.ServeFlow(p.lower, p.id, lf, c, p.log)
	case connmgr.BroadcastDT.Comp:
		p.addConn(lf, "")
	}
}

// Connect implements ipcp.Enroller (spec SYSTEM §8.4, §9, active side):
// a data-transfer adjacency; comp must be dt.
func (p *IPCP) Connect(ctx context.Context, dst, comp string, qs qos.Spec) error {
	if err := checkComp(comp); err != nil {
		return err
	}
	if err := p.operational(); err != nil {
		return err
	}
	lf, err := p.lower.LowerAlloc(ctx, p.id, dst, qs)
	if err != nil {
		return fmt.Errorf("no flow to %s in a lower layer: %w", dst, err)
	}
	if _, err := connmgr.Initiate(lf.Conn, connmgr.BroadcastDT); err != nil {
		p.drop(lf)
		return fmt.Errorf("%s does not answer as a broadcast data transfer: %w", dst, err)
	}
	if len(dst) > 64 {
		dst = dst[:64]
	}
	p.addConn(lf, dst)
	return nil
}

func checkComp(comp string) error {
	switch comp {
	case ipcp.CompDT:
		return nil
	case ipcp.CompMgmt:
		return ErrNoMgmt
	}
	return fmt.Errorf("%w: unknown component %q (a broadcast IPCP has dt only)", errs.ErrInvalid, comp)
}

// Disconnect implements ipcp.Enroller: the first dt adjacency made with
// Connect to dst goes.
func (p *IPCP) Disconnect(dst, comp string) error {
	if err := checkComp(comp); err != nil {
		return err
	}
	p.mu.Lock()
	i := slices.IndexFunc(p.nbs, func(m *member) bool { return m.dst == dst })
	var m *member
	if i >= 0 {
		m = p.nbs[i]
	}
	p.mu.Unlock()
	if m == nil {
		return fmt.Errorf("%w: no dt connection to %s", errs.ErrNotFound, dst)
	}
	p.removeConn(m)
	return nil
}

// addConn adds a neighbour to the forwarding set.
func (p *IPCP) addConn(lf ipcp.LowerFlow, dst string) {
	m := &member{end: lf.Conn, nb: true, lf: lf, dst: dst}
	m.up.Store(true)
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		p.drop(lf)
		return
	}
	p.nbs = append(p.nbs, m)
	p.publish()
	p.wg.Add(1)
	p.mu.Unlock()
	p.log.Info("connection added", "comp", ipcp.CompDT, "flow", lf.ID, "dst", dst)
	go p.reader(m)
}

// removeConn ends a neighbour's adjacency (disconnect, or its flow ended).
func (p *IPCP) removeConn(m *member) {
	p.mu.Lock()
	i := slices.Index(p.nbs, m)
	if i < 0 {
		p.mu.Unlock()
		return
	}
	p.nbs = slices.Delete(p.nbs, i, i+1)
	p.publish()
	p.mu.Unlock()
	m.close()
	p.lower.LowerDealloc(p.id, m.lf.ID)
	p.log.Info("connection removed", "comp", ipcp.CompDT, "flow", m.lf.ID, "dst", m.dst)
}

// LowerFlowState implements ipcp.LowerWatcher: while the layer under a
// neighbour's flow is down, nothing is written to it (the copies are
// counted in Stats.Down).
func (p *IPCP) LowerFlowState(id int, up bool) {
	p.mu.Lock()
	var m *member
	for _, x := range p.nbs {
		if x.lf.ID == id {
			m = x
		}
	}
	p.mu.Unlock()
	if m == nil || m.up.Swap(up) == up {
		return
	}
	p.log.Info("connection state", "flow", id, "dst", m.dst, "up", up)
}
