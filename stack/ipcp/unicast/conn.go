package unicast

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/connmgr"
	"github.com/o7s/ouroboros/stack/ipcp/enroll"
	"github.com/o7s/ouroboros/stack/qos"
)

// conn is an N-1 flow that belongs to a component: data transfer or
// management (enrollment flows are short-lived and not kept).
type conn struct {
	lf ipcp.LowerFlow
	// port is the lower flow's in-process path (ipcp.Port), attached for
	// data-transfer flows whose lower IPCP offers one: packets go out
	// through it and come in from the lower IPCP's reader (input); nil:
	// both go through lf.Conn. Set before the conn is published.
	port ipcp.Port
	comp string      // ipcp.CompDT or ipcp.CompMgmt
	peer uint64      // the neighbour's address, from its cep_msg
	dst  string      // the name we reached it by; empty if it connected to us
	cube qos.Cube    // data-transfer flows: the cube of the flow's QoS
	up   atomic.Bool // the carrier under its lower flow is up
	once sync.Once
	// Liveness (alive.go): packets read from the flow, counted by its
	// reader; the count at the last check (guarded by p.live.mu); the
	// neighbour over its lower layer is silent; the conn is gone.
	rx     atomic.Uint64
	rxSeen uint64
	silent atomic.Bool
	gone   atomic.Bool
	// Management flows: LSUs to send, written in order by the conn's
	// writer, so that a flood never blocks a reader and a burst (the
	// whole LSDB to a new neighbour) is not cut short by a full socket.
	out  *lsuQueue
	done chan struct{}
}

// mgmtQueue bounds the LSUs waiting for one management flow.
const mgmtQueue = 1 << 14

func (c *conn) close() {
	c.once.Do(func() {
		c.lf.Conn.Close()
		if c.done != nil {
			close(c.done)
		}
	})
}

// send queues an LSU; a full queue drops it (the periodic update repeats
// it).
func (c *conn) send(b []byte) { c.out.push(b) }

// writer writes the queued LSUs in order until the flow fails or the conn
// closes.
func (c *conn) writer() {
	var batch [][]byte
	for {
		select {
		case <-c.out.wake:
		case <-c.done:
			return
		}
		batch = c.out.take(batch)
		for i, b := range batch {
			batch[i] = nil
			if c.lf.Conn.Write(b) != nil {
				return
			}
		}
		if cap(batch) > lsuKeep {
			batch = nil // a burst's slice: let it go
		}
	}
}

// info is a component's connection information with the own address.
func (p *IPCP) info(comp string) (connmgr.Info, bool) {
	var i connmgr.Info
	switch comp {
	case connmgr.DT.Comp:
		i = connmgr.DT
		i.Addr = uint64(p.addr)
	case connmgr.Management.Comp:
		i = connmgr.Management
		i.Addr = uint64(p.addr)
	case connmgr.Enrollment.Comp:
		i = connmgr.Enrollment
	default:
		return i, false
	}
	return i, true
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

func (p *IPCP) drop(lf ipcp.LowerFlow) { connmgr.Release(p.lower, p.id, lf) }

func (p *IPCP) incoming(lf ipcp.LowerFlow) {
	defer p.wg.Done()
	local, peer, err := connmgr.Respond(lf.Conn, p.info)
	if err != nil {
		p.log.Info("connection refused", "flow", lf.ID, "err", err)
		p.drop(lf)
		return
	}
	switch local.Comp {
	case connmgr.Enrollment.Comp:
		p.mu.Lock()
		c := enroll.Conf{Layer: p.layer, Type: ipcp.Unicast, Unicast: new(ipcp.UnicastConfig)}
		*c.Unicast = p.conf
		p.mu.Unlock()
		enroll.ServeFlow(p.lower, p.id, lf, c, p.log)
	case connmgr.DT.Comp:
		p.addConn(lf, ipcp.CompDT, peer.Addr, "")
	case connmgr.Management.Comp:
		p.addConn(lf, ipcp.CompMgmt, peer.Addr, "")
	}
}

// Connect implements ipcp.Enroller (spec SYSTEM §8.4, active side).
func (p *IPCP) Connect(ctx context.Context, dst, comp string, qs qos.Spec) error {
	if err := p.operational(); err != nil {
		return err
	}
	name := connmgr.DT.Comp
	switch comp {
	case ipcp.CompDT:
	case ipcp.CompMgmt:
		name = connmgr.Management.Comp
	default:
		return fmt.Errorf("%w: unknown component %q", errs.ErrInvalid, comp)
	}
	local, _ := p.info(name)
	lf, err := p.lower.LowerAlloc(ctx, p.id, dst, qs)
	if err != nil {
		return fmt.Errorf("no flow to %s in a lower layer: %w", dst, err)
	}
	peer, err := connmgr.Initiate(lf.Conn, local)
	if err == nil && peer.Addr == 0 {
		err = errors.New("the peer gave no address")
	}
	if err != nil {
		p.drop(lf)
		return err
	}
	if peer.Addr == uint64(p.addr) {
		p.drop(lf)
		return fmt.Errorf("%w: %s is this IPCP", errs.ErrInvalid, dst)
	}
	if len(dst) > 64 {
		dst = dst[:64]
	}
	p.addConn(lf, comp, peer.Addr, dst)
	return nil
}

// Disconnect implements ipcp.Enroller.
func (p *IPCP) Disconnect(dst, comp string) error {
	p.mu.Lock()
	i := slices.IndexFunc(p.conns, func(c *conn) bool { return c.comp == comp && c.dst == dst })
	var c *conn
	if i >= 0 {
		c = p.conns[i]
	}
	p.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%w: no %s connection to %s", errs.ErrNotFound, comp, dst)
	}
	p.removeConn(c)
	return nil
}

func (p *IPCP) addConn(lf ipcp.LowerFlow, comp string, peer uint64, dst string) {
	c := &conn{lf: lf, comp: comp, peer: peer, dst: dst, cube: lf.QoS.Cube()}
	c.up.Store(true)
	if comp == ipcp.CompMgmt {
		c.out, c.done = newLSUQueue(), make(chan struct{})
	}
	if comp == ipcp.CompDT && lf.Port != nil && p.sched != nil {
		// From here on the lower IPCP hands this flow's packets to input
		// on its reader, and takes ours through the port; the channel
		// still carries the flow's end (and any packet it already holds,
		// which dtReader reads as before).
		if err := lf.Port.Attach(func(b []byte) { p.input(c, b) }); err != nil {
			p.log.Debug("in-process path not attached", "flow", lf.ID, "err", err)
		} else {
			c.port = lf.Port
		}
	}
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		p.drop(lf)
		return
	}
	gone := p.meet(lf, peer)
	p.conns = append(p.conns, c)
	p.resize()
	if comp == ipcp.CompDT {
		m := make(map[int]*conn, len(*p.dt.Load())+1)
		for k, v := range *p.dt.Load() {
			m[k] = v
		}
		m[lf.ID] = c
		p.dt.Store(&m)
	}
	p.wg.Add(1)
	p.mu.Unlock()
	if gone != 0 {
		// The neighbour came back as a new IPCP (restart.go): the old one
		// goes before a management conn is sent the LSDB, which then
		// holds nothing of it.
		p.forget(gone, peer)
	}
	p.log.Info("connection added", "comp", comp, "peer", AddrString(peer), "flow", lf.ID, "dst", dst)
	p.heardNow(c) // its CEP message just came over the link
	if comp == ipcp.CompDT {
		p.sched.use(c.cube, true)
		go p.dtReader(c)
		p.live.mu.Lock()
		p.settle(c)
		p.live.mu.Unlock()
	} else {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); c.writer() }()
		go p.ls.mgmtReader(c)
		p.ls.mgmtAdd(c)
	}
}

// removeConn ends a connection (disconnect, or its flow ended).
func (p *IPCP) removeConn(c *conn) {
	p.mu.Lock()
	i := slices.Index(p.conns, c)
	if i < 0 {
		p.mu.Unlock()
		return
	}
	p.conns = slices.Delete(p.conns, i, i+1)
	p.resize()
	if c.comp == ipcp.CompDT {
		m := make(map[int]*conn, len(*p.dt.Load()))
		for k, v := range *p.dt.Load() {
			if v != c {
				m[k] = v
			}
		}
		p.dt.Store(&m)
	}
	p.mu.Unlock()
	c.close()
	if c.comp == ipcp.CompDT {
		p.sched.use(c.cube, false)
		p.live.mu.Lock()
		c.gone.Store(true)
		p.ls.dtDel(c)
		p.pff.SetFlowState(c.lf.ID, true) // forget its mark: the node may reuse the id
		p.live.mu.Unlock()
		p.dht.Republish() // a neighbour lost: paths, and maybe holders, with it
	} else {
		p.ls.mgmtDel(c)
	}
	p.lower.LowerDealloc(p.id, c.lf.ID)
	p.log.Info("connection removed", "comp", c.comp, "peer", AddrString(c.peer), "flow", c.lf.ID)
}

// LowerFlowState implements ipcp.LowerWatcher: the layer under an N-1
// flow went down or came back. A data-transfer adjacency over it leaves
// the routing graph while it is down (a local decision: nothing new goes
// on the wire; peers age the adjacency out), and alternate forwarding
// switches at once. The carrier coming back counts as hearing from the
// neighbour (alive.go). The names registered here are published again,
// the layer as seen from here having changed.
func (p *IPCP) LowerFlowState(id int, up bool) {
	p.mu.Lock()
	var c *conn
	for _, x := range p.conns {
		if x.lf.ID == id {
			c = x
		}
	}
	p.mu.Unlock()
	if c == nil || c.up.Swap(up) == up {
		return
	}
	p.log.Info("connection state", "comp", c.comp, "peer", AddrString(c.peer), "up", up)
	if up {
		p.heardNow(c)
	}
	if c.comp == ipcp.CompDT {
		p.live.mu.Lock()
		p.settle(c)
		p.live.mu.Unlock()
		p.dht.Republish()
	}
}
