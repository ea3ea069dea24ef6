package irm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// IPCPs that use other layers (unicast, broadcast) run inside the node, so
// they have no process of their own. Each gets a process entry with a
// negative pid, which no real process has: names are bound to it (irm bind
// ipcp, autobind) and it allocates and accepts lower flows through it like
// an application does, so the registry, load balancing and flow table treat
// it as one.

// ipcpPID is the process identity of IPCP id inside the node.
func ipcpPID(id uint32) int { return -int(id) }

// ipcpOfPID returns the IPCP id of a pseudo-process pid, or 0.
func ipcpOfPID(pid int) uint32 {
	if pid < 0 {
		return uint32(-pid)
	}
	return 0
}

// ipcpProc returns the process entry of IPCP e, creating it; n.mu is held.
func (n *Node) ipcpProc(e *ipcpEntry) *process {
	pid := ipcpPID(e.id)
	p := n.procs[pid]
	if p == nil {
		p = &process{pid: pid, prog: e.name, sessions: 1}
		n.procs[pid] = p
	}
	return p
}

// BindIPCP binds a name to an IPCP of the node, so that flows to the name
// reach it (its peers connect and enroll through them).
func (n *Node) BindIPCP(id uint32, nm string) error {
	if err := checkName(nm); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.ipcps[id]
	if e == nil {
		return fmt.Errorf("%w: no IPCP with id %d", errs.ErrIPCP, id)
	}
	if e.typ != ipcp.Unicast && e.typ != ipcp.Broadcast {
		return fmt.Errorf("%w: IPCP %s is %v; only unicast and broadcast IPCPs accept flows", errs.ErrIPCPType, e.name, e.typ)
	}
	p := n.ipcpProc(e)
	if slices.Contains(p.names, nm) {
		return fmt.Errorf("%w: IPCP %s is already bound to %q", errs.ErrExist, e.name, nm)
	}
	n.bindProc(p, nm)
	n.log.Info("IPCP bound", "ipcp", e.name, "name", nm)
	n.notify()
	return nil
}

// UnbindIPCP unbinds a name from an IPCP.
func (n *Node) UnbindIPCP(id uint32, nm string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.ipcps[id]
	if e == nil {
		return fmt.Errorf("%w: no IPCP with id %d", errs.ErrIPCP, id)
	}
	p := n.procs[ipcpPID(id)]
	if p == nil || !slices.Contains(p.names, nm) {
		return fmt.Errorf("%w: IPCP %s is not bound to %q", errs.ErrNotFound, e.name, nm)
	}
	p.names = remove(p.names, nm)
	if x := n.names[nm]; x != nil {
		x.procs = remove(x.procs, p.pid)
		for _, f := range p.accepts {
			x.delActive(f)
		}
	}
	n.notify()
	return nil
}

// lowerProc checks that self is an IPCP of the node and returns its pid.
func (n *Node) lowerProc(self uint32) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.ipcps[self]
	if e == nil {
		return 0, fmt.Errorf("%w: no IPCP with id %d", errs.ErrIPCP, self)
	}
	n.ipcpProc(e)
	return ipcpPID(self), nil
}

// LowerAlloc implements ipcp.Lower. It never makes a direct flow: an IPCP's
// peer is in another system, or in another layer of this one.
func (n *Node) LowerAlloc(ctx context.Context, self uint32, dst string, qs qos.Spec) (ipcp.LowerFlow, error) {
	pid, err := n.lowerProc(self)
	if err != nil {
		return ipcp.LowerFlow{}, err
	}
	if dst == "" || len(dst) > MaxName {
		return ipcp.LowerFlow{}, fmt.Errorf("%w: a destination name has 1 to %d bytes", errs.ErrName, MaxName)
	}
	fi, f, err := n.allocIPCP(ctx, pid, dst, qs, time.Now().Add(n.cfg.AllocTimeout), self)
	if err != nil {
		return ipcp.LowerFlow{}, err
	}
	return n.lowerFlow(pid, fi, f)
}

// LowerAccept implements ipcp.Lower.
func (n *Node) LowerAccept(ctx context.Context, self uint32) (ipcp.LowerFlow, error) {
	pid, err := n.lowerProc(self)
	if err != nil {
		return ipcp.LowerFlow{}, err
	}
	for {
		fi, f, err := n.Accept(ctx, pid, 0)
		if err == nil {
			return n.lowerFlow(pid, fi, f)
		}
		if ctx.Err() != nil || n.ctx.Err() != nil || !errors.Is(err, errs.ErrTimeout) {
			return ipcp.LowerFlow{}, err
		}
	}
}

func (n *Node) lowerFlow(pid int, fi FlowInfo, f *os.File) (ipcp.LowerFlow, error) {
	c, err := seqpkt.FromFile(f)
	if err != nil {
		n.Dealloc(pid, fi.ID)
		return ipcp.LowerFlow{}, fmt.Errorf("%w: %w", errs.ErrResources, err)
	}
	max := fi.MaxSDU
	var pt ipcp.Port
	if needsRelay(fi) { // FRCT, encryption or CRC, as the library does for a program
		end, r, err := newLowerRelay(fi, c)
		if err != nil {
			c.Close()
			n.Dealloc(pid, fi.ID)
			return ipcp.LowerFlow{}, fmt.Errorf("%w: %w", errs.ErrResources, err)
		}
		c = end
		if max > 0 {
			max -= r.overhead()
		}
	} else if !n.cfg.NoPorts {
		pt = n.lowerPort(fi.ID)
	}
	return ipcp.LowerFlow{ID: fi.ID, Conn: c, Name: fi.Name, Layer: fi.Layer, QoS: fi.QoS, MaxSDU: max, Port: pt, Peer: n.lowerPeer(fi.ID)}, nil
}

// lowerIPCP returns the IPCP lower flow id goes through, and the flow's
// key there; nil for a direct flow or one that is gone.
func (n *Node) lowerIPCP(id int) (ipcp.FlowKey, ipcp.IPCP) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f := n.flows[id]
	if f == nil || f.ipcp == nil || f.direct {
		return ipcp.FlowKey{}, nil
	}
	return f.key, f.ipcp.impl
}

// lowerPeer returns who is at the other end of lower flow id, as the IPCP
// it goes through names it (ipcp.PeerTeller: eth, udp), else "".
func (n *Node) lowerPeer(id int) string {
	key, impl := n.lowerIPCP(id)
	if pt, ok := impl.(ipcp.PeerTeller); ok {
		return pt.FlowPeer(key)
	}
	return ""
}

// lowerPort returns the in-process path of lower flow id, when the IPCP it
// goes through offers one (ipcp.PortOpener: eth, udp), else nil. Both ends
// of the flow are IPCPs of this node, so the packets between them need
// not cross a socket pair; the flow's channel stays its end either way.
func (n *Node) lowerPort(id int) ipcp.Port {
	key, impl := n.lowerIPCP(id)
	po, ok := impl.(ipcp.PortOpener)
	if !ok {
		return nil
	}
	pt, err := po.Port(key)
	if err != nil {
		return nil
	}
	return pt
}

// LowerDealloc implements ipcp.Lower.
func (n *Node) LowerDealloc(self uint32, id int) error {
	return n.Dealloc(ipcpPID(self), id)
}

var _ ipcp.Lower = (*Node)(nil)

// lowerState tells IPCP self that the layer under its lower flow id went
// down or came back up.
func (n *Node) lowerState(self uint32, id int, up bool) {
	n.mu.Lock()
	e := n.ipcps[self]
	n.mu.Unlock()
	if e == nil {
		return
	}
	if w, ok := e.impl.(ipcp.LowerWatcher); ok {
		w.LowerFlowState(id, up)
	}
}

func (n *Node) enroller(id uint32) (*ipcpEntry, ipcp.Enroller, error) {
	e, err := n.ipcp(id)
	if err != nil {
		return nil, nil, err
	}
	en, ok := e.impl.(ipcp.Enroller)
	if !ok {
		return nil, nil, fmt.Errorf("%w: IPCP %s is %v; only unicast and broadcast IPCPs enroll and connect", errs.ErrIPCPType, e.name, e.typ)
	}
	return e, en, nil
}

// EnrollIPCP makes an IPCP join the layer of the IPCP that answers for dst
// in a lower layer.
func (n *Node) EnrollIPCP(ctx context.Context, id uint32, dst string) error {
	e, en, err := n.enroller(id)
	if err != nil {
		return err
	}
	if dst == "" {
		return fmt.Errorf("%w: enrollment needs a destination (dst or layer)", errs.ErrInvalid)
	}
	n.mu.Lock()
	st := e.state
	n.mu.Unlock()
	if st == ipcp.StateOperational {
		return fmt.Errorf("%w: IPCP %s is in layer %s already", errs.ErrIPCPState, e.name, e.layer.Name)
	}
	layer, err := en.Enroll(ctx, dst)
	if err != nil {
		return fmt.Errorf("enroll %s with %s: %w", e.name, dst, err)
	}
	n.mu.Lock()
	e.layer, e.state = layer, ipcp.StateOperational
	n.notify()
	n.mu.Unlock()
	n.log.Info("IPCP enrolled", "ipcp", e.name, "layer", layer.Name, "dst", dst)
	return nil
}

// ConnectIPCP makes an adjacency of component comp (dt, mgmt; empty: both,
// mgmt first) between an IPCP and the one that answers for dst.
func (n *Node) ConnectIPCP(ctx context.Context, id uint32, dst, comp string, qs qos.Spec) error {
	e, en, err := n.enroller(id)
	if err != nil {
		return err
	}
	comps, err := compList(comp, ipcp.CompMgmt, ipcp.CompDT)
	if err != nil {
		return err
	}
	for _, c := range comps {
		cq := qs
		if c == ipcp.CompMgmt {
			cq = qos.Raw
		}
		if err := en.Connect(ctx, dst, c, cq); err != nil {
			return fmt.Errorf("connect %s to %s (%s): %w", e.name, dst, c, err)
		}
	}
	return nil
}

// DisconnectIPCP removes adjacencies made by ConnectIPCP (dt first).
func (n *Node) DisconnectIPCP(id uint32, dst, comp string) error {
	e, en, err := n.enroller(id)
	if err != nil {
		return err
	}
	comps, err := compList(comp, ipcp.CompDT, ipcp.CompMgmt)
	if err != nil {
		return err
	}
	var fails []error
	for _, c := range comps {
		if err := en.Disconnect(dst, c); err != nil {
			fails = append(fails, fmt.Errorf("disconnect %s from %s (%s): %w", e.name, dst, c, err))
		}
	}
	if len(fails) == len(comps) {
		return errors.Join(fails...)
	}
	return nil
}

func compList(comp string, both ...string) ([]string, error) {
	switch comp {
	case "", "*":
		return both, nil
	case ipcp.CompDT, ipcp.CompMgmt:
		return []string{comp}, nil
	}
	return nil, fmt.Errorf("%w: unknown component %q (dt or mgmt)", errs.ErrInvalid, comp)
}

// IPCPDetail describes an IPCP's state in its layer; registered names are
// given by name where the node knows one with that hash.
func (n *Node) IPCPDetail(id uint32) (ipcp.Info, []string, error) {
	e, err := n.ipcp(id)
	if err != nil {
		return ipcp.Info{}, nil, err
	}
	in, ok := e.impl.(ipcp.Inspector)
	if !ok {
		return ipcp.Info{}, nil, nil
	}
	info := in.Inspect()
	n.mu.Lock()
	defer n.mu.Unlock()
	byHash := make(map[string]string, len(n.names))
	for nm := range n.names {
		byHash[string(e.layer.Hash.Sum(nm))] = nm
	}
	var named []string
	var unnamed [][]byte
	for _, h := range info.Names {
		if nm, ok := byHash[string(h)]; ok {
			named = append(named, nm)
		} else {
			unnamed = append(unnamed, h)
		}
	}
	slices.Sort(named)
	info.Names = unnamed
	return info, named, nil
}

// Join adds process pid's new flow to the broadcast layer named layer.
func (n *Node) Join(ctx context.Context, pid int, layer string, timeout time.Duration) (FlowInfo, *os.File, error) {
	if timeout <= 0 {
		timeout = n.cfg.AllocTimeout
	}
	limit := time.Now().Add(timeout)
	n.mu.Lock()
	if n.procs[pid] == nil {
		n.mu.Unlock()
		return FlowInfo{}, nil, fmt.Errorf("%w: process %d has not announced itself to this node", errs.ErrInvalid, pid)
	}
	var e *ipcpEntry
	for _, x := range n.sortedIPCPs() {
		if x.state == ipcp.StateOperational && x.layer.Name == layer {
			e = x
			break
		}
	}
	n.mu.Unlock()
	if e == nil {
		return FlowInfo{}, nil, fmt.Errorf("%w: no IPCP of this node is in a layer named %q", errs.ErrIPCP, layer)
	}
	j, ok := e.impl.(ipcp.Joiner)
	if !ok {
		return FlowInfo{}, nil, fmt.Errorf("%w: layer %s is %v; only broadcast layers can be joined", errs.ErrIPCPType, layer, e.typ)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	f, err := n.ipcpFlow(ctx, e, pid, layer, qos.NP1, limit, func(fl ipcp.Flow) error {
		if err := j.FlowJoin(ctx, fl, e.layer.Hash.Sum(layer)); err != nil {
			return fmt.Errorf("join %s: %w", layer, err)
		}
		return nil
	}, fmt.Errorf("%w: layer %s did not answer the join", errs.ErrTimeout, layer))
	if err != nil {
		return FlowInfo{}, nil, err
	}
	file := f.appEnd
	f.appEnd = nil
	info := f.info(pid)
	n.log.Info("flow joined", "flow", info.ID, "pid", pid, "layer", layer)
	return info, file, nil
}
