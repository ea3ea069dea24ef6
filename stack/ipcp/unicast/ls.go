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
// Rounds. An IPCP refreshes all its adjacencies together every
// ls_t_update: a round of LSUs, one per adjacency (the reference's
// lsupdate does the same). This one also sends a round whenever its
// adjacencies change, never a refresh of some of them alone (a brand-new
// adjacency's first LSU is no refresh: peers hold nothing of it), and when
// it loses one, a second round a tick after the first. A peer takes the
// refreshes of one IPCP's adjacencies that arrive less than roundGap apart
// for one round, and drops an adjacency its IPCP left out of its last two
// rounds (skipped) instead of waiting for ls_t_timeo. So a lost adjacency
// is announced at once, by the rounds its loss sends (dtDel), although
// LSUs have no withdrawal; the reference ages it out after ls_t_timeo,
// and from a reference IPCP, which sends no round but the periodic one,
// an adjacency goes after two ls_t_update. A refresh lost on every path
// twice in a row makes a peer drop an adjacency until the next round.
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
	repeats []time.Time        // our adjacencies changed: a round is due at each
	dirty   bool
	updated time.Time // last periodic update
	recalc  time.Time // last recomputation
}

type lsEntry struct {
	seq   uint64
	stamp time.Time // last refresh
	round uint64    // the round of its IPCP it came in last
}

// rounds counts the rounds of an IPCP's updates seen here.
type rounds struct {
	n    uint64    // rounds seen
	last time.Time // the last refresh
}

// roundGap separates one round of an IPCP's updates from the next: its
// LSUs come back to back (microseconds apart), its rounds at least a tick
// apart.
const roundGap = 50 * time.Millisecond

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
		// A new adjacency is announced now, in a round with the others,
		// and again a second later (a local decision: more LSUs of the
		// usual kind). A reference peer was seen to lose the first
		// announcement of the adjacency with itself, which our accepting
		// side sends over the management flow while the CEP reply of the
		// data-transfer flow may still be on its way; without the repeat,
		// routes through the link waited for the periodic update
		// (ls_t_update, 15 s by default).
		now := time.Now()
		ls.db[k] = &lsEntry{seq: seq, stamp: now}
		ls.g.AddEdge(k[0], k[1])
		ls.flood(routing.LSU{Src: k[0], Dst: k[1], SeqNo: seq}.Append(nil), nil, &out)
		ls.announce(now, k, &out)
		ls.repeatAt(now.Add(time.Second))
	}
	ls.compute()
	ls.mu.Unlock()
	out.run()
}

// repeatAt has a round sent at t; ls.mu is held.
func (ls *linkState) repeatAt(t time.Time) { ls.repeats = append(ls.repeats, t) }

// announce refreshes our adjacencies but skip and queues them to every
// management neighbour: a round; ls.mu is held.
func (ls *linkState) announce(now time.Time, skip [2]uint64, out *sends) {
	for k, e := range ls.db {
		if k[0] != ls.self() || k == skip {
			continue
		}
		e.seq++
		e.stamp = now
		ls.ownSeq[k[1]] = e.seq
		ls.flood(routing.LSU{Src: k[0], Dst: k[1], SeqNo: e.seq}.Append(nil), nil, out)
	}
}

// dtDel: the adjacency over c is gone (DT_CONN_DEL, its flow is down or
// its neighbour silent). Unless another DT flow carries it, it is no
// longer ours, and a round of the others announces its loss at once, and
// another a tick later.
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
		now := time.Now()
		ls.announce(now, k, &out)
		ls.repeatAt(now.Add(tickEvery))
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
	r := ls.rounds[u.Src]
	if r == nil {
		r = &rounds{}
		ls.rounds[u.Src] = r
	}
	if e == nil {
		ls.db[k] = &lsEntry{seq: u.SeqNo, stamp: now, round: r.n}
		ls.g.AddEdge(u.Src, u.Dst)
		ls.compute()
	} else {
		if now.Sub(r.last) >= roundGap {
			r.n++
		}
		r.last = now
		e.seq, e.stamp, e.round = u.SeqNo, now, r.n
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
// an adjacency goes within a tick of ls_t_timeo; and those left out of
// their IPCP's last round go (skipped). At the periodic update, and a
// second after ours changed, ours are refreshed and flooded; a graph
// marked dirty is recomputed every tRecalc.
func (ls *linkState) tick(now time.Time) {
	ls.mu.Lock()
	var out sends
	periodic := due(now, ls.updated, ls.tUpdate)
	if periodic {
		ls.updated = now
	}
	n := len(ls.repeats)
	ls.repeats = slices.DeleteFunc(ls.repeats, func(t time.Time) bool { return due(now, t, 0) })
	if periodic || len(ls.repeats) < n {
		ls.announce(now, [2]uint64{}, &out)
	}
	srcs := map[uint64]bool{}
	for k, e := range ls.db {
		if k[0] == ls.self() {
			continue
		}
		srcs[k[0]] = true
		if skipped := ls.skipped(k[0], e, now); skipped || now.Sub(e.stamp) > ls.tTimeo {
			ls.p.log.Debug("adjacency dropped", "src", AddrString(k[0]), "dst", AddrString(k[1]), "skipped", skipped)
			delete(ls.db, k)
			ls.g.DelEdge(k[0], k[1])
			ls.dirty = true
		}
	}
	for src := range ls.rounds {
		if !srcs[src] {
			delete(ls.rounds, src)
		}
	}
	if ls.dirty && due(now, ls.recalc, ls.tRecalc) {
		ls.compute()
	}
	ls.mu.Unlock()
	out.run()
}

// skipped reports whether src's last two rounds left out its adjacency e,
// the last one over (no refresh for roundGap); ls.mu is held.
func (ls *linkState) skipped(src uint64, e *lsEntry, now time.Time) bool {
	r := ls.rounds[src]
	return r != nil && r.n >= e.round+2 && now.Sub(r.last) >= roundGap
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
}

// adjacencies returns the LSDB size (for tests and inspection).
func (ls *linkState) adjacencies() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.db)
}
