package unicast

import (
	"slices"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp/unicast/pff"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
)

// linkState is the link-state routing component (spec SYSTEM §8.8): the
// LSDB of announced adjacencies, flooded over management flows, and the
// graph from which the forwarding table is computed.
type linkState struct {
	p                        *IPCP
	pol                      routing.Policy
	tUpdate, tTimeo, tRecalc time.Duration

	mu      sync.Mutex
	db      map[[2]uint64]*lsEntry // (src, dst) -> entry
	g       routing.Graph
	mgmt    []*conn
	dt      []*conn           // DT conns in the graph, in order of arrival
	ownSeq  map[uint64]uint64 // last seqno of our adjacency to each neighbour
	dirty   bool
	updated time.Time       // last periodic update
	recalc  time.Time       // last recomputation
	routed  map[uint64]bool // destinations of the last recomputation
}

type lsEntry struct {
	seq   uint64
	stamp time.Time
	// fresh: one of our adjacencies, announced once; the next tick
	// announces it again (see dtAdd).
	fresh bool
}

func newLinkState(p *IPCP, pol routing.Policy, tUpdate, tTimeo, tRecalc time.Duration) *linkState {
	now := time.Now()
	return &linkState{p: p, pol: pol, tUpdate: tUpdate, tTimeo: tTimeo, tRecalc: tRecalc,
		db: map[[2]uint64]*lsEntry{}, ownSeq: map[uint64]uint64{}, updated: now, recalc: now}
}

// sends are LSUs to write once the lock is released.
type sends []lsuOut

type lsuOut struct {
	c *conn
	b []byte
}

func (s sends) run() {
	for _, x := range s {
		x.c.send(x.b)
	}
}

// flood queues b to every management neighbour except from; ls.mu is held.
func (ls *linkState) flood(b []byte, from *conn, out *sends) {
	for _, c := range ls.mgmt {
		if c != from {
			*out = append(*out, lsuOut{c, b})
		}
	}
}

func (ls *linkState) self() uint64 { return uint64(ls.p.addr) }

// dtAdd: a data-transfer adjacency with c.peer (DT_CONN_ADD).
func (ls *linkState) dtAdd(c *conn) {
	ls.mu.Lock()
	if slices.Contains(ls.dt, c) {
		ls.mu.Unlock()
		return
	}
	ls.dt = append(ls.dt, c)
	var out sends
	k := [2]uint64{ls.self(), c.peer}
	if ls.db[k] == nil {
		seq, seen := ls.ownSeq[c.peer]
		if seen {
			seq++ // peers may still hold the old one: go past it
		}
		ls.ownSeq[c.peer] = seq
		// A new adjacency is announced now and again at the next tick (a
		// local decision: one more LSU of the usual kind). A reference
		// peer was seen to lose the first announcement of the adjacency
		// with itself, which our accepting side sends over the management
		// flow while the CEP reply of the data-transfer flow may still be
		// on its way; without the repeat, routes through the link waited
		// for the periodic update (ls_t_update, 15 s by default).
		ls.db[k] = &lsEntry{seq: seq, stamp: time.Now(), fresh: true}
		ls.g.AddEdge(k[0], k[1])
		ls.flood(routing.LSU{Src: k[0], Dst: k[1], SeqNo: seq}.Append(nil), nil, &out)
	}
	ls.compute()
	ls.mu.Unlock()
	out.run()
}

// dtDel: the adjacency over c is gone (DT_CONN_DEL, or its flow is down).
// No withdrawal is flooded; peers age it out.
func (ls *linkState) dtDel(c *conn) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	i := slices.Index(ls.dt, c)
	if i < 0 {
		return
	}
	ls.dt = slices.Delete(ls.dt, i, i+1)
	if slices.ContainsFunc(ls.dt, func(x *conn) bool { return x.peer == c.peer }) {
		ls.compute()
		return
	}
	k := [2]uint64{ls.self(), c.peer}
	if ls.db[k] != nil {
		delete(ls.db, k)
		ls.g.DelEdge(k[0], k[1])
	}
	ls.compute()
}

// mgmtAdd: a management adjacency; it gets the whole LSDB.
func (ls *linkState) mgmtAdd(c *conn) {
	ls.mu.Lock()
	ls.mgmt = append(ls.mgmt, c)
	var out sends
	for k, e := range ls.db {
		out = append(out, lsuOut{c, routing.LSU{Src: k[0], Dst: k[1], SeqNo: e.seq}.Append(nil)})
	}
	ls.mu.Unlock()
	out.run()
}

func (ls *linkState) mgmtDel(c *conn) {
	ls.mu.Lock()
	ls.mgmt = slices.DeleteFunc(ls.mgmt, func(x *conn) bool { return x == c })
	ls.mu.Unlock()
}

// mgmtReader reads LSUs from a management flow.
func (ls *linkState) mgmtReader(c *conn) {
	defer ls.p.wg.Done()
	buf := make([]byte, 256)
	for {
		n, err := c.lf.Conn.Read(buf)
		if err != nil {
			if ls.p.ctx.Err() == nil {
				go ls.p.removeConn(c)
			}
			return
		}
		ls.receive(c, buf[:min(n, len(buf))]) // a longer SDU is not an LSU
	}
}

// receive stores a new or newer LSU and forwards its bytes unchanged to
// the other management neighbours. LSUs about our own adjacencies are ours
// to make: copies coming back are ignored.
func (ls *linkState) receive(from *conn, b []byte) {
	u, err := routing.ParseLSU(b)
	if err != nil || u.Src == u.Dst || u.Src == 0 || u.Dst == 0 {
		ls.p.stats.malformed.Add(1)
		return
	}
	if u.Src == ls.self() {
		return
	}
	ls.mu.Lock()
	k := [2]uint64{u.Src, u.Dst}
	e := ls.db[k]
	if e != nil && u.SeqNo <= e.seq {
		ls.mu.Unlock()
		return
	}
	var out sends
	if e == nil {
		ls.db[k] = &lsEntry{seq: u.SeqNo, stamp: time.Now()}
		ls.g.AddEdge(u.Src, u.Dst)
		ls.compute()
	} else {
		e.seq, e.stamp = u.SeqNo, time.Now()
	}
	ls.flood(append([]byte(nil), b...), from, &out)
	ls.mu.Unlock()
	out.run()
}

// tick runs the periodic update: stale adjacencies go, ours are refreshed
// and flooded; a graph marked dirty is recomputed every tRecalc.
func (ls *linkState) tick(now time.Time) {
	ls.mu.Lock()
	var out sends
	periodic := now.Sub(ls.updated) >= ls.tUpdate
	if periodic {
		ls.updated = now
	}
	for k, e := range ls.db {
		switch {
		case k[0] == ls.self() && (periodic || e.fresh):
			e.fresh = false
			e.seq++
			e.stamp = now
			ls.ownSeq[k[1]] = e.seq
			ls.flood(routing.LSU{Src: k[0], Dst: k[1], SeqNo: e.seq}.Append(nil), nil, &out)
		case periodic && k[0] != ls.self() && now.Sub(e.stamp) > ls.tTimeo:
			delete(ls.db, k)
			ls.g.DelEdge(k[0], k[1])
			ls.dirty = true
		}
	}
	if ls.dirty && now.Sub(ls.recalc) >= ls.tRecalc {
		ls.compute()
	}
	ls.mu.Unlock()
	out.run()
}

// compute turns the graph into the forwarding table: each next-hop
// address becomes the first DT flow to that neighbour; ls.mu is held.
func (ls *linkState) compute() {
	ls.dirty = false
	ls.recalc = time.Now()
	routes, err := ls.g.Table(ls.pol, ls.self())
	if err != nil {
		ls.p.log.Warn("routing table", "err", err)
		return
	}
	fd := map[uint64]int{}
	for _, c := range ls.dt {
		if _, ok := fd[c.peer]; !ok {
			fd[c.peer] = c.lf.ID
		}
	}
	entries := make([]pff.Entry, 0, len(routes))
	for _, r := range routes {
		var hops []int
		for _, nh := range r.NextHops {
			if f, ok := fd[nh]; ok {
				hops = append(hops, f)
			}
		}
		if len(hops) > 0 {
			entries = append(entries, pff.Entry{Dst: r.Dst, NextHops: hops})
		}
	}
	if err := ls.p.pff.Replace(entries); err != nil {
		ls.p.log.Warn("forwarding table", "err", err)
	}
	select { // new routes: a DHT bootstrap waiting for one may go now
	case ls.p.kick <- struct{}{}:
	default:
	}
	routed, reached := make(map[uint64]bool, len(entries)), false
	for _, e := range entries {
		routed[e.Dst] = true
		reached = reached || !ls.routed[e.Dst]
	}
	ls.routed = routed
	if reached { // what the directory could not send there may go now
		ls.p.dht.Reachable(len(entries))
	}
}

// adjacencies returns the LSDB size (for tests and inspection).
func (ls *linkState) adjacencies() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.db)
}
