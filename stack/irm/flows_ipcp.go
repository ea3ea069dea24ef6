// The IPCPs' side of flows (ipcp.IRM): a request that arrived for a
// local name, the answer to an allocation, and a flow an IPCP let go.

package irm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/oap"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// FlowReqArr implements ipcp.IRM.
func (n *Node) FlowReqArr(ctx context.Context, from uint32, hash []byte, qs qos.Spec, mpl time.Duration, data []byte) (ipcp.Flow, error) {
	n.mu.Lock()
	e := n.ipcps[from]
	if e == nil {
		n.mu.Unlock()
		return ipcp.Flow{}, fmt.Errorf("%w: no IPCP %d", errs.ErrIPCP, from)
	}
	nmName := ""
	for s := range n.names {
		if string(e.layer.Hash.Sum(s)) == string(hash) {
			nmName = s
			break
		}
	}
	if nmName == "" {
		n.mu.Unlock()
		return ipcp.Flow{}, fmt.Errorf("%w: no name on this node has that hash", errs.ErrName)
	}
	// OAP first, with the name's server-side security: a request this
	// node cannot serve is refused before any acceptor is taken, and the
	// refusal goes back on the wire with its code.
	sd, err := n.side(nmName, true)
	n.mu.Unlock()
	if err != nil {
		n.log.Warn("flow request refused: the name's security configuration does not load", "name", nmName, "err", err)
		return ipcp.Flow{}, fmt.Errorf("flow request for %s: %w", nmName, err)
	}
	res, key, err := n.oap.RespondAs(data, time.Now(), sd)
	if errors.Is(err, oap.ErrReplay) {
		return ipcp.Flow{}, fmt.Errorf("flow request for %s: %w: %w", nmName, ipcp.ErrDuplicateRequest, err)
	}
	if err != nil {
		n.log.Info("flow request refused", "name", nmName, "err", err)
		return ipcp.Flow{}, fmt.Errorf("flow request for %s: %w", nmName, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	acc, err := n.waitAcceptor(ctx, nmName, time.Time{})
	if acc == nil {
		if err == nil {
			err = fmt.Errorf("%w: nobody on this system serves %q", errs.ErrName, nmName)
		}
		return ipcp.Flow{}, err
	}
	nodeEnd, appEnd, err := seqpkt.NodePair()
	if err != nil {
		acc.state, acc.err = ctl.FlowDeallocated, fmt.Errorf("%w: %w", errs.ErrResources, err)
		n.notify()
		return ipcp.Flow{}, acc.err
	}
	acc.ipcp, acc.peer, acc.qos, acc.mpl, acc.appEnd, acc.oapRes, acc.crypt = e, int(e.id), qs, mpl, appEnd, res, key
	acc.state = ctl.FlowAllocated
	n.notify()
	return ipcp.Flow{Key: acc.key, End: nodeEnd, QoS: qs}, nil
}

// FlowAllocReply implements ipcp.IRM.
func (n *Node) FlowAllocReply(key ipcp.FlowKey, err error, mpl time.Duration, data []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f := n.flowByKey(key)
	if f == nil {
		return
	}
	switch {
	case f.state == ctl.FlowAllocPending && err == nil:
		f.state, f.mpl, f.oapRes = ctl.FlowAllocated, mpl, bytes.Clone(data)
	case f.state == ctl.FlowAllocPending:
		f.state, f.err = ctl.FlowDeallocated, err
	case err != nil: // the allocator gave up already; the IPCP let go
		n.destroy(f)
	}
	n.notify()
}

// FlowDeallocated implements ipcp.IRM.
func (n *Node) FlowDeallocated(key ipcp.FlowKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if f := n.flowByKey(key); f != nil {
		switch f.state {
		case ctl.FlowAllocPending: // the IPCP gave up before replying
			f.state, f.err = ctl.FlowDeallocated, fmt.Errorf("%w: the layer released the flow", errs.ErrFlowDown)
			n.notify()
		default:
			n.destroy(f)
			n.log.Info("flow deallocated", "flow", key.ID)
		}
	}
}
