// The flow table: flows, their states and ids, and what every path that
// ends a flow shares. The application side of a flow is in flows_app.go,
// the IPCPs' side in flows_ipcp.go.

package irm

import (
	"fmt"
	"os"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/oap"
	"github.com/o7s/ouroboros/stack/qos"
)

// flow is a registry flow. An IPCP flow has one application end (owner);
// a direct flow has two (owner, the acceptor, and peer, the allocator).
type flow struct {
	key     ipcp.FlowKey
	state   ctl.FlowState
	owner   int
	peer    int // n_1_pid: the IPCP's id, or the allocating process
	direct  bool
	ipcp    *ipcpEntry
	qos     qos.Spec
	mpl     time.Duration
	name    string
	appEnd  *os.File // the owner's end until handed over
	peerEnd *os.File // direct: the allocator's end until handed over
	closedO bool     // direct: the owner has deallocated
	closedP bool     // direct: the peer has deallocated
	err     error
	// OAP (IPCP flows only): the response (the server's, to send; or the
	// one the client received).
	oapRes []byte
	// crypt is the flow's cipher and key, agreed by OAP; told only to the
	// flow's own processes.
	crypt oap.Key
}

// FlowInfo describes a flow to a client.
type FlowInfo struct {
	ID     int
	NPid   int // the application end this info is for
	N1Pid  int // the IPCP id, or the other application for a direct flow
	State  ctl.FlowState
	MPL    time.Duration
	QoS    qos.Spec
	Direct bool
	Name   string
	Layer  string
	Crypt  oap.Key
	MaxSDU int // the layer's largest SDU, 0 when not known
}

func (f *flow) info(self int) FlowInfo {
	fi := FlowInfo{ID: f.key.ID, NPid: f.owner, N1Pid: f.peer, State: f.state, MPL: f.mpl, QoS: f.qos, Direct: f.direct, Name: f.name, Crypt: f.crypt}
	if f.direct && self == f.peer {
		fi.NPid, fi.N1Pid = f.peer, f.owner
	}
	if f.ipcp != nil {
		fi.Layer = f.ipcp.layer.Name
		if z, ok := f.ipcp.impl.(ipcp.SDUSizer); ok {
			fi.MaxSDU = z.MaxSDU()
		}
	}
	return fi
}

// newFlow creates a flow with the lowest free id; n.mu is held. The search
// starts at n.freeFrom, below which every id is taken, so that many flows
// open at once do not make each allocation go over all of them.
func (n *Node) newFlow(owner int, st ctl.FlowState) (*flow, error) {
	for id := n.freeFrom; id < MaxFlows; id++ {
		if _, used := n.flows[id]; !used {
			n.serial++
			f := &flow{key: ipcp.FlowKey{ID: id, Serial: n.serial}, state: st, owner: owner}
			n.flows[id] = f
			n.freeFrom = id + 1
			return f, nil
		}
	}
	n.freeFrom = MaxFlows
	return nil, fmt.Errorf("%w: all %d flow ids are in use", errs.ErrResources, MaxFlows-1)
}

func (n *Node) flowByKey(k ipcp.FlowKey) *flow {
	if f := n.flows[k.ID]; f != nil && f.key == k {
		return f
	}
	return nil
}

// destroy removes a flow and closes any end not handed over; n.mu is held.
func (n *Node) destroy(f *flow) {
	if n.flows[f.key.ID] == f {
		delete(n.flows, f.key.ID)
		n.freeFrom = min(n.freeFrom, f.key.ID)
	}
	for _, e := range []**os.File{&f.appEnd, &f.peerEnd} {
		if *e != nil {
			(*e).Close()
			*e = nil
		}
	}
	f.state = ctl.FlowDeallocated
	n.notify()
}

// dropAccept takes a pending accept off every active list; n.mu is held.
func (n *Node) dropAccept(f *flow) {
	for _, nm := range n.names {
		nm.delActive(f)
	}
	if p := n.procs[f.owner]; p != nil {
		p.accepts = remove(p.accepts, f)
	}
}

// Flows lists the flow table. The accept an IPCP keeps pending for the
// flows its peers open in the layers below is not a flow, and is left out.
func (n *Node) Flows() []FlowInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := make([]FlowInfo, 0, len(n.flows))
	for id, seen := 1, 0; id < MaxFlows && seen < len(n.flows); id++ {
		f := n.flows[id]
		if f == nil {
			continue
		}
		seen++
		if f.owner < 0 && f.state == ctl.FlowAcceptPending {
			continue // an IPCP's standing wait for lower flows, not a flow
		}
		l = append(l, f.info(f.owner))
	}
	return l
}
