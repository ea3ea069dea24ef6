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
//
// Its own adjacencies it announces in rounds (rounds.go).
type linkState struct {
	p                        *IPCP
	pol                      routing.Policy
	tUpdate, tTimeo, tRecalc time.Duration

	mu      sync.Mutex
	db      map[[2]uint64]*lsEntry // (src, dst) -> entry
	g       routing.Graph
	mgmt    []*conn
	dt      []*conn            // DT conns in the graph, in order of arrival
	ownSeq  map[uint64]uint64  // last seqno of our adjacency to each neighbour
	peerSeq map[uint64]uint64  // last seqno of each management neighbour's adjacency to us
	rounds  map[uint64]*rounds // of each other IPCP that has adjacencies here
	sent    ourRounds
	dirty   bool
	updated time.Time       // last periodic update
	recalc  time.Time       // last recomputation
	routed  map[uint64]bool // destinations of the last recomputation
}

type lsEntry struct {
	seq   uint64
	stamp time.Time // last refresh
	again time.Time // ours: send the LSU again then, unchanged (see dtAdd)
	// Another IPCP's adjacency: the rounds of that IPCP, and the one it
	// came in last (rounds.go).
	rounds *rounds
	round  uint64
}

func newLinkState(p *IPCP, pol routing.Policy, tUpdate, tTimeo, tRecalc time.Duration) *linkState {
	now := time.Now()
	return &linkState{p: p, pol: pol, tUpdate: tUpdate, tTimeo: tTimeo, tRecalc: tRecalc,
		db: map[[2]uint64]*lsEntry{}, ownSeq: map[uint64]uint64{}, peerSeq: map[uint64]uint64{},
		rounds: map[uint64]*rounds{}, updated: now, recalc: now}
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
		// A new adjacency is announced now, and its LSU is sent again,
		// unchanged, a second later (a local decision: one more LSU of the
		// usual kind). A reference peer was seen to lose the first
		// announcement of the adjacency with itself, which our accepting
		// side sends over the management flow while the CEP reply of the
		// data-transfer flow may still be on its way; without the repeat,
		// routes through the link waited for the periodic update
		// (ls_t_update, 15 s by default). Peers that have it drop the
		// repeat. Peers may still hold an adjacency that comes back: its
		// LSU is a refresh, which goes in a round (rounds.go).
		now := time.Now()
		ls.db[k] = &lsEntry{seq: seq, stamp: now, again: now.Add(time.Second)}
		ls.g.AddEdge(k[0], k[1])
		ls.flood(routing.LSU{Src: k[0], Dst: k[1], SeqNo: seq}.Append(nil), nil, &out)
		if seen {
			ls.round(now, k, &out)
		}
	}
	ls.compute()
	ls.mu.Unlock()
	out.run()
}

// dtDel: the adjacency over c is gone (DT_CONN_DEL, its flow is down or
// its neighbour silent). Unless another DT flow carries it, it is no
// longer ours, and the next two rounds announce its loss, the first at
// once if it can (rounds.go).
func (ls *linkState) dtDel(c *conn) {
	ls.mu.Lock()
	i := slices.Index(ls.dt, c)
	if i < 0 {
		ls.mu.Unlock()
		return
	}
	ls.dt = slices.Delete(ls.dt, i, i+1)
	var out sends
	k := [2]uint64{ls.self(), c.peer}
	if ls.db[k] != nil && !slices.ContainsFunc(ls.dt, func(x *conn) bool { return x.peer == c.peer }) {
		delete(ls.db, k)
		ls.g.DelEdge(k[0], k[1])
		ls.lost(time.Now(), &out)
	}
	ls.compute()
	ls.mu.Unlock()
	out.run()
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
	if !ls.isMgmtPeer(c.peer) {
		delete(ls.peerSeq, c.peer)
	}
	ls.mu.Unlock()
}

// dropIPCP drops from the LSDB the adjacencies that the IPCP at addr
// announced, an IPCP that is gone (restart.go), and recomputes the routes
// at once.
func (ls *linkState) dropIPCP(addr uint64) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for k, e := range ls.db {
		if k[0] == addr {
			delete(ls.db, k)
			ls.g.DelEdge(k[0], k[1])
			ls.forget(k[0], e)
		}
	}
	delete(ls.ownSeq, addr)
	delete(ls.peerSeq, addr)
	ls.compute()
}

// isMgmtPeer reports whether addr is a management neighbour; ls.mu is held.
func (ls *linkState) isMgmtPeer(addr uint64) bool {
	return slices.ContainsFunc(ls.mgmt, func(x *conn) bool { return x.peer == addr })
}

// hello sends the neighbour over management conn c its own last LSU for
// its adjacency to us, unchanged (see alive.go): it is not news to the
// neighbour, which drops it, but tells it that we hear it and are alive.
func (ls *linkState) hello(c *conn) {
	ls.mu.Lock()
	seq, ok := ls.peerSeq[c.peer]
	ls.mu.Unlock()
	if ok {
		c.send(routing.LSU{Src: c.peer, Dst: ls.self(), SeqNo: seq}.Append(nil))
	}
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
		// The neighbour was heard, whatever it sent (alive.go).
		c.rx.Add(1)
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
	now := time.Now()
	if e == nil {
		r := ls.roundsOf(u.Src)
		r.entries++
		ls.db[k] = &lsEntry{seq: u.SeqNo, stamp: now, rounds: r, round: r.n}
		ls.g.AddEdge(u.Src, u.Dst)
		ls.compute()
	} else {
		e.seq, e.stamp, e.round = u.SeqNo, now, ls.refreshed(e.rounds, now)
	}
	if u.Dst == ls.self() && ls.isMgmtPeer(u.Src) {
		ls.peerSeq[u.Src] = u.SeqNo
	}
	ls.flood(append([]byte(nil), b...), from, &out)
	ls.mu.Unlock()
	out.run()
}

// due reports whether a task of the given period, last run at last, is due
// at the tick at now. Half a tick of slack keeps a tick that comes a little
// early from putting the task off by a whole tick.
func due(now, last time.Time, period time.Duration) bool {
	return now.Sub(last) >= period-tickEvery/2
}

// tick runs every tickEvery. Stale adjacencies go: unlike the reference,
// which looks for them at its periodic update only, every tick, so that
// an adjacency goes within a tick of ls_t_timeo; and so do those left out
// of their IPCP's last two rounds (skipped). At the periodic update, and
// when a loss owes one, ours are refreshed and flooded in a round; a new
// one's LSU goes again a second after the first. A graph marked dirty is
// recomputed every tRecalc.
func (ls *linkState) tick(now time.Time) {
	ls.mu.Lock()
	var out sends
	periodic := due(now, ls.updated, ls.tUpdate)
	if periodic {
		ls.updated = now
	}
	if ls.roundDue(now, periodic) {
		ls.round(now, [2]uint64{}, &out)
	}
	for k, e := range ls.db {
		if k[0] == ls.self() {
			if !e.again.IsZero() && due(now, e.again, 0) {
				e.again = time.Time{}
				ls.flood(routing.LSU{Src: k[0], Dst: k[1], SeqNo: e.seq}.Append(nil), nil, &out)
			}
			continue
		}
		if skipped := ls.skipped(e, now); skipped || now.Sub(e.stamp) > ls.tTimeo {
			ls.p.log.Debug("adjacency dropped", "src", AddrString(k[0]), "dst", AddrString(k[1]), "skipped", skipped)
			delete(ls.db, k)
			ls.g.DelEdge(k[0], k[1])
			ls.forget(k[0], e)
			ls.dirty = true
		}
	}
	if ls.dirty && due(now, ls.recalc, ls.tRecalc) {
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
