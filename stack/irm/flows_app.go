// The application side of flows: Accept, Alloc (direct or through a
// layer) and Dealloc, and the reaping of a process that went away.

package irm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/oap"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

func deadlineOf(timeout time.Duration) time.Time {
	if timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(timeout)
}

// Accept waits for a flow request for any name the process is bound to.
// timeout 0 waits until ctx ends. It returns the application's end.
func (n *Node) Accept(ctx context.Context, pid int, timeout time.Duration) (FlowInfo, *os.File, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.procs[pid]
	if p == nil {
		return FlowInfo{}, nil, fmt.Errorf("%w: process %d has not announced itself to this node", errs.ErrInvalid, pid)
	}
	f, err := n.newFlow(pid, ctl.FlowAcceptPending)
	if err != nil {
		return FlowInfo{}, nil, err
	}
	p.accepts = append(p.accepts, f)
	for _, nm := range p.names {
		if e := n.names[nm]; e != nil {
			e.addActive(f)
		}
	}
	n.notify()
	deadline := deadlineOf(timeout)
	for f.state == ctl.FlowAcceptPending {
		if !n.wait(ctx, deadline) && f.state == ctl.FlowAcceptPending {
			n.dropAccept(f)
			n.destroy(f)
			return FlowInfo{}, nil, n.acceptGiveUp(ctx, p)
		}
	}
	n.dropAccept(f)
	// A direct flow may already be half deallocated by a quick allocator:
	// the acceptor still gets its end, and reads the end of the flow.
	handOver := f.state == ctl.FlowAllocated || (f.direct && f.state == ctl.FlowDeallocPending && f.appEnd != nil)
	if !handOver {
		err := f.err
		if err == nil {
			err = fmt.Errorf("%w: the flow ended before it was accepted", errs.ErrFlowDown)
		}
		n.destroy(f)
		return FlowInfo{}, nil, err
	}
	file := f.appEnd
	f.appEnd = nil
	info := f.info(pid)
	if e := f.ipcp; e != nil {
		// Not cut short by the caller going away: the IPCP must learn the
		// outcome either way.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.AllocTimeout)
		res := f.oapRes
		n.mu.Unlock()
		err := e.impl.FlowAllocResp(rctx, f.key, nil, res)
		cancel()
		if err != nil {
			file.Close()
			n.releaseIPCPFlow(e, f)
		}
		n.mu.Lock()
		if err != nil {
			return FlowInfo{}, nil, fmt.Errorf("accept through %s: %w", e.name, err)
		}
	}
	n.log.Info("flow accepted", "flow", info.ID, "pid", pid, "name", info.Name, "direct", info.Direct, "layer", info.Layer, "cipher", crypt.CipherName(info.Crypt.Cipher))
	return info, file, nil
}

func (n *Node) acceptGiveUp(ctx context.Context, p *process) error {
	switch {
	case n.ctx.Err() != nil:
		return fmt.Errorf("%w: the node is shutting down", errs.ErrNode)
	case ctx.Err() != nil:
		return context.Canceled
	case len(p.names) == 0:
		return fmt.Errorf("%w: no flow request arrived; process %d (%s) is bound to no name, bind it with 'irm bind process %d name NAME' or 'irm bind program %s name NAME'",
			errs.ErrTimeout, p.pid, p.prog, p.pid, p.prog)
	}
	return fmt.Errorf("%w: no flow request arrived for %v", errs.ErrTimeout, p.names)
}

// waitAcceptor waits for a process accepting flows for the name, starting a
// bound program if nobody does, and takes its pending accept. It returns
// nil without waiting when nothing on this system serves the name. n.mu is
// held.
func (n *Node) waitAcceptor(ctx context.Context, nmName string, limit time.Time) (*flow, error) {
	nm := n.names[nmName]
	if nm == nil || !nm.serves() {
		return nil, nil
	}
	started := false
	for {
		stage := time.Now().Add(n.cfg.ReqArrTimeout)
		if !limit.IsZero() && limit.Before(stage) {
			stage = limit
		}
		for {
			if nm = n.names[nmName]; nm == nil {
				return nil, fmt.Errorf("%w: name %q was destroyed", errs.ErrName, nmName)
			}
			if len(nm.active) > 0 {
				f := nm.active[0]
				n.dropAccept(f)
				f.name = nmName
				return f, nil
			}
			if !n.wait(ctx, stage) && (ctx.Err() != nil || n.ctx.Err() != nil || !time.Now().Before(stage)) {
				break
			}
		}
		if ctx.Err() != nil || n.ctx.Err() != nil {
			return nil, context.Canceled
		}
		if started || len(nm.autoExec) == 0 || (!limit.IsZero() && !time.Now().Before(limit)) {
			return nil, fmt.Errorf("%w: nobody accepted a flow for %q within %v", errs.ErrTimeout, nmName, n.cfg.ReqArrTimeout)
		}
		argv := nm.autoExec[0]
		n.mu.Unlock()
		err := n.spawn(argv)
		n.mu.Lock()
		if err != nil {
			return nil, fmt.Errorf("%w: auto-start of %s for %q: %w", errs.ErrName, argv[0], nmName, err)
		}
		started = true
	}
}

// Alloc allocates a flow from process pid to the name dst. timeout 0 means
// the node's default allocation timeout.
func (n *Node) Alloc(ctx context.Context, pid int, dst string, qs qos.Spec, timeout time.Duration) (FlowInfo, *os.File, error) {
	if dst == "" || len(dst) > MaxName {
		return FlowInfo{}, nil, fmt.Errorf("%w: a destination name has 1 to %d bytes", errs.ErrName, MaxName)
	}
	if timeout <= 0 {
		timeout = n.cfg.AllocTimeout
	}
	limit := time.Now().Add(timeout)
	n.mu.Lock()
	if n.procs[pid] == nil {
		n.mu.Unlock()
		return FlowInfo{}, nil, fmt.Errorf("%w: process %d has not announced itself to this node", errs.ErrInvalid, pid)
	}
	start := time.Now()
	var directErr error
	if !n.cfg.NoDirect {
		acc, err := n.waitAcceptor(ctx, dst, limit)
		if acc != nil {
			defer n.mu.Unlock()
			return n.direct(acc, pid, qs)
		}
		if errors.Is(err, context.Canceled) {
			n.mu.Unlock()
			return FlowInfo{}, nil, err
		}
		directErr = err
	}
	n.mu.Unlock()
	fi, f, err := n.allocIPCP(ctx, pid, dst, qs, limit, 0)
	if err != nil && directErr != nil && errors.Is(err, errs.ErrTimeout) {
		// The name is served on this system but nobody took the request,
		// directly and then through a layer: say how long it all took,
		// not only the last wait.
		err = fmt.Errorf("%w (after %v in all: directly, then through a layer)", err, time.Since(start).Round(100*time.Millisecond))
	}
	return fi, f, err
}

// oapRequest builds the OAP request of an allocation to dst, with a key
// exchange when the client side of dst has encryption configured.
func (n *Node) oapRequest(dst string) (*oap.Request, error) {
	n.mu.Lock()
	sd, err := n.side(dst, false)
	n.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("allocate %s: %w", dst, err)
	}
	req, err := oap.NewRequestTo(time.Now(), dst, sd)
	if err != nil {
		return nil, fmt.Errorf("allocate %s: %w", dst, err)
	}
	return req, nil
}

// directOAP runs OAP's both ends for a direct flow to name nm: the flow
// is encrypted as it would be through a layer. n.mu is held.
func (n *Node) directOAP(nm string) (oap.Key, error) {
	csd, err := n.side(nm, false)
	if err != nil {
		return oap.Key{}, fmt.Errorf("allocate %s: %w", nm, err)
	}
	req, err := oap.NewRequestTo(time.Now(), nm, csd)
	if err != nil {
		return oap.Key{}, fmt.Errorf("allocate %s: %w", nm, err)
	}
	ssd, err := n.side(nm, true)
	if err != nil {
		return oap.Key{}, fmt.Errorf("accept %s: %w", nm, err)
	}
	resp, key, err := n.oap.RespondAs(req.Bytes, time.Now(), ssd)
	if err != nil {
		return oap.Key{}, fmt.Errorf("allocate %s: %w", nm, err)
	}
	if _, err := req.Complete(resp); err != nil {
		return oap.Key{}, fmt.Errorf("allocate %s: %w", nm, err)
	}
	return key, nil
}

// direct completes a pending accept with a flow straight between the two
// processes; n.mu is held.
func (n *Node) direct(acc *flow, pid int, qs qos.Spec) (FlowInfo, *os.File, error) {
	key, err := n.directOAP(acc.name)
	if err != nil { // refused before the acceptor is taken: it waits on
		return FlowInfo{}, nil, err
	}
	acc.crypt = key
	a, b, err := seqpkt.FilePair()
	if err != nil {
		acc.state, acc.err = ctl.FlowDeallocated, fmt.Errorf("%w: %w", errs.ErrResources, err)
		n.notify()
		return FlowInfo{}, nil, acc.err
	}
	acc.direct, acc.peer, acc.mpl, acc.qos = true, pid, DirectMPL, qs
	acc.appEnd, acc.peerEnd = a, b
	acc.state = ctl.FlowAllocated
	n.notify()
	file := acc.peerEnd
	acc.peerEnd = nil
	info := acc.info(pid)
	n.log.Info("flow allocated", "flow", info.ID, "pid", pid, "peer", acc.owner, "name", acc.name, "direct", true)
	return info, file, nil
}

// allocIPCP allocates through the first layer that knows dst, other than
// the layer of IPCP exclude (0: none), which is the allocating IPCP itself.
// A layer whose far end answers that it has no such name (a directory
// entry gone stale: the name was unregistered there) is left out and the
// next layer that knows the name is tried.
func (n *Node) allocIPCP(ctx context.Context, pid int, dst string, qs qos.Spec, limit time.Time, exclude uint32) (FlowInfo, *os.File, error) {
	skip := map[uint32]bool{}
	for {
		fi, f, id, err := n.allocThrough(ctx, pid, dst, qs, limit, exclude, skip)
		if err == nil || id == 0 || !errors.Is(err, errs.ErrName) || ctx.Err() != nil || time.Now().After(limit) {
			return fi, f, err
		}
		n.log.Info("a layer's entry for the name is stale; trying the others", "name", dst, "ipcp", id, "err", err)
		skip[id] = true
	}
}

// allocThrough is one attempt of allocIPCP, through the first layer that
// knows dst among those not in skip; it returns the IPCP it used (0: none).
func (n *Node) allocThrough(ctx context.Context, pid int, dst string, qs qos.Spec, limit time.Time, exclude uint32, skip map[uint32]bool) (FlowInfo, *os.File, uint32, error) {
	e, hash, err := n.findLayer(ctx, dst, exclude, skip)
	if err != nil {
		return FlowInfo{}, nil, 0, err
	}
	fi, f, err := n.allocVia(ctx, e, hash, pid, dst, qs, limit)
	return fi, f, e.id, err
}

func (n *Node) allocVia(ctx context.Context, e *ipcpEntry, hash []byte, pid int, dst string, qs qos.Spec, limit time.Time) (FlowInfo, *os.File, error) {
	req, err := n.oapRequest(dst)
	if err != nil {
		return FlowInfo{}, nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	f, err := n.ipcpFlow(ctx, e, pid, dst, qs, limit, func(fl ipcp.Flow) error {
		if err := e.impl.FlowAlloc(ctx, fl, hash, req.Bytes); err != nil {
			return fmt.Errorf("allocate through %s: %w", e.name, err)
		}
		return nil
	}, fmt.Errorf("%w: no answer from %q through layer %s", errs.ErrTimeout, dst, e.layer.Name))
	if err != nil {
		return FlowInfo{}, nil, err
	}
	key, err := req.Complete(f.oapRes)
	if err != nil {
		f.state = ctl.FlowDeallocPending
		n.mu.Unlock()
		n.releaseIPCPFlow(e, f)
		n.mu.Lock()
		return FlowInfo{}, nil, fmt.Errorf("allocate %s: %w", dst, err)
	}
	f.crypt = key
	file := f.appEnd
	f.appEnd = nil
	info := f.info(pid)
	n.log.Info("flow allocated", "flow", info.ID, "pid", pid, "name", dst, "layer", e.layer.Name, "cipher", crypt.CipherName(key.Cipher))
	return info, file, nil
}

// ipcpFlow makes a flow of process pid through IPCP e to name, hands the
// node's end to the IPCP with start (FlowAlloc, FlowJoin) and waits until
// limit for the IPCP's answer; noAnswer is the error when none comes. It
// returns the allocated flow. n.mu is held, and released around start and
// the wait.
func (n *Node) ipcpFlow(ctx context.Context, e *ipcpEntry, pid int, name string, qs qos.Spec, limit time.Time,
	start func(ipcp.Flow) error, noAnswer error) (*flow, error) {
	nodeEnd, appEnd, err := seqpkt.NodePair()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrResources, err)
	}
	f, err := n.newFlow(pid, ctl.FlowAllocPending)
	if err != nil {
		nodeEnd.Close()
		appEnd.Close()
		return nil, err
	}
	f.ipcp, f.peer, f.qos, f.appEnd, f.name = e, int(e.id), qs, appEnd, name
	n.mu.Unlock()
	err = start(ipcp.Flow{Key: f.key, End: nodeEnd, QoS: qs})
	n.mu.Lock()
	if err != nil {
		n.destroy(f)
		return nil, err
	}
	for f.state == ctl.FlowAllocPending {
		if !n.wait(ctx, limit) && f.state == ctl.FlowAllocPending {
			f.state = ctl.FlowDeallocPending
			n.mu.Unlock()
			n.releaseIPCPFlow(e, f)
			n.mu.Lock()
			if ctx.Err() != nil {
				return nil, context.Canceled
			}
			return nil, noAnswer
		}
	}
	if f.state != ctl.FlowAllocated {
		err := f.err
		n.destroy(f)
		return nil, err
	}
	return f, nil
}

// findLayer asks the IPCPs, in order, which one reaches the name; IPCP
// exclude and the IPCPs of its layer are not asked.
func (n *Node) findLayer(ctx context.Context, dst string, exclude uint32, skip map[uint32]bool) (*ipcpEntry, []byte, error) {
	n.mu.Lock()
	var cands []*ipcpEntry
	skipLayer := ""
	if x := n.ipcps[exclude]; x != nil {
		skipLayer = x.layer.Name
	}
	for _, e := range n.sortedIPCPs() {
		if e.id == exclude || (skipLayer != "" && e.layer.Name == skipLayer) || skip[e.id] {
			continue
		}
		if e.state == ipcp.StateOperational && e.typ != ipcp.Broadcast {
			cands = append(cands, e)
		}
	}
	n.mu.Unlock()
	// Every layer is asked at once (the reference asks one after the
	// other, each with its own timeout, so a layer that does not know the
	// name costs a whole timeout); the first to answer that it knows the
	// name wins, and of those answered by then, the first in order.
	qctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	type answer struct {
		i   int
		err error
	}
	answers := make(chan answer, len(cands))
	for i, e := range cands {
		go func() { answers <- answer{i, e.impl.Query(qctx, e.layer.Hash.Sum(dst))} }()
	}
	best := -1
	for range cands {
		a := <-answers
		if a.err == nil && (best < 0 || a.i < best) {
			best = a.i
		}
		if best >= 0 {
			// take any other positive answer that is already in
			for drained := false; !drained; {
				select {
				case b := <-answers:
					if b.err == nil && b.i < best {
						best = b.i
					}
				default:
					drained = true
				}
			}
			e := cands[best]
			return e, e.layer.Hash.Sum(dst), nil
		}
	}
	if ctx.Err() != nil {
		return nil, nil, context.Canceled
	}
	return nil, nil, fmt.Errorf("%w: nobody serves %q: no process accepts for it on this system and no layer knows it (bind a server to it, or register it in a layer with 'irm name register %s layer LAYER')",
		errs.ErrIPCP, dst, dst)
}

// releaseIPCPFlow asks the IPCP to let go of a flow, and forgets the flow
// at once if the IPCP does not hold it.
func (n *Node) releaseIPCPFlow(e *ipcpEntry, f *flow) {
	if err := e.impl.FlowDealloc(f.key); err != nil {
		n.mu.Lock()
		n.destroy(f)
		n.mu.Unlock()
	}
}

// Dealloc releases process pid's end of flow id.
func (n *Node) Dealloc(pid, id int) error {
	n.mu.Lock()
	f := n.flows[id]
	if f == nil || (f.owner != pid && !(f.direct && f.peer == pid)) || f.state == ctl.FlowAcceptPending || f.state == ctl.FlowAllocPending {
		n.mu.Unlock()
		return fmt.Errorf("%w: flow %d is not allocated to process %d", errs.ErrNotAllocated, id, pid)
	}
	if f.direct {
		switch {
		case pid == f.owner && !f.closedO:
			f.closedO = true
		case pid == f.peer && !f.closedP: // the allocator, or the second end of a flow to itself
			f.closedP = true
		default:
			n.mu.Unlock()
			return fmt.Errorf("%w: flow %d was already deallocated by process %d", errs.ErrNotAllocated, id, pid)
		}
		f.state = ctl.FlowDeallocPending
		if f.closedO && f.closedP {
			n.destroy(f)
			n.log.Info("flow deallocated", "flow", id, "direct", true)
		}
		n.notify()
		n.mu.Unlock()
		return nil
	}
	if f.state != ctl.FlowAllocated {
		n.mu.Unlock()
		return nil
	}
	if f.appEnd != nil { // arrived, not handed to the acceptor yet: Accept finishes it
		n.mu.Unlock()
		return fmt.Errorf("%w: flow %d is not accepted yet", errs.ErrNotAllocated, id)
	}
	f.state = ctl.FlowDeallocPending
	e := f.ipcp
	n.mu.Unlock()
	n.releaseIPCPFlow(e, f)
	return nil
}

// ProcessGone reaps a process whose last session closed: pending accepts
// fail, its flows are deallocated, its bindings dropped.
func (n *Node) ProcessGone(pid int) { n.processGone(pid, nil) }

// processGone is ProcessGone for the entry want only (any when nil): a
// session does not reap the entry of a later announce of the same pid.
func (n *Node) processGone(pid int, want *process) {
	n.mu.Lock()
	p := n.procs[pid]
	if p == nil || (want != nil && p != want) {
		n.mu.Unlock()
		return
	}
	if p.sessions--; p.sessions > 0 {
		n.mu.Unlock()
		return
	}
	// dropAccept deletes from p.accepts in place (clearing the tail): go
	// over a copy.
	for _, f := range slices.Clone(p.accepts) {
		n.dropAccept(f)
		f.state, f.err = ctl.FlowDeallocated, fmt.Errorf("%w: process %d is gone", errs.ErrFlowDown, pid)
	}
	var ids []int
	for id, f := range n.flows {
		if (f.owner == pid || (f.direct && f.peer == pid)) && f.state != ctl.FlowAcceptPending && f.state != ctl.FlowAllocPending {
			ids = append(ids, id)
			if f.direct && f.owner == f.peer { // a flow to itself: both ends
				ids = append(ids, id)
			}
		}
	}
	for _, nm := range p.names {
		if e := n.names[nm]; e != nil {
			e.procs = remove(e.procs, pid)
		}
	}
	delete(n.procs, pid)
	n.notify()
	n.mu.Unlock()
	for _, id := range ids {
		n.Dealloc(pid, id)
	}
	n.log.Info("process gone", "pid", pid, "prog", p.prog, "flows", len(ids))
}
