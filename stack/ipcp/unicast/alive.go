package unicast

import (
	"slices"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// Neighbour liveness, a local decision of this implementation: nothing new
// goes on the wire.
//
// A lower layer tells the IPCP when its carrier goes (LowerFlowState), but
// a link can also lose every frame with the carrier up (a shaper that lets
// nothing through, a broken switch). An IPCP that knows only the carrier
// (the reference too) goes on announcing the adjacency for as long as the
// data-transfer flow exists, and so does the neighbour; each end's LSUs
// still reach the other by flooding round the other way, so nothing ages
// out and routes keep using the link.
//
// So the IPCP listens to each neighbour over each lower layer: every packet
// read from the neighbour's management or data-transfer flows over that
// layer counts as hearing from it, since it crossed the link from the
// neighbour's side. A neighbour sends LSUs of its own on the management
// flow every ls_t_update while it announces any adjacency, and passes on
// the LSUs it floods. Having heard nothing for silence(), the IPCP takes
// the data-transfer flows to the neighbour over that layer out of the
// routing graph: the adjacency, unless another flow still carries it, is
// no longer announced, the routes are recomputed at once without it, and
// its loss is announced by two rounds of the other adjacencies without
// it (rounds.go), which make the other IPCPs of this implementation drop
// it within a second or two; the reference ages it out after ls_t_timeo
// (LSUs have no withdrawal). The neighbour, hearing nothing
// either when the link is dead both ways, does the same; when only one
// way is dead, the end that hears nothing withdraws, and the link, which
// needs both ends' announcements, is unused once that is known.
//
// A packet from the neighbour brings the adjacency back: it is announced
// again at once (dtAdd). While it is silent, the IPCP sends the neighbour
// over the management flow, every ls_t_update, a copy of the neighbour's
// own last LSU for the adjacency to us, unchanged: it is no news to the
// neighbour, which holds that seqno or a newer one and drops it (this
// implementation ignores LSUs about its own adjacencies), but it hears us,
// even when we announce nothing else it would hear (a node whose only link
// this is).
//
// Only neighbours with a management flow are judged: without one they
// need send us nothing. Completing a CEP exchange, and the carrier coming
// back, count as hearing from the neighbour.

// nbKey is a neighbour over one lower layer: the frames of its flows over
// that layer cross the same link.
type nbKey struct {
	peer  uint64
	layer string
}

func keyOf(c *conn) nbKey { return nbKey{c.peer, c.lf.Layer} }

// neighbour is what the IPCP heard from a neighbour over one lower layer.
type neighbour struct {
	heard  time.Time // the last check that found new packets from it
	silent bool
	hello  time.Time // the last hello sent to it
}

// liveness tracks the neighbours; the ticker checks them every tick.
type liveness struct {
	mu  sync.Mutex // guards nbs; held while a DT conn enters or leaves the graph
	nbs map[nbKey]*neighbour
}

// silence is how long a neighbour may send nothing: ls_t_timeo, and at
// least two periodic updates, so that one late or lost update is not a
// failure.
func (ls *linkState) silence() time.Duration { return max(ls.tTimeo, 2*ls.tUpdate) }

// settle puts the DT conn c in the routing graph or takes it out, as its
// carrier and its neighbour's liveness say; p.live.mu is held. A conn that
// is gone was taken out by removeConn, for good.
func (p *IPCP) settle(c *conn) {
	if c.gone.Load() {
		return
	}
	in := c.up.Load() && !c.silent.Load()
	p.pff.SetFlowState(c.lf.ID, in)
	if in {
		p.ls.dtAdd(c)
	} else {
		p.ls.dtDel(c)
	}
}

// heardNow records that the neighbour of c was heard from just now (a CEP
// exchange, the carrier back); a silent neighbour comes back.
func (p *IPCP) heardNow(c *conn) {
	p.live.mu.Lock()
	defer p.live.mu.Unlock()
	k := keyOf(c)
	nb := p.live.nbs[k]
	if nb == nil {
		p.live.nbs[k] = &neighbour{heard: time.Now()}
		return
	}
	nb.heard = time.Now()
	if nb.silent {
		p.setSilent(k, nb, false, p.connsOf(k))
	}
}

// connsOf returns the conns to the neighbour k.
func (p *IPCP) connsOf(k nbKey) []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var cs []*conn
	for _, c := range p.conns {
		if keyOf(c) == k {
			cs = append(cs, c)
		}
	}
	return cs
}

// setSilent marks the neighbour k silent or heard again, and settles its DT
// conns cs; p.live.mu is held.
func (p *IPCP) setSilent(k nbKey, nb *neighbour, silent bool, cs []*conn) {
	nb.silent = silent
	p.log.Info("neighbour liveness", "peer", AddrString(k.peer), "layer", k.layer, "silent", silent)
	for _, c := range cs {
		c.silent.Store(silent)
		if c.comp == ipcp.CompDT {
			p.settle(c)
		}
	}
}

// checkNeighbours is the liveness check, run every tick.
func (p *IPCP) checkNeighbours(now time.Time) {
	p.live.mu.Lock()
	defer p.live.mu.Unlock()
	groups := p.groups()
	for k := range p.live.nbs {
		if groups[k] == nil {
			delete(p.live.nbs, k)
		}
	}
	for k, g := range groups {
		nb := p.live.nbs[k]
		if nb == nil {
			nb = &neighbour{heard: now}
			p.live.nbs[k] = nb
		}
		judged := len(g.mgmt) > 0 && len(g.dt) > 0
		switch {
		case g.heard:
			nb.heard = now
			if nb.silent {
				p.setSilent(k, nb, false, g.all)
			}
		case nb.silent && !judged:
			p.setSilent(k, nb, false, g.all)
		case !nb.silent && judged && now.Sub(nb.heard) >= p.ls.silence():
			p.setSilent(k, nb, true, g.all)
		}
		if nb.silent && due(now, nb.hello, p.ls.tUpdate) {
			nb.hello = now
			for _, c := range g.mgmt {
				p.ls.hello(c)
			}
		}
	}
}

// group is the conns to one neighbour over one lower layer.
type group struct {
	heard    bool // a conn has read a packet since the last check
	mgmt, dt []*conn
	all      []*conn
}

// groups sorts the conns by neighbour and notes which were heard from
// since the last check; p.live.mu is held.
func (p *IPCP) groups() map[nbKey]*group {
	p.mu.Lock()
	conns := slices.Clone(p.conns)
	p.mu.Unlock()
	groups := map[nbKey]*group{}
	for _, c := range conns {
		k := keyOf(c)
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
		}
		if rx := c.rx.Load(); rx != c.rxSeen {
			c.rxSeen, g.heard = rx, true
		}
		g.all = append(g.all, c)
		if c.comp == ipcp.CompDT {
			g.dt = append(g.dt, c)
		} else {
			g.mgmt = append(g.mgmt, c)
		}
	}
	return groups
}
